"""Who makes a statement and in what reporting act: the speaker and stance of one sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from armswatch.tasks.profile import Hit, Lexicon
from armswatch.tasks.sentence import KO_TITLES, KO_WHOSE_VIEW, Mention, Sentence, Verb, masked_spans

_COORDINATED = re.compile(r"^\s*(?:and|und|и|&|과|와|,)\s*$", re.IGNORECASE)
_BOTH = re.compile(r"(?:\bboth|\bsowohl|\bкак)\s*$", re.IGNORECASE)
# "… 성일종 국방위원장의 설명이다": whose account, the person's title between.
_KO_WHOSE_AFTER = re.compile(r"(?:\s[^\s,.]+){0,2}?" + KO_WHOSE_VIEW.pattern)
# A person's body and title between a Korean name and "에 따르면": words, the last a title.
_KO_TITLE_THEN_CUE = re.compile(rf"(?:\s\S+){{0,3}}?\s\S*(?:{'|'.join(sorted(KO_TITLES))})")
# A Korean closing verb that passes on what another said, and that other's own verb.
_KO_RELAYED = "전했"
_KO_SOURCE_SAID = re.compile(r"(?:이|가)\s(?:\S+\s){0,2}?(?:밝혔|발표했|보고했)다(?:고|며)")
_APPOSITIVE = re.compile(r"^,\s[^,;:]{2,80},\s*(?:\w+\s+){0,3}$")
_PASSIVE = re.compile(
    r"\b(?:is|are|was|were|been|being|be|wird|werden|wurde|wurden)\s+(?:\w+\s+)?$"
)
_PREPOSITION = re.compile(
    r"(?<!\w)(?:from|with|of|to|for|about|on|at|against|between|than|like|including|"
    r"von|mit|aus|für|über|gegen|zwischen|от|с|для|о|об|против|из|между)\s+(?:\S+\s+){0,3}$",
    re.IGNORECASE,
)
# "…, sagte ein Sprecher des Pentagons", "…, said a spokeswoman for the Treasury":
# the body a spokesperson speaks for.
_SPOKESPERSON = re.compile(
    r"^\s*(?:an?|the|ein|eine|der|die)?\s*(?:\w+\s+)?(?:spokes(?:man|woman|person)|official|"
    r"Sprecher(?:in)?|Vertreter(?:in)?|представител\w*|сотрудник\w*)\s+"
    r"(?:for|of|at|from|des|der|im|aus)?\s*(?:the|dem|den)?\s*$",
    re.IGNORECASE,
)
# "…, sagte der britische Außenminister David Lammy", "…, said British Foreign
# Secretary David Lammy": a title of up to four words between the verb and the name.
_TITLE_BEFORE_NAME = re.compile(
    r"^\s*(?:the|der|die|ein|eine)?\s*(?:[\w.-]+\s+){0,3}?(?:\w*minister\w*|secretary|"
    r"ambassador|envoy|president|chancellor|general|advis[eo]r|director|chief|prosecutor|"
    r"botschafter\w*|präsident\w*|kanzler\w*|sprecher\w*|staatsanwalt\w*|министр\w*|"
    r"посол|президент\w*|глава|пресс-секретар\w*|генпрокурор\w*|"
    # analysts and lawmakers: "sagte der Innsbrucker Politikwissenschaftler Gerhard Mangott"
    r"\w*wissenschaftler\w*|\w*expert(?:e|in|en)|analyst\w*|politolog\w*|histori\w*|"
    r"\w*forscher\w*|\w*abgeordnete\w*|\w*berater\w*|senator\w*|professor\w*|researcher|"
    r"fellow|эксперт\w*|аналитик\w*|депутат\w*|советник\w*|помощник\w*)\s+$",
    re.IGNORECASE,
)
# "Victor Cha of CSIS", "Joseph Dempsey vom IISS": a person, then where they work.
_WORKS_AT = re.compile(
    r"\s+(?:of|at|von|vom|bei)\s+(?:the\s+|der\s+|dem\s+)?"
    # the body's own leading words ("Shin Jong-woo of the Korea Defense and Security Forum")
    r"(?:(?:[A-Z][\w'’.&-]*|and|for|of|a|an|the|&)\s+)*"
)
_OF_BODY = re.compile(r"^\s*(?:of|from|at|for|with|in|von|vom|bei|aus)\s", re.IGNORECASE)
# "…, sanktioniert von der EU", "was among those sanctioned by the EU": the agent
# of a passive act is its speaker, whatever is named before.
_AGENT = re.compile(r"^\s+(?:by|von|durch)\s+(?:the\s+|der\s+|dem\s+|den\s+)?$", re.IGNORECASE)
_ARTICLE = re.compile(r"^\s*(?:(?:der|die|das|den|dem|des|ein|eine|einer)\s+)?$", re.IGNORECASE)
_CJK_PARTICLES = {
    "ko": (("은", "는"), ("이", "가", "께서"), r"(?:의|에|에서|을|를|와|과|로|으로|에게|도)$"),
    "ja": (("は",), ("が",), r"(?:の|に|を|と|で|へ|から)$"),
}


@dataclass
class Turn:
    """The transcript turn a sentence belongs to ("MR. KIRBY:", "Q")."""

    speaker: str | None = None
    question: bool = False


@dataclass
class Resolution:
    """The speaker of a sentence, how it was found, and the reporting verb it governs."""

    speaker: str | None
    how: str
    anchor: Verb | None = None


def find_speaker(
    s: Sentence,
    turn: Turn,
    last_speaker: str | None,
    previous: tuple[Sentence, str | None] | None,
    lex: Lexicon,
    window: int,
) -> Resolution:
    """Who speaks in `s`: a subject, an attribution, a pronoun or the turn, else the outlet.

    `last_speaker` is the last speaker named in the document, `previous` the sentence
    and speaker of its last statement, `window` how far a continuation reaches back.
    """
    countries: list[Resolution] = []
    r = _find_speaker(s, turn, last_speaker, previous, lex, window, countries)
    if countries and r is not countries[0]:
        # The country's act is its body's: "Washington has added … to its sanctions
        # list, the State Department said" is the State Department's demand.
        anchor = countries[0].anchor
        if anchor and anchor.strong and not (r.anchor and r.anchor.strong):
            return Resolution(r.speaker, r.how, anchor)
    return r


def _find_speaker(
    s: Sentence,
    turn: Turn,
    last_speaker: str | None,
    previous: tuple[Sentence, str | None] | None,
    lex: Lexicon,
    window: int,
    countries: list[Resolution],
) -> Resolution:
    masked = masked_spans(s.view)
    mentions = [m for m in s.mentions if not m.possessive]
    verbs = sorted(s.verbs, key=lambda v: v.start)
    first_verb = verbs[0] if verbs else None

    def gap(start: int, end: int) -> str:
        text = s.view[start:end]
        for a, b in masked:
            if start <= a and b <= end:
                text = text.replace(s.view[a:b], " ")
        return text

    def subject_gap(start: int, end: int, limit: int = 32) -> bool:
        text = gap(start, end)
        if _APPOSITIVE.match(text):
            text = text[text.rindex(",") + 1 :]
        return (
            len(text.strip()) <= limit
            and not re.search(r"[,;:\"«»()]", text)
            and not _PASSIVE.search(text)
        )

    def inverted(verb: Verb, candidates: list[Mention]) -> Mention | None:
        """The subject after a verb in inverted order: "…, said John Kirby"."""
        head = s.view[: verb.start].rstrip()
        after = [
            m for m in candidates
            if 0 <= m.start - verb.end <= 60
            and not re.search(r"[,;:]", gap(verb.end, m.start))
            and (
                # "…, said Kirby", "…, сказал журналистам Песков"
                (len(gap(verb.end, m.start).split()) <= 1 and m.start - verb.end <= 20)
                # "…, заявил в четверг Пригожин, …": a name closing its clause
                or (
                    not m.weak
                    and len(gap(verb.end, m.start).split()) <= 2
                    and m.start - verb.end <= 24
                    and re.match(r"\s*(?:[,.;:!?]|$)", s.view[m.end :]) is not None
                )
                or _SPOKESPERSON.match(gap(verb.end, m.start))
                or (not m.weak and _TITLE_BEFORE_NAME.match(gap(verb.end, m.start)))
            )
        ]  # fmt: skip
        if not after and lex.lang == "de" and head.endswith((",", '"', "»", "“", "—", "-")):
            # "…, teilte die ukrainische Luftwaffe mit": the subject inside a
            # separable verb.
            word_end = verb.start + len(s.view[verb.start : verb.end].split()[0])
            after = [
                m
                for m in candidates
                if word_end <= m.start
                and m.end <= verb.end
                and _ARTICLE.match(s.view[word_end : m.start])
            ]
        if not after:
            # "…, заявил координатор Совета национальной безопасности Белого дома
            # по стратегическим коммуникациям Джон Кирби.": a long title ends in
            # the name that closes the sentence.
            tail = [m for m in candidates if m.start > verb.end and not m.weak]
            between = gap(verb.end, tail[-1].start) if tail else ""
            if (
                tail
                and not s.view[tail[-1].end :].strip(" .!?\"»”)")
                and tail[-1].start - verb.end <= 160
                # "…, forderte die Vorsitzende des Ausschusses, Marie Hansen.": one comma
                # may set the name off from its title
                and not re.search(r"[;:]", between)
                and between.count(",") <= int(between.rstrip().endswith(","))
            ):
                after = [tail[-1]]
        if not after:
            return None
        # "…, заявил представитель областной прокуратуры Дмитрий Чубенко"
        return _titled(s, [m for m in candidates if m.start >= after[0].start])

    def closing_attribution() -> tuple[Mention, Verb] | None:
        """A named speaker in inverted order that closes the sentence: "Der Geheimdienst
        registriere …, sagte Präsident Selenskyj im Parlament", "…, said Kirby on Monday"."""
        for verb in reversed(verbs):
            rest = s.view[verb.end :].rstrip(" .!?\"»”)")
            if (
                verb.strong
                or not s.view[: verb.start].rstrip().endswith((",", '"', "»", "“", "—"))
                or re.search(r"[,;:]", rest)
                or len(rest.split()) > 8
            ):
                continue
            named = inverted(verb, [m for m in s.mentions if not m.possessive and not m.weak])
            return (named, verb) if named else None
        return None

    def from_anaphor() -> str | None:
        # Inside a transcript turn everything is the turn speaker's own words.
        return turn.speaker or last_speaker

    # A country as the subject ("Washington has added … to its sanctions list, the
    # State Department said"; "Nordkorea hat nach Schätzung des südkoreanischen
    # Militärgeheimdienstes …") yields to a body or person the sentence names as its
    # source: the most specific speaker wins.
    country: Resolution | None = None
    if not lex.verb_final:
        # The subject right before a reporting verb: "X said", "X has strongly
        # condemned", "X, the NSC spokesman, said"; a pronoun there is the last speaker.
        if first_verb:
            agents = [
                m
                for m in mentions
                if m.start > first_verb.end and _AGENT.match(gap(first_verb.end, m.start))
            ]
            if agents:
                # "Kang Sun Nam was among those sanctioned by the EU": the agent acts.
                return Resolution(agents[0].name, "explicit", first_verb)
        for verb in verbs:
            # The verb carries its own subject ("we have seen", "we assess"):
            # whatever follows is the object of what the pronoun's speaker saw.
            if from_anaphor() and any(
                a.start == verb.start and a.end < verb.end for a in s.anaphors
            ):
                return Resolution(from_anaphor(), "anaphor", verb)
            before = [
                m
                for m in mentions
                if m.end <= verb.start
                and (
                    subject_gap(m.end, verb.start)
                    or (
                        _apposed(s.view, m, verb.start)
                        # "Landsbergis, Lithuania's top diplomat, denounced": the name
                        # opening the clause before the apposition speaks, not the title
                        # in it; "Eine Sprecherin … der EU, Nabila Massrali, verurteilte":
                        # a body closing a title is not such a name
                        and not any(
                            e.end <= m.start
                            and not s.view[e.end : m.start].strip(" ,")
                            and not s.view[: e.start].strip(" \"'“”«»")
                            for e in mentions
                        )
                    )
                )
            ]
            pronoun = [
                a for a in s.anaphors if a.end <= verb.start and subject_gap(a.end, verb.start, 24)
            ]
            nearest_m = max(before, key=lambda m: m.end, default=None)
            nearest_a = max(pronoun, key=lambda a: a.end, default=None)
            if nearest_m and (not nearest_a or nearest_m.end >= nearest_a.end):
                name = _subject(s, mentions, nearest_m)
                if nearest_m.weak and name == nearest_m.name:
                    if not country:
                        country = Resolution(name, "explicit", verb)
                        countries.append(country)
                    continue
                if verb.stance == "assert" and (closing := closing_attribution()):
                    # What precedes is the reported clause, its subject not the speaker:
                    # who reports it closes the sentence.
                    return Resolution(closing[0].name, "explicit", closing[1])
                return Resolution(name, "explicit", verb)
            if country:
                continue
            if nearest_a and from_anaphor():
                return Resolution(from_anaphor(), "anaphor", verb)
    else:
        anchor = verbs[-1] if verbs else None
        roles = [(m, _cjk_role(s.view, m, lex.lang)) for m in mentions]
        # A named topic (은/는, は) speaks; a country marked only as subject (이/가,
        # が) is usually the subject of the reported clause ("북한이 … 보냈다고"),
        # and a country topic yields to a named subject after it ("北朝鮮は…と
        # 米政府が明らかにした").
        topics = [m for m, role in roles if role == "topic"]
        subjects = [m for m, role in roles if role == "subject" and not m.weak]
        if anchor and s.view.startswith(_KO_RELAYED, anchor.start):
            # "국정원에 따르면 … 유상범 의원이 기자들에게 전했다": who passes a body's finding
            # on is not its speaker; the body is.
            sources = [
                m
                for m in mentions
                if not m.weak
                and m.end <= anchor.start
                and (
                    any(0 <= c.start - m.end <= 1 for c in s.attribution_before)
                    or _KO_SOURCE_SAID.match(s.view, m.end)
                )
            ]
            if sources:
                return Resolution(sources[0].name, "attribution", anchor)
        whose = [m for m in mentions if not m.weak and _KO_WHOSE_AFTER.match(s.view, m.end)]
        if whose:
            # "…라는 게 김 교수의 분석이다": the sentence is the named person's analysis
            return Resolution(whose[-1].name, "explicit", anchor)
        named = [m for m in topics if not m.weak]
        # "한반도 전문가 에릭 발바흐는": the generic word describes the name after it
        named = [m for m in named if not m.generic] or named
        if len(named) > 1 and re.search(r"\S인\s*$", s.view[named[0].end : named[1].start]):
            # "일본 정부 대변인인 하야시 장관은": the one the apposition describes speaks.
            named = named[1:]
        closing = [
            m for m in subjects if anchor and 0 <= anchor.start - m.end <= 8 and m.start > 0
        ]
        if closing:
            # "정부는 … 제재를 부과한다고 외교부가 밝혔다": the subject of the closing
            # verb reports what the topic before it did, and that act is its stance.
            speaker = closing[-1]
            named = [
                e
                for e in mentions
                if not e.weak
                and e.end <= speaker.start
                and not s.view[e.end : speaker.start].strip()
            ]
            if named:
                speaker = named[-1]  # "신원식 국방부 장관이": the name before its ministry
            acts = [v for v in verbs if v.strong and v.end <= speaker.start]
            return Resolution(speaker.name, "explicit", acts[-1] if acts else anchor)
        if named:
            return Resolution(_subject(s, mentions, named[0]), "explicit", anchor)
        if subjects and anchor:
            return Resolution(subjects[-1].name, "explicit", anchor)
        if topics and (anchor or not topics[0].weak):
            # A country as topic without a reporting verb is what the sentence is
            # about ("북한은 … 최대 공급국이 됐다"), not who says it.
            return Resolution(_subject(s, mentions, topics[0]), "explicit", anchor)
        if any(a.start <= 8 for a in s.anaphors) and from_anaphor():
            return Resolution(from_anaphor(), "anaphor", anchor)

    # "according to X", "an investigation by X", "X에 따르면", "dem Pentagon zufolge".
    # A German attribution governs the genitive ("nach Angaben Budanows").
    attributed = [
        m for m in s.mentions if (not m.possessive or m.genitive) and not (country and m.weak)
    ]
    for cue in s.attribution_after:
        if country and country.anchor and cue.start > country.anchor.start:
            continue  # "Pjöngjang nannte den Bericht des MSMT …": the report is the object
        # A country is the source only right after the cue ("according to Ukraine"), not
        # somewhere in what follows it ("data from KN-23 missiles fired in Ukraine").
        after = [
            m
            for m in attributed
            if 0 <= m.start - cue.end <= (6 if m.weak else 60)
        ]
        if after:
            return Resolution(_titled(s, after).name, "attribution", _verb_at(verbs, cue))
        if not country and any(0 <= a.start - cue.end <= 4 for a in s.anaphors) and from_anaphor():
            return Resolution(from_anaphor(), "anaphor", _verb_at(verbs, cue))
    for cue in s.attribution_before if not country else ():
        before = [
            m
            for m in mentions
            if 0 <= cue.start - m.end <= 12
            # "봉영식 연세대 북한연구원 연구위원에 따르면": the person's body and title between
            or (
                lex.lang == "ko"
                and 0 <= cue.start - m.end <= 32
                and _KO_TITLE_THEN_CUE.fullmatch(s.view, m.end, cue.start) is not None
                and not any(m.end <= o.start < cue.start for o in mentions)
            )
        ]
        if before:
            return Resolution(before[-1].name, "attribution", _verb_at(verbs, cue))

    if not lex.verb_final:
        # Inverted order after the reported words: "…, said John Kirby",
        # "…, заявил Песков", "…, betonten sie"; German also after a fronted
        # object ("Scharfe Kritik übten die Minister").
        for verb in verbs:
            head = s.view[: verb.start].rstrip()
            if not head.endswith((",", '"', "»", "“", "—", "-")) and lex.lang != "de":
                continue
            found = inverted(verb, attributed)
            if found:
                return Resolution(found.name, "explicit", verb)
            # "…, fügte er hinzu": the pronoun may sit inside a separable verb.
            if country:
                continue
            if any(-len(verb) < a.start - verb.end <= 4 for a in s.anaphors) and from_anaphor():
                return Resolution(from_anaphor(), "anaphor", verb)

    if country:
        return country
    # The subject at the head of a clause before the first reporting verb; a person
    # right after the body they belong to speaks ("Посол … МИД России Олег Бурмистров").
    if first_verb:
        for i, m in enumerate(mentions):
            if m.weak or m.end > first_verb.start:
                continue
            clause = re.split(r"[,;:]", s.view[: m.start])[-1]
            if len(clause.split()) <= 4 and not _PREPOSITION.search(clause):
                # Korean and Japanese put the name first ("존 커비 백악관 … 조정관은").
                name = m if lex.verb_final else _titled(s, mentions[i:])
                return Resolution(name.name, "explicit", first_verb)
        if any(a.start <= max(first_verb.start, 12) for a in s.anaphors) and from_anaphor():
            return Resolution(from_anaphor(), "anaphor", first_verb)
    if turn.speaker:
        return Resolution(turn.speaker, "turn", first_verb)
    if s.continuation and previous:
        sentence, speaker = previous
        distance = s.index - sentence.index
        if (sentence.line == s.line and distance <= window) or distance <= 2:
            return Resolution(speaker, "continuation", first_verb)
    return Resolution(None, "outlet", first_verb)


def _apposed(view: str, m: Mention, verb_start: int) -> bool:
    """Whether a name stands in apposition right before its verb: "Die Sprecherin des
    Rats, Adrienne Watson, forderte …", "The NSC spokesman, John Kirby, said …"."""
    return not view[m.end : verb_start].strip(" ,") and view[: m.start].rstrip().endswith(",")


def _titled(s: Sentence, after: list[Mention]) -> Mention:
    """The speaker an attribution names: a person after the body they head.

    "по словам главы ГУР Кирилла Буданова", "according to NATO Secretary General
    Mark Rutte": the body is the title, the name that follows it speaks.
    """
    chosen, last_end = after[0], after[0].end
    for m in after[1:]:
        between = s.view[last_end : m.start]
        if (
            between.strip() == ","
            and not m.weak
            and m is after[-1]
            and not s.view[m.end :].strip(" .!?\"»”)")
        ):
            # "…, forderte der Sprecher des Sicherheitsrats, Sean Savett.": the name in
            # apposition to the title closes the sentence and speaks
            return m
        if len(between.split()) > 2 or re.search(r"[,;:()\"«»]", between):
            break
        if _OF_BODY.match(between):
            # "John Kirby of the National Security Council": the body is where the
            # person works, the person speaks.
            break
        last_end = m.end
        if not m.weak:  # a country qualifies the body: "военной разведки Эстонии Андрес Таммик"
            chosen = m
    return chosen


def _subject(s: Sentence, mentions: list[Mention], m: Mention) -> str:
    """The speaker a subject mention stands for, looking around it.

    "Moscow and Pyongyang have denied" is a joint speaker; in "DIA analysts
    concluded" the agency, not the generic "analysts", speaks; a country right
    before a German participle ("… an Russland verurteilt") is its object, and
    the clause-initial speaker is meant.
    """
    earlier = [e for e in mentions if e.end <= m.start]
    if m.generic and earlier and m.start - earlier[-1].end <= 1:
        return earlier[-1].name
    # "Vasily Kashin of Moscow's Higher School of Economics": a country in the body's
    # name is not the person before it.
    people = [e for e in earlier if not (e.weak or e.party)]
    head = m
    # "Joseph Dempsey of the International Institute for Strategic Studies said": the
    # body is where the named person works, the person speaks; the chain may be longer
    # ("… of the Higher School of Economics").
    while (
        people
        and not people[-1].generic
        and s.view[people[-1].start].isupper()
        and _WORKS_AT.fullmatch(s.view[people[-1].end : head.start])
    ):
        head = people.pop()
    if head is not m:
        return head.name
    if earlier and _COORDINATED.match(s.view[earlier[-1].end : m.start]):
        head = s.view[: earlier[-1].start]
        if not head.strip() or _BOTH.search(head) or len(re.split(r"[,;:]", head)[-1].split()) <= 2:
            names = sorted({earlier[-1].name, m.name})
            return " and ".join(names) if len(names) > 1 else m.name
    if m.weak:
        for e in earlier:
            if e.weak:
                continue
            clause = re.split(r"[,;:]", s.view[: e.start])[-1]
            if len(clause.split()) <= 3 and not _PREPOSITION.search(clause):
                # "Polens Außenminister Radosław Sikorski hat … verurteilt": the name
                # after the title speaks
                return _titled(s, [x for x in mentions if e.start <= x.start < m.start]).name
    return m.name


def find_stance(s: Sentence, r: Resolution, lex: Lexicon) -> str:
    """The main reporting act of `s`, given who speaks and through which verb."""
    anchor = r.anchor
    if anchor and anchor.strong:
        if (
            anchor.stance in ("condemn", "assert")
            and "claim" in s.kinds
            and any(hit.label == "deny" for hit in s.cues)
        ):
            # Denouncing a report as fabricated, or holding it to be gossip, denies
            # it ("…보고서가 날조된 것이라고 비난했다", "denounced the report as a
            # fabrication", "… не более чем сплетни, считает Пригожин").
            return "deny"
        return anchor.stance
    strong = [v for v in s.verbs if v.strong]
    if anchor:
        # A strong verb governed by another subject ("Kirby said North Korea
        # denied …") is that subject's act, not the speaker's. A third country
        # in between is usually the speaker's own side ("Sikorski said Poland
        # would push for sanctions", "… said Berlin condemned …").
        def free(v: Verb) -> bool:
            # The speaker's own name between them does not take the act away
            # ("…를 강력히 규탄한다고 조태열 장관이 말했다").
            lo, hi = sorted((anchor.end, v.start))
            return not any(
                lo <= m.start < hi and (m.party or not m.weak) and m.name != r.speaker
                for m in s.mentions
            )

        # Under a neutral verb only a stronger act counts: an embedded "reports"
        # or "shows" is the reported clause's own verb.
        strong = [v for v in strong if v.start != anchor.start and free(v) and v.stance != "assert"]
        if any(hit.label == "deny" for hit in s.cues):
            return "deny"
    if not strong and s.view.lstrip().startswith(('"', "«", "„", "“")):
        # "“We condemn the DPRK for …,” Kirby told reporters."
        strong = [v for v in s.quoted_verbs if v.strong]
    elif not strong and (anchor is None or not anchor.strong):
        # The quotation is what a neutral verb reports ("said in a statement:
        # “We strongly condemn …”"); a quoted word or two ("had “denied” it")
        # is not.
        strong = [v for v in s.quoted_verbs if v.strong and _in_long_quote(s.view, v)]
    if strong:
        chosen = strong[-1] if lex.verb_final else min(strong, key=lambda v: v.start)
        return chosen.stance
    cue_stances = {hit.label for hit in s.cues}
    for stance in ("deny", "demand", "condemn"):
        if stance in cue_stances:
            return stance
    return "assert"


def _in_long_quote(view: str, v: Verb, words: int = 5) -> bool:
    """Whether a verb sits in a quotation of at least `words` words."""
    return any(
        a <= v.start and v.end <= b and len(view[a:b].split()) >= words
        for a, b in masked_spans(view)
        if view[a] in '"«「『'
    )


def _cjk_role(view: str, m: Mention, lang: str) -> str | None:
    """Whether a mention in Korean or Japanese is the topic or the subject of its sentence.

    A title may stand between name and particle ("신원식 국방부 장관은").
    """
    topic, subject, other = _CJK_PARTICLES.get(lang, _CJK_PARTICLES["ko"])
    rest = re.sub(r"^\s*\([^)]*\)", "", view[m.end : m.end + 40])
    if rest.startswith(topic):
        return "topic"
    if rest.startswith(subject):
        return "subject"
    if rest and not rest[0].isspace():
        return None
    for token in rest.split()[:3]:
        if len(token) > 10 or re.search(other, token):
            return None
        if token.endswith(topic):
            return "topic"
        if token.endswith(subject):
            return "subject"
    return None


def _verb_at(verbs: list[Verb], cue: Hit) -> Verb | None:
    overlapping = [
        v for v in verbs if v.start <= cue.start < v.end or cue.start <= v.start < cue.end
    ]
    return overlapping[0] if overlapping else (verbs[0] if verbs else None)
