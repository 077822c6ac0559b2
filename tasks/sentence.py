"""One sentence read against a profile's lexicon: concepts, speakers, reporting verbs and cues."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from armswatch.tasks.profile import Hit, Lexicon, Profile, Scan

_VIEW = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "\u00a0": " ", "\u202f": " ", "‑": "-"}
)
_QUOTED = re.compile(r'"[^"]{1,400}"|«[^»]{1,400}»|「[^」]{1,400}」|『[^』]{1,400}』')
_ASIDE = re.compile(r"\s[-–—]\s[^.;]{2,200}?\s[-–—]\s|[—–][^—–.;]{2,200}?[—–]|\([^()]{1,200}\)")


@dataclass
class Mention:
    """A speaker named in a sentence; weak names (countries) speak only next to a verb."""

    name: str
    start: int
    end: int
    weak: bool
    possessive: bool
    generic: bool = False
    genitive: bool = False  # a possessor in the German genitive ("Budanows", "des Ministeriums")
    party: bool = False  # names a side of the topic (a source or partner concept), not a third
    title: str | None = None  # the title a Korean name carries after it ("부상", "국가안보실장")


@dataclass
class Verb:
    """A reporting verb: its stance, and whether it is strong enough to set it alone."""

    stance: str
    strong: bool
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class Sentence:
    """A sentence as the lexicon sees it; spans index `view`, the normalised-quote text."""

    index: int
    line: int
    text: str
    view: str
    concepts: dict[str, list[tuple[int, int]]]
    implied: frozenset[str]
    kinds: set[str]
    mentions: list[Mention]
    anaphors: list[Hit]
    verbs: list[Verb]
    quoted_verbs: list[Verb]
    cues: list[Hit]
    attribution_after: list[Hit]
    attribution_before: list[Hit]
    demonstrative: bool
    continuation: bool
    directions: list[Hit]
    question: bool


def masked_spans(view: str) -> list[tuple[int, int]]:
    """Quotations and asides: a name or verb inside them is not the sentence's own."""
    return [m.span() for m in _QUOTED.finditer(view)] + [m.span() for m in _ASIDE.finditer(view)]


def inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def _quoted_name(view: str, hit: Hit, masked: list[tuple[int, int]]) -> bool:
    """Whether the quotation marks hold the name and nothing else («Радио Свободная Азия»,
    „Nowaja Gaseta“): a name quoted as names are written, not words quoted from someone."""
    return any(
        a <= hit.start and hit.end <= b and not view[a : hit.start].strip(_QUOTE_MARKS)
        and not view[hit.end : b].strip(_QUOTE_MARKS)
        for a, b in masked
    )


def _inside_hangul_name(view: str, hit: Hit) -> bool:
    """A Hangul name of three syllables or more that is the end of a longer word."""
    return (
        hit.start > 0
        and hit.end - hit.start >= 3
        and "\uac00" <= view[hit.start - 1] <= "\ud7a3"
        and all("\uac00" <= ch <= "\ud7a3" for ch in view[hit.start : hit.end])
    )


_NAME_PREFIX = re.compile(r"(?<![\w'’])[ODОД]['’]$")
_QUOTE_MARKS = "\"'«»„“”‚‘’ "


def find_concepts(
    scan: Scan, lex: Lexicon, profile: Profile
) -> tuple[dict[str, list[tuple[int, int]]], set[str]]:
    """The concepts a text names or implies, with their spans; and those named by own terms."""
    concepts: dict[str, list[tuple[int, int]]] = {}
    named: set[str] = set()
    for matcher in lex.kinds.values():
        for hit in scan.find(matcher):
            named.add(hit.label)
            pending = [hit.label]
            while pending:
                cid = pending.pop()
                concepts.setdefault(cid, []).append((hit.start, hit.end))
                pending.extend(profile.concepts[cid].implies)
    return concepts, named


def text_view(text: str) -> str:
    """The form of a text the lexicon's terms are matched against."""
    return text.translate(_VIEW)


def analyse_sentence(index: int, line: int, text: str, lex: Lexicon, profile: Profile) -> Sentence:
    """Everything the lexicon finds in one sentence; `index` and `line` place it in its document."""
    view = text.translate(_VIEW)
    scan = lex.everything.scan(view)
    masked = masked_spans(view)
    concepts, named = find_concepts(scan, lex, profile)
    kinds = {profile.concepts[cid].kind for cid in concepts}
    mentions = []
    # "Sullivan" in "David O'Sullivan" is another name, and so is "설리번" in "오설리번"
    speaker_hits = [
        h
        for h in scan.find(lex.speakers)
        if not _NAME_PREFIX.search(view, 0, h.start)
        and not (lex.lang == "ko" and _inside_hangul_name(view, h))
    ]
    for hit in speaker_hits:
        if inside(hit.start, hit.end, masked) and not _quoted_name(view, hit, masked):
            continue
        name, weak, generic, genitive = hit.label
        after = view[hit.end : hit.end + 2]
        possessive = after.startswith("'s") or after == "' " or genitive
        mentions.append(Mention(name, hit.start, hit.end, weak, possessive, generic, genitive))
    known = [
        Mention(h.label[0], h.start, h.end, h.label[1], view[h.end : h.end + 2].startswith("'s"))
        for h in speaker_hits
    ]
    spans = [s for spans in concepts.values() for s in spans]
    all_verbs = [
        Verb(h.label[0], h.label[1] == "strong", h.start, h.end)
        for h in scan.find(lex.verbs)
        if h.label is not None
    ]
    unknown, titles = unknown_speakers(view, lex.lang, known, spans)
    for m in unknown:
        m.title = next((korean_title(view[a:b]) for a, b in titles if a == m.end), None)
    for m in mentions:
        if any(a <= m.start and m.end <= b for a, b in titles):
            # "시드니 사일러 CSIS 선임고문은": the body is the person's, as in "CSIS's adviser"
            m.possessive = True
    taken = [(m.start, m.end) for m in (*known, *unknown)] + spans
    unknown += _surnames(view, lex.lang, all_verbs, taken)
    mentions += [m for m in unknown if not inside(m.start, m.end, masked)]
    mentions.sort(key=lambda m: m.start)
    sides = [
        span
        for cid, spans in concepts.items()
        if profile.concepts[cid].kind in TOPIC_SIDES
        for span in spans
    ]
    for m in mentions:
        m.party = any(a < m.end and m.start < b for a, b in sides)
    anaphors = [h for h in scan.find(lex.speaker_anaphora) if not inside(h.start, h.end, masked)]
    verbs = [v for v in all_verbs if not inside(v.start, v.end, masked)]
    quoted_verbs = [v for v in all_verbs if inside(v.start, v.end, masked)]
    # A demonstrative counts only when it points at something the topic is made
    # of ("these arms shipments", "such claims"), not at any noun.
    targets = [
        span
        for cid, spans in concepts.items()
        if profile.concepts[cid].kind in ("transfer", "materiel", "claim", "use")
        for span in spans
    ]
    demonstrative = any(
        0 <= start - hit.end <= 24 and len(view[hit.end : start].split()) <= 2
        for hit in scan.find(lex.demonstratives)
        for start, _ in targets
    )
    stripped = view.rstrip(" \"»)'")
    return Sentence(
        index=index,
        line=line,
        text=text,
        view=view,
        concepts=concepts,
        implied=frozenset(concepts) - named,
        kinds=kinds,
        mentions=mentions,
        anaphors=anaphors,
        verbs=verbs,
        quoted_verbs=quoted_verbs,
        cues=[h for h in scan.find(lex.cues) if h.label is not None],
        attribution_after=scan.find(lex.attribution_after),
        attribution_before=scan.find(lex.attribution_before),
        demonstrative=demonstrative,
        continuation=bool(scan.find(lex.continuation)),
        directions=scan.find(lex.direction),
        question=stripped.endswith(("?", "？")),
    )


_UP = "A-ZÀ-ÖØ-ÞĀ-ŽА-ЯЁ"
_LOW = "a-zß-öø-ÿĀ-žа-яё"
# "LaCamera", "McDonald", "DeSantis": a capital inside a name after one or two letters.
# "O'Brien", "О'Брайен", "D'Amato": an Irish or Italian prefix before the capital.
_TOKEN = (
    rf"(?:[ODОД]['’])?[{_UP}](?:[{_LOW}]{{1,2}}[{_UP}])?[{_LOW}]+(?:-[{_UP}]?[{_LOW}]+)?"
)
# Up to eight words: a long title before a name ("House Foreign Affairs Committee Chairman
# Michael McCaul") is read as a whole, then cut at its last title word.
_NAME = re.compile(
    rf"(?<![\w'’])((?:{_TOKEN}\s(?:(?:de|du|da|van|von|der|le|la)\s)?){{1,7}}{_TOKEN})(?![\w'’])"
)
# A single surname counts as a name right after one of these ("Foreign Minister Sikorski").
_TITLES = frozenset(
    "President Minister Secretary Ambassador General Admiral Spokesman Spokeswoman Chancellor "  # noqa: SIM905
    "Premier Director Chief Commander Governor Mayor Colonel Envoy Chairman Chairwoman Chair "
    "Senator Representative Congressman Congresswoman Speaker Analyst Researcher Professor "
    "Expert".split()
)
# Capitalised words that are not part of a name: titles, and these.
_NOT_A_NAME_WORDS = (
    "The A An In On At As But And Or However Meanwhile Earlier Previously Later According Both "
    "This That These Those Its His Her Their Our Last Next Since After Before While When Then "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mr Mrs Ms Dr "
    "Update Correction Read Also Deputy Vice "
    "В На По С Как Но И А Ранее Позже Также Однако Президент Министр Посол "
    # places and institutions are not people
    "Peninsula Sea Ocean River Council Department House Ministry Office Nations Union States "
    "Republic Korea Kingdom Federation Committee Agency Service Forces Army Navy Street "
    # what a title holds ("Secretary of State Marco Rubio")
    "State Treasury Affairs Adviser Advisor"
)
_NOT_A_NAME = frozenset(_NOT_A_NAME_WORDS.split()) | _TITLES


_RU_KOREAN_SURNAMES = frozenset(
    "Ким Ли Пак Чхве Чон Кан Чо Юн Ю Хан Син Со Квон Ан Сон Нам У Хон Пэк Лим Им Мун Ян Ко "  # noqa: SIM905
    "Ку Ха Чан Но Сим Пён Хван Ох О Мин Чин".split()
)
# "Сэм Лэйр из Центра Джеймса Мартина": after "из"/"в"/"при" and a body's noun, capitalised
# genitives are the body's name; "профессор … университета Артём Лукин" is a person.
_RU_IN_BODY = (
    r"(?<![\w-])(?:из|в|во|при|от)\s(?:[Цц]ентр|[Ии]нститут|[Уу]ниверситет|[Фф]онд|[Шш]кол|"
    r"[Аа]кадеми|[Кк]олледж)\w*"
)
# Right before a two-word name, or "имени" ("Института имени …").
_RU_INSTITUTION_BEFORE = re.compile(rf"(?:{_RU_IN_BODY}|(?<![\w-])(?:имени|им\.))\s+$")
# Up to two of the body's name words before a lone surname.
_RU_IN_INSTITUTION = re.compile(rf"{_RU_IN_BODY}\s+(?:[А-ЯЁ][а-яё-]+\s+){{0,2}}$")


def _unknown_names(view: str, lang: str, taken: list[tuple[int, int]]) -> list[Mention]:
    """Capitalised personal names the profile does not list ("Brian Nelson", "Барбара Вудворд").

    Only for English and Russian: German capitalises every noun (see `_german_titled_names`).
    The name is what follows the last title or place word ("South Korean Foreign Minister
    Cho Tae-yul"). `taken` are spans the lexicon already explains (known speakers, concepts).
    """
    if lang not in ("en", "ru"):
        return []
    found = []
    for m in _NAME.finditer(view):
        tokens = m.group(1).split()
        cut = max((i for i, t in enumerate(tokens) if t in _NOT_A_NAME), default=-1)
        titled = cut >= 0 and tokens[cut] in _TITLES
        tokens = tokens[cut + 1 :]
        if lang == "ru":
            korean = (
                len(tokens) >= 3
                and tokens[-3] in _RU_KOREAN_SURNAMES
                and all(len(t) <= 4 for t in tokens[-2:])
            )
            # "Великобритании Барбара Вудворд": the name is last; "эксперт Ким Чон Дэ":
            # a Korean name is three short words
            tokens = tokens[-3:] if korean else tokens[-2:]
            if _RU_INSTITUTION_BEFORE.search(view, 0, m.end() - len(" ".join(tokens))):
                continue  # "из Центра Джеймса Мартина": the name of the body, not a person
        if len(tokens) < 2 and not (titled and tokens and lang == "en"):
            continue
        start = m.end() - len(" ".join(tokens))
        if any(a < m.end() and start < b for a, b in taken):
            continue
        after = view[m.end() : m.end() + 2]
        name = " ".join(tokens)
        if lang == "ru" and len(tokens) == 2 and _RU_GOVERNS_GENITIVE.search(view, 0, start):
            # "по словам Павла Фельгенгауэра": the person is Павел Фельгенгауэр
            given = _ru_given_nominative(tokens[0])
            # a man's given name changed in the genitive, a woman's ends in -а/-я
            male = given != tokens[0] and not given.endswith(("а", "я"))
            name = f"{given} {_ru_surname_nominative(tokens[1], male)}"
        found.append(Mention(name, start, m.end(), False, after.startswith("'s")))
    return found


# Words after which a Russian name stands in the genitive, titles allowed between ("по
# словам посла Украины в Великобритании Валерия Залужного").
_RU_GOVERNS_GENITIVE = re.compile(
    r"(?<!\w)[Пп]о (?:словам|мнению|оценке|оценкам|данным|информации|подсчётам|подсчетам)"
    r"(?:\s\S+){0,5}?\s$"
)
_RU_GIVEN_IRREGULAR = {"Павла": "Павел", "Льва": "Лев", "Петра": "Пётр"}


def _ru_surname_nominative(surname: str, male: bool) -> str:
    """A surname from the genitive, after a genitive given name: "Фельгенгауэра" →
    "Фельгенгауэр", "Залужного" → "Залужный" for a man; "Захаровой" → "Захарова"."""
    nominative = _ru_nominative(surname)
    if nominative != surname or not male:
        return nominative
    if surname.endswith("ого") and len(surname) > 5:
        return surname[:-3] + "ый"
    if surname.endswith(("ки", "ги", "хи")) and len(surname) > 4:
        return surname[:-1] + "а"  # "Конрада Музыки" → Конрад Музыка
    if surname.endswith("а") and len(surname) > 3 and surname[-2] not in "аеёиоуыэюяьй":
        return surname[:-1]
    return surname


def _ru_given_nominative(given: str) -> str:
    """A Russian given name from the genitive: "Сергея" → "Сергей", "Юрия" → "Юрий",
    "Александра" → "Александр", "Игоря" → "Игорь", "Анны" → "Анна", "Марии" → "Мария"."""
    if given in _RU_GIVEN_IRREGULAR:
        return _RU_GIVEN_IRREGULAR[given]
    for ending, nominative in (("ея", "ей"), ("ия", "ий"), ("ии", "ия"), ("ьи", "ья"), ("ы", "а")):
        if given.endswith(ending) and len(given) > len(ending) + 1:
            return given[: -len(ending)] + nominative
    if given.endswith("я") and len(given) > 3:
        return given[:-1] + "ь"
    if given.endswith("а") and len(given) > 3 and given[-2] not in "аеёиоуыэюяьй":
        return given[:-1]
    return given


_DE_TITLES = (
    r"Außenminister(?:in)?|Verteidigungsminister(?:in)?|Minister(?:in)?|Ministerpräsident(?:in)?|"
    r"Präsident(?:in)?|Premierminister(?:in)?|Regierungschef(?:in)?|Sprecher(?:in)?|"
    r"Botschafter(?:in)?|Generalsekretär(?:in)?|Kanzler(?:in)?|Staatssekretär(?:in)?|"
    r"Geheimdienstchef(?:in)?|Chef(?:in)?|Direktor(?:in)?|Kommandeur(?:in)?|General|Oberst|"
    r"Admiral|Gouverneur(?:in)?|Bürgermeister(?:in)?|Generalstaatsanwalt|Staatsanwalt|"
    r"Gebietsstaatsanwalt|Politiker(?:in)?|Abgeordnete[rn]?|Vorsitzende[rn]?|Kommissar(?:in)?|"
    r"Beauftragte[rn]?|Koordinator(?:in)?|Senator(?:in)?|Ermittler(?:in)?|Analyst(?:in|en)?|"
    r"Experte|Expertin|Oberst(?:leutnant)?|Vizeadmiral|Generalleutnant|Generalmajor|"
    r"Politolog(?:e|en|in)|[Ff]orscher(?:in)?|Parlamentarier(?:in)?|Wissenschaftler(?:in)?|"
    r"Experten|Historiker(?:in)?|Berater(?:in)?|Professor(?:in|s)?|Leiter(?:in)?|"
    r"Journalist(?:in|en)?"
)
# A title in the genitive names its holder too ("nach Worten des estnischen
# Verteidigungsministers Hanno Pevkur").
_DE_TITLED = re.compile(
    rf"(?<![\w-])[\w-]*(?i:{_DE_TITLES})(?:e?s)?\s+((?:{_TOKEN}\s){{1,2}}{_TOKEN})(?![\w'’-])"
)
# A party in brackets marks a politician: "Strack-Zimmermann (FDP) kritisierte".
_DE_PARTY = re.compile(
    rf"(?<![\w'’-])((?:{_TOKEN}\s){{0,2}}{_TOKEN})\s\((?:CDU|CSU|SPD|FDP|Grüne|Die Grünen|AfD|"
    r"Linke|Die Linke|BSW|ÖVP|FPÖ|SVP)\)"
)


_DE_GOVERNED_BY = re.compile(r"\s(?:zufolge|nach)\b")
# A name of two or three words with no title before it (German capitalises nouns, so these
# are read only where a name must stand).
_DE_BARE_NAME = rf"((?:{_TOKEN}\s)?{_TOKEN}\s{_TOKEN})"
# "…, sagte Liana Fix vom Council on Foreign Relations.", "kritisierte Sara Nanni von den
# Grünen, dass …": a name with no title right after a verb of speech, before where the
# person works, a comma or the sentence's end.
_DE_SAID_BY = re.compile(
    rf"(?<![\w-])(?:sagte?|erklärte?|betonte?|meinte?|schrieb|schreibt|warnte?|urteilte?|"
    rf"ergänzte?|verlangte?|forderte?|kritisierte?|verurteilte?|prangerte)\s{_DE_BARE_NAME}"
    r"(?=\s(?:vom|von|des|der|am|im)\s|[.,]?\s*$)"
)
# "nach Angaben von Juri Sak, Berater des …", "nach Analyse von Sam Lair vom …": a name with
# no title after the words that attribute, before its apposition or where the person works.
_DE_ACCORDING_TO = re.compile(
    rf"(?:nach\s(?:Angaben|Analyse|Ansicht|Einschätzung|Schätzung|Worten|Aussage)\svon|laut)"
    rf"\s{_DE_BARE_NAME}(?=,|\s(?:vom|von)\s)"
)
# "Die Sprecherin des Nationalen Sicherheitsrats, Adrienne Watson, forderte …": the
# name in apposition to a title, between commas.
_DE_APPOSED = re.compile(
    rf"(?<![\w-])[\w-]*(?:{_DE_TITLES})\s[^,.;:()]{{0,60}},\s((?:{_TOKEN}\s){{0,2}}{_TOKEN})"
    # the name closes the apposition or the sentence ("…, verlangte der Vorsitzende des
    # Ausschusses, Michael Roth.")
    r"(?:,|\.?\s*$)"
)


_DE_NOT_A_NAME_END = frozenset(("Millionen", "Milliarden", "Tausende", "Hunderte", "Dutzende"))


def _german_titled_names(view: str, taken: list[tuple[int, int]]) -> list[Mention]:
    """German names after a title ("Außenminister Radosław Sikorski", "die Sprecherin des
    Rats, Adrienne Watson,"): two or three words."""
    # A phrase-long concept ("stammt nach Schätzung des Analysten … aus Nordkorea") may
    # hold a name; a word-sized one may not.
    taken = [(a, b) for a, b in taken if b - a <= 40]
    found = []
    for m in [
        *_DE_TITLED.finditer(view),
        *_DE_APPOSED.finditer(view),
        *_DE_PARTY.finditer(view),
        *_DE_SAID_BY.finditer(view),
        *_DE_ACCORDING_TO.finditer(view),
    ]:
        start, end = m.span(1)
        # German capitalises nouns: "Außenministerin Mélanie Joly Sanktionen" ends before
        # the first word the lexicon already explains.
        words = m.group(1).split()
        while len(words) > 2 and words[-1] in _DE_NOT_A_NAME_END:
            words = words[:-1]  # "Admiral John Aquilino Millionen Granaten": a count follows
            end = start + len(" ".join(words))
        while len(words) > 2 and any(a < end and start < b for a, b in taken):
            words = words[:-1]
            end = start + len(" ".join(words))
        # "… hat den nordkoreanischen Verteidigungsminister Kang Sun Nam sanktioniert":
        # after an accusative or dative article the titled person is an object.
        before = re.split(r"[,;:()]", view[: m.start()])[-1].split()[-3:]
        # "Dem … Abgeordneten Kim zufolge", "laut dem Marinesprecher Dmytro Pletentschuk":
        # a dative the attribution governs
        governed = _DE_GOVERNED_BY.match(view, end) or any(w.casefold() == "laut" for w in before)
        if any(w.casefold() in ("den", "dem", "einen", "einem") for w in before) and not governed:
            continue
        if not any(a < end and start < b for a, b in taken):
            found.append(Mention(" ".join(words), start, end, False, False))
    return found


# Institutions the profile does not list, named by what they are: "Kharkiv
# regional prosecutors", "Estonian military intelligence", "Poland's foreign
# ministry", "the city's military administration". A head noun of a body that
# speaks, after at least one qualifier (a bare "officials" says too little).
_BODY_HEAD = (
    r"prosecutors?|prosecutor['’]s office|investigators|officials?|officers|"
    r"intelligence(?:\s(?:services?|agenc(?:y|ies)|officials?|chiefs?))?|authorities|police|"
    r"monitors|inspectors|ministry|agency|administration|spokes(?:man|woman|person)|envoy|"
    r"ambassador|diplomats?|governor|mayor|command|general staff|military|armed forces|minister|"
    r"air force|navy|army|soldiers|commanders"
)
_BODY_QUALIFIER = (
    r"[A-Z][\w\-]*(?:['’]s)?|[a-z][\w\-]*['’]s|regional|local|city|military|defen[cs]e|"
    r"foreign|intelligence|security|senior|top|western|open-source|independent|sanctions|"
    r"monitoring|state|chief|border|customs|national|federal|prosecutor|police|press|"
    r"emergency|investigative|presidential|air"
)
_BODY = {
    "en": re.compile(
        rf"(?<![\w'’\-])((?:(?:{_BODY_QUALIFIER})\s+){{1,4}}(?:{_BODY_HEAD}))(?![\w'’\-])"
    ),
    # "des estnischen Militärgeheimdienstes", "Die Schweizer Regierung": a nationality
    # or place adjective before a body's (compound) noun.
    "de": re.compile(
        r"(?<![\w-])((?:(?:[a-zäöüßA-ZÄÖÜ][a-zäöüß]*isch|[Ww]estlich|[Öö]stlich|[Rr]egional|"
        r"[Öö]rtlich|[Ss]taatlich|[Zz]uständig|[Mm]ilitärisch|[Nn]ational)(?:e|en|er|es|em)\s+|"
        r"[A-ZÄÖÜ][a-zäöüß]+er\s+){1,3}[A-ZÄÖÜ][\w-]*)(?![\w-])"
    ),
    "ru": re.compile(
        r"(?<![\w-])((?:(?!данн|слов|оценк|информац)[А-ЯЁа-яё][а-яё-]*(?:ск|цк|н|ов|ев|ин)(?:ая|ий|ый|ой|ое|ие|ые|ого|ому|ым|"
        r"ом|ую|ей|их|ыми|ими|ых)\s+){1,3}(?:разведк|прокуратур|спецслужб|министерств|ведомств|"
        r"полици|администраци|правительств|генштаб|командовани|следовател|прокурор|офицер|"
        r"военн[ыо]|власт|центр|институт)[а-яё]*)(?![\w-])"
    ),
    # "에스토니아 군 정보당국은", "호주 정부는": up to two words, then the body, then a particle.
    "ko": re.compile(
        r"(?<![가-힣])((?:[가-힣A-Za-z]+\s){0,2}[가-힣]*?(?:정보당국|당국|검찰청|검찰|정보국|정보부|"
        r"국방부|외무부|외교부|외무성|정부|경찰|정보기관|총참모부|정보본부|장관|대변인|대사|총리|"
        r"연구소|연구원|센터|연구단체|싱크탱크|공군|해군|육군))"
        r"(?=(?:\([^()]{1,30}\))?(?:은|는|이|가)(?![가-힣]{2}))"
    ),
}
_NAME_FOLLOWS = re.compile(r",?\s+[A-ZА-ЯЁ]")
_RESEARCH = re.compile(r"(?:연구소|연구원|센터|연구단체|싱크탱크)$")
_DE_LEADING = re.compile(r"^(?:der|die|das|des|dem|den)\s+", re.IGNORECASE)
_DE_HEAD = re.compile(
    r"(?:geheimdienst|nachrichtendienst|staatsanwaltschaft|ermittler|behörde|regierung|ministerium|"
    r"verwaltung|polizei|generalstab|armee|streitkräfte|offiziere|militär|sprecher|luftwaffe|"
    r"institut|zentrum|denkfabrik)"
    r"(?:e|en|es|s|n|in)?$",
    re.IGNORECASE,
)


def _unknown_bodies(
    view: str,
    lang: str,
    known: list[Mention],
    taken: list[tuple[int, int]],
    titles: Sequence[tuple[int, int]] = (),
) -> list[Mention]:
    """Unlisted institutions by a qualified head noun ("Kharkiv regional prosecutors").

    A body overlapping a listed speaker or a name in `taken` is theirs ("US military
    officials" stays the United States), unless that speaker is a country in the
    possessive at its start: "Seoul's foreign ministry" is South Korea speaking.
    """
    pattern = _BODY.get(lang)
    if pattern is None:
        return []
    found = []
    for m in pattern.finditer(view):
        text = m.group(1)
        if any(a <= m.start(1) and m.end(1) <= b for a, b in titles):
            continue  # "리처드 말스 호주 부총리 겸 국방장관은": the title of a name before it
        if lang == "en":
            tokens = text.split()
            while len(tokens) > 1 and (tokens[0] in _NOT_A_NAME or tokens[0].casefold() == "the"):
                tokens = tokens[1:]
            if len(tokens) < 2:
                continue
            text = " ".join(tokens)
        elif lang == "de":
            text = _DE_LEADING.sub("", text)
            if not _DE_HEAD.search(text):
                continue
        elif lang == "ko":
            # "규탄한다고 조태열 장관": a clause's verb is not part of the body's name.
            tokens = text.split()
            while len(tokens) > 1 and _KO_CLAUSE_END.search(tokens[0]):
                tokens = tokens[1:]
            if (
                len(tokens) == 2
                and _KO_PERSONAL_TITLE.fullmatch(tokens[1])
                and re.fullmatch(rf"[{_KO_FAMILY}][가-힣]{{1,2}}", tokens[0])
            ):
                tokens = tokens[:1]  # "조태열 장관": the person, not a body
            text = " ".join(tokens)
        start, end = m.end(1) - len(text), m.end(1)
        if text.endswith("minister") and _NAME_FOLLOWS.match(view, end):
            continue  # "South Korea's defence minister, Shin Won-sik, said": the name speaks
        country = [
            k
            for k in known
            if k.weak and k.start == start and (k.possessive or lang == "ko") and k.end < end
        ]
        research = bool(_RESEARCH.search(text))
        if research:
            # "영국 비영리 연구단체 …센터는": a research body is itself, not its country.
            country = []
        if country and lang in ("en", "ko"):
            found.append(Mention(country[0].name, start, end, False, False))
            continue
        blocking = taken
        if research:
            blocking = [(a, b) for a, b in taken if not any(k.weak and k.start == a for k in known)]
        if any(a < end and start < b for a, b in blocking):
            continue
        after = view[end : end + 2]
        found.append(Mention(text, start, end, False, after.startswith("'s")))
    return found


# Korean personal names the profile does not list, known by the title that
# follows them ("김성 유엔 주재 북한대사는", "조철수 국제기구국장은"): a family
# name and one or two syllables, the title within three words.
# Korean family names and how their owners write them in Latin letters; identity reads the
# same table to romanise a name.
KO_FAMILY_NAMES = dict(
    zip(
        "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허남심노하곽성차주우구민진"
        "유나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁봉어복피리",
        "kim lee park choi jung kang cho yoon jang lim han oh seo shin kwon hwang ahn "  # noqa: SIM905
        "song ryu jeon hong ko moon yang son bae baek heo nam shim noh ha kwak sung cha "
        "joo woo koo min jin yoo na ji eom chae won cheon bang kong hyun ham byun yeom "
        "yeo choo do so seok sun seol ma gil yeon wi pyo myung ki ban wang keum ok yook "
        "in maeng je mo tak bong eo bok pi ri".split(),
        strict=True,
    )
)
_KO_FAMILY = "".join(KO_FAMILY_NAMES)
_KO_TITLE_WORDS = (
    "대사|대변인|장관|차관보|차관|대통령|총리|총장|국장|위원장|부원장|원장|부소장|소장|부부장|부장|"
    "의원|사령관|청장|실장|본부장|단장|차장|외무상|국방상|외상|부상|비서|총참모장|연구위원|위원|교수|"
    "보도관|분석관|대령|장군|서기|특보|회장|국무상|고문|대행|의장|중장|대장|준장|센터장|지사|석좌|"
    "경제상|책임자|막료장"
)
# Titles after a foreign name in Hangul ("데이비드 래미 영국 외무장관은").
_KO_FOREIGN_TITLE_WORDS = (
    "대사|대변인|장관|차관보|차관|대통령|총리|총장|국장|청장|실장|사령관|조정관|보좌관|대표|"
    "위원장|원장|소장|부소장|의원|연구위원|연구원|교수|보도관|분석관|대령|장군|서기|회장|국무상|"
    "차장|고문|대행|의장|중장|대장|센터장|지사|석좌|책임자|막료장|특사"
)
# Every title a Korean news name carries after it, as speaker keys keep them ("조 장관",
# "박 부차관보"): identity reads the name without it.
KO_TITLES = frozenset(
    (_KO_TITLE_WORDS + "|" + _KO_FOREIGN_TITLE_WORDS + "|처장|비서관|수석").split("|")
)
_KO_TITLE_WORD = re.compile(rf"\S*(?:{'|'.join(sorted(KO_TITLES, key=len, reverse=True))})")


def korean_title(span: str) -> str | None:
    """The title word in what follows a Korean name ("국방성 부상은" → "부상")."""
    found = _KO_TITLE_WORD.findall(span)
    return found[-1] if found else None


# "…라는 게 김 교수의 분석이다": whose analysis (account, claim, view) a sentence reports.
KO_WHOSE_VIEW = re.compile(r"의\s(?:분석|설명|주장|평가|전망|지적|판단|관측)(?:이다|이었다)")
_KO_TITLED = re.compile(
    rf"(?<![가-힣])([{_KO_FAMILY}][가-힣]{{1,2}})\s+(?:\S+\s+){{0,3}}?"
    rf"\S*(?:{_KO_TITLE_WORDS})"
    # "이병철 교수의 분석에 따르면": whose analysis the sentence reports
    r"(?:은|는|이|가|에 따르면|의 (?:분석|설명|추산|평가|전망)(?:에 따르면|으로는))(?![가-힣])"
)
# A surname right before its title: the person named in full before ("김 부상은", "최
# 교수는"); the mention keeps the title, which says who of that surname is meant.
_KO_SURNAME_TITLED = re.compile(
    rf"(?<![가-힣])([{_KO_FAMILY}]\s+\S*(?:{_KO_TITLE_WORDS}))(?:은|는|이|가|에 따르면)(?![가-힣])"
)
# Common nouns that look like a name before a title ("정부 대변인은").
_KO_NOT_A_NAME = frozenset(
    "정부 당국 정보 국방 외교 한국 미국 일본 북한 남한 "  # noqa: SIM905
    "합참 군사 안보 이번 지난 최근 현재 주재 "
    # "주한 우크라이나 대사": the post, not a name
    "주한 주미 주일 주중 주러 주영 주독 주불 소속 출신 담당 "
    # postpositions: "쓰인 데 대해 임 대변인은"
    "대해 위해 통해 관해 의해 대한 위한 통한 관한 따라 따른 "
    # parties: "국민의힘 성일종 의원은"
    "국민의힘 더불어민주당 민주당 조국혁신당 개혁신당 여당 야당 "
    # a verb's adnominal ending, "(having) done": "추적해 온 피터 워드 연구원은"
    "온 간 된 던 할 될 갈 본 낸".split()
)


_WORD = re.compile(r"\S+")
_KO_WORD_BEFORE = re.compile(r"(?<![가-힣])([가-힣]{1,5})\s+$")
# Foreign names in Hangul before their title: "데이비드 래미 영국 외무장관은",
# "부다노우 우크라이나 국방정보총국장은", "우드 차석대사에 따르면".
_KO_FOREIGN_TITLED = re.compile(
    r"(?<![가-힣])((?:[가-힣]{1,5}\s)?[가-힣]{2,7})\s+(?:\S+\s+){0,3}?"
    rf"\S*(?:{_KO_FOREIGN_TITLE_WORDS})"
    r"(?:은|는|이|가|에 따르면)(?![가-힣])"
)
# "…라는 게 김 교수의 분석이다": whose analysis, account or claim the sentence is.
_KO_VIEW_HOLDER = re.compile(
    rf"(?<![가-힣])((?:[{_KO_FAMILY}]\s|[{_KO_FAMILY}][가-힣]{{1,2}}\s(?:\S+\s){{0,2}}?|[가-힣]{{2,5}}\s)?"
    rf"\S*(?:{_KO_TITLE_WORDS}))"
    + KO_WHOSE_VIEW.pattern
)
# A foreign name after the word for what the person is: "독일의 한반도 전문가 에릭 발바흐는".
_KO_EXPERT_NAMED = re.compile(
    r"(?<![가-힣])\S*(?:전문가|분석가|평론가)\s+([가-힣]{1,5}\s[가-힣]{2,5})(?:은|는|이|가)(?![가-힣])"
)
# The last syllable of a body or a particle, not of a name ("국방부", "정부에서").
_KO_NOT_A_NAME_END = re.compile(
    r"(?:부|청|처|원|성|국|관|단|회|군|측|에서|의|에|을|를|도|와|과|로|은|는|만|"
    # adverbs and verb endings: "강력히", "규탄한다고"
    r"히|게|고|다|며|면|요)$"
)
# Given names that end like a particle, an adverb or a polite ending ("드미트로",
# "세르히", "카스티요").
_KO_GIVEN_NAME_ENDS = ("로", "히", "요", "시게")  # "시게": Japanese -shige ("나루시게")
# Words that end as a title or a body does: "부총리 겸 국방장관은", "제니 타운 스팀슨센터 38노스
# 국장은".
_KO_NOT_A_NAME_WORD = re.compile(
    rf"(?:{_KO_TITLE_WORDS}|{_KO_FOREIGN_TITLE_WORDS}|센터|연구소|대학교|대학|대|재단|협회|포럼|칼리지|당)$"
)
# Countries by one syllable before a title ("마크 워너 미 상원의원은").
_KO_COUNTRY_SHORT = frozenset("미 영 일 중 러 독 불 프 한 북 호 캐 유".split())  # noqa: SIM905
# "방한 중인", "야당 간사인", "대변인인": what someone is ("who is …"), not a name.
_KO_COPULA = re.compile(rf"(?:중|간사|출신|소속|담당|{_KO_TITLE_WORDS})인$")
_KO_CLAUSE_END = re.compile(r"(?:다고|라고|하고|히|며|면서|지만|는데)$")
_KO_PERSONAL_TITLE = re.compile(r"장관|대변인|대사|총리|차관|실장|의원")
_KO_NOT_A_GIVEN_NAME_END = re.compile(r"(?:히|게|고|며|면|요|다고|라고)$")


def _titled_matches(view: str) -> Iterator[re.Match[str]]:
    """`_KO_TITLED` matches; after one whose first word is a common noun or a verb ("소속
    김병기 … 의원은", "한다고 박진 장관은"), the search goes on from the next word so the
    name inside is found."""
    pos = 0
    while (m := _KO_TITLED.search(view, pos)) is not None:
        yield m
        name = m.group(1)
        rejected = (
            name in _KO_NOT_A_NAME
            or _KO_NOT_A_GIVEN_NAME_END.search(name)
            # "구형일 것이라고 김재천 교수는": a clause ends between, so the name is after it
            or any(_KO_CLAUSE_END.search(w) for w in view[m.end(1) : m.end()].split()[:-1])
        )
        pos = m.end(1) + 1 if rejected else m.end()


def _not_a_name_word(word: str) -> bool:
    return word in _KO_NOT_A_NAME or bool(
        _KO_COPULA.search(word) or _KO_NOT_A_NAME_WORD.search(word)
    )


def _foreign_given_name(view: str, end: int, taken: list[tuple[int, int]]) -> bool:
    """Whether the word after a name ending at `end` is the rest of it: an unknown word that
    is no body, followed by a listed country or body (the title's), as in "오카노 마사타카
    일본 외무성" and "제니 타운 스팀슨센터"; a Korean name is followed by its body's words
    ("김병기 더불어민주당 의원")."""
    following = re.match(r"\s([가-힣]{2,5})\s(\S+)", view[end:])
    if following is None:
        return False
    word, next_word, after = following.group(1), following.group(2), end + following.start(2)
    return (
        not _not_a_name_word(word)
        and not _KO_NOT_A_NAME_END.search(word)
        and not any(a < end + following.end(1) and end + following.start(1) < b for a, b in taken)
        # the title's country or body follows: "일본 외무성", "스팀슨센터", "미 상원의원은"
        and (
            any(a == after for a, _ in taken)
            or next_word in _KO_COUNTRY_SHORT
            or bool(_KO_NOT_A_NAME_WORD.search(next_word))
        )
    )


def _foreign_titled_name(
    view: str, m: re.Match[str], taken: list[tuple[int, int]]
) -> Mention | None:
    """The foreign name in a `_KO_FOREIGN_TITLED` match, unless it is no name."""
    name, start, end = m.group(1), m.start(1), m.end(1)
    words = name.split()
    if len(words) == 2 and any(a < end and end - len(words[1]) < b for a, b in taken):
        # "타야니 이탈리아 외무장관은": the country after the name belongs to the title
        name, words = words[0], words[:1]
        end = start + len(name)
        if len(name) < 2:
            return None  # "전 주한 러시아 대사": "former", not a name
    if len(words) == 2 and _KO_NOT_A_NAME_END.search(words[0]) and not words[0].endswith(
        _KO_GIVEN_NAME_ENDS
    ):
        # "…분석했다고 타운 국장은": the word before ends a clause; the name is one word
        name, words = words[1], words[1:]
        start = end - len(name)
    if (
        any(_not_a_name_word(w) for w in words)
        or (_KO_NOT_A_NAME_END.search(words[-1]) and not words[-1].endswith("시게"))
        # a given name may end like a particle or an adverb, not like a body
        or any(
            _KO_NOT_A_NAME_END.search(w) and not w.endswith(_KO_GIVEN_NAME_ENDS)
            for w in words[:-1]
        )
        or any(a < end and start < b for a, b in taken)
        # "즉각 멈춰야 한다고 박진 장관은": a clause ends between; not a name and its title
        or any(_KO_CLAUSE_END.search(w) for w in view[end : m.end()].split()[:-1])
    ):
        return None
    return Mention(name, start, end, False, False)


def _korean_titled_names(
    view: str, taken: list[tuple[int, int]]
) -> tuple[list[Mention], list[tuple[int, int]]]:
    """Korean and foreign names before their title, and the spans of those titles."""
    found = []
    titles = []
    for m in _titled_matches(view):
        name, start, end = m.group(1), m.start(1), m.end(1)
        before = _KO_WORD_BEFORE.search(view, 0, start)
        if (
            name in _KO_NOT_A_NAME
            or _KO_NOT_A_GIVEN_NAME_END.search(name)
            # a term inside the name is no term of its own ("지원" in "한지원 직무대행은",
            # "위성" in "위성락 국가안보실장은")
            or any(
                a < end and start < b and not (start <= a and b <= end and b - a < end - start)
                for a, b in taken
            )
            # "짐 리시 미 상원의원": the surname of a foreign name, not a Korean name
            or (
                before is not None
                and before.group(1) not in _KO_NOT_A_NAME
                and not _KO_NOT_A_NAME_END.search(before.group(1))
                and not before.group(1).endswith("인")
                and not any(a < before.end(1) and before.start(1) < b for a, b in taken)
            )
        ):
            continue
        between = view[end : m.end()].split()[:-1]
        if any(_KO_CLAUSE_END.search(w) for w in between):
            continue  # "강화해 줬다고 신 실장은": a clause ends between; not a name and its title
        if any(_KO_COPULA.search(w) for w in between):
            continue  # "방한 중인 블링컨 장관은": what the titled person is doing, not a name
        if _foreign_given_name(view, end, taken):
            continue  # "오카노 마사타카 일본 외무성 사무차관은": a foreign name of two words
        found.append(Mention(name, start, end, False, False))
        titles.append((end, m.end()))
        taken = [*taken, (start, end)]
    # From every word: the leftmost match may start at a clause's last words ("얻고 있다고
    # 이소자키 교수는") or at a body's name, and the name it hides starts further on.
    starts = (w.start() for w in _WORD.finditer(view))
    for m in filter(None, (_KO_FOREIGN_TITLED.match(view, at) for at in starts)):
        mention = _foreign_titled_name(view, m, taken)
        if mention is None:
            continue
        found.append(mention)
        titles.append((mention.end, m.end()))
        taken = [*taken, (mention.start, mention.end)]
    for m in _KO_VIEW_HOLDER.finditer(view):
        start, end = m.span(1)
        words = m.group(1).split()
        # "안규백 국방부 장관의 설명이다", "김태우 전 통일연구원장의 분석이다": the name
        # without its body and title; "김 교수의 분석이다" keeps the title that says who.
        named = list(words)
        while len(named) > 1 and (
            _not_a_name_word(named[-1]) or _KO_NOT_A_NAME_END.search(named[-1])
            or named[-1] in ("전", "현")
        ):
            named.pop()
        if len(named) < len(words) and len("".join(named)) > 1:
            words = named
            end = start + len(" ".join(words))
        name = " ".join(words)
        clear = not any(a < end and start < b for a, b in taken)
        if clear and words[0] not in _KO_NOT_A_NAME:
            found.append(Mention(name, start, end, False, False))
            titles.append((end, m.end(1)))
            taken = [*taken, (start, end)]
    for m in _KO_EXPERT_NAMED.finditer(view):
        start, end = m.span(1)
        if not any(a < end and start < b for a, b in taken):
            found.append(Mention(m.group(1), start, end, False, False))
            taken = [*taken, (start, end)]
    for m in _KO_SURNAME_TITLED.finditer(view):
        start, end = m.span(1)
        if any(a < end and start < b for a, b in taken) or view[start:end] in _KO_NOT_A_NAME:
            continue
        found.append(Mention(" ".join(m.group(1).split()), start, end, False, False))
        taken = [*taken, (start, end)]
    return found, titles


# Organisations by name ("the Center for Strategic and International Studies",
# "Royal United Services Institute"): capitalised words around an organisation noun.
_ORG_WORD = r"[A-Z][\w'’.&-]*"
_ORG = re.compile(
    rf"(?<![\w'’-])((?:{_ORG_WORD}\s){{0,4}}(?:Center|Centre|Institute|Institution|Foundation|"
    r"University|Council|Agency|Service|Office|Organi[sz]ation|Committee|Commission|Group|Team|"
    rf"Mission|Ministry|Department|Bureau|Command)"
    rf"(?:\s(?:for|of|on)\s(?:the\s)?{_ORG_WORD}(?:,?\s(?:and\s|&\s)?{_ORG_WORD}){{0,4}})?)"
    r"(?![\w'’-])"
)


# "according to RUSI", "according to the Washington-based CSIS": a body by its
# acronym alone, named as the source.
_ACRONYM_SOURCE = re.compile(
    r"\baccording to\s+(?:the\s+)?(?:[A-Z][\w]*-based\s+)?([A-Z]{2,6})(?![\w'’-])"
)


def _organisations(view: str, taken: list[tuple[int, int]]) -> list[Mention]:
    found = []
    for m in _ACRONYM_SOURCE.finditer(view):
        start, end = m.span(1)
        if m.group(1) not in _NOT_A_NAME and not any(a < end and start < b for a, b in taken):
            found.append(Mention(m.group(1), start, end, False, False))
    for m in _ORG.finditer(view):
        tokens = m.group(1).split()
        while tokens and tokens[0] in _NOT_A_NAME:
            tokens = tokens[1:]
        if len(tokens) < 2:
            continue
        start, end = m.end(1) - len(" ".join(tokens)), m.end(1)
        if not any(a < end and start < b for a, b in taken):
            found.append(Mention(" ".join(tokens), start, end, False, False))
    return found


_PRONOUNS = frozenset("i you he she it we they он она оно мы они я вы".split())  # noqa: SIM905
_SPEECH = re.compile(
    r"(?:said|says|told|tells|added|stated|noted|warned|claimed|wrote|argued|insisted|stressed|"
    r"testified|"
    r"заяви|сказа|отмети|добави|сообщи|подчеркну|написа|утвержда|"
    # Strong verbs too ("Austin condemned", "Пригожин опроверг"); a place before
    # them is ruled out by its preposition ("meeting in Apulia condemned").
    r"condemned|denounced|denied|rejected|dismissed|accused|urged|called on|responded|replied|"
    r"опроверг|отверг|осуди|обвини|призва|потребова|назва|счита|ответи|прокомментир)",
    re.IGNORECASE,
)
_PLACE_BEFORE = re.compile(
    r"(?<!\w)(?:в|во|на|из|по|под|над|при|у|от|до|за|in|at|on|from|near)\s+$", re.IGNORECASE
)
_SURNAME = re.compile(
    rf"(?<![\w'’.-])({_TOKEN}|[A-Z]{{2,6}})\s+(?:(?:also|again|later|further|then)\s+)?$"
)
# Plural nouns that open a sentence before a verb of speech the way a surname would.
_PLURAL_SUBJECTS = frozenset(
    "officials analysts experts diplomats sources observers authorities investigators "  # noqa: SIM905
    "prosecutors officers lawmakers legislators residents witnesses critics reports documents "
    "images photos pictures satellites troops soldiers leaders ministers reporters journalists "
    "commanders generals spokesmen scientists researchers activists insiders negotiators allies "
    "partners members delegates envoys ambassadors governments countries nations states agencies "
    "services militaries americans russians koreans ukrainians europeans others both many some "
    "официальные эксперты аналитики дипломаты источники власти военные".split()
)
_SURNAME_APPOSED = re.compile(rf"^({_TOKEN}),\s[^,;:]{{2,80}},\s*$")
# "…, заявил Пригожин", "…, заявил в четверг Пригожин"
_SURNAME_AFTER = re.compile(rf"\s+({_TOKEN})(?=\s*(?:[,.;:!?]|$|\s[a-zа-яё]))")
# With a time or place between ("заявил в четверг Пригожин,"), only a name closing the clause.
_SURNAME_AFTER_LATE = re.compile(rf"\s+(?:[a-zа-яё]+\s+){{1,2}}({_TOKEN})(?=\s*(?:[,.;:!?]|$))")


# "По словам Умерова, …": a surname in the genitive after "according to".
_EN_ACCORDING = re.compile(rf"(?<!\w)[Aa]ccording to\s+({_TOKEN})(?=\s*(?:[,.;:]|$))")
_RU_ACCORDING = re.compile(
    rf"(?<!\w)(?:[Пп]о словам|[Пп]о мнению|[Пп]о оценке|[Пп]о данным)\s+({_TOKEN})(?=\s*[,.;:—])"
)
_RU_GENITIVE = (("овой", "ова"), ("евой", "ева"), ("иной", "ина"), ("ского", "ский"),
                ("цкого", "цкий"), ("ова", "ов"), ("ева", "ев"), ("ёва", "ёв"), ("ина", "ин"),
                ("ына", "ын"))


def _ru_nominative(surname: str) -> str:
    """A Russian or Ukrainian surname from the genitive: "Умерова" → "Умеров", "Захаровой" →
    "Захарова"; a foreign one ("Шей") as it is."""
    for ending, nominative in _RU_GENITIVE:
        if surname.endswith(ending) and len(surname) > len(ending) + 2:
            return surname[: -len(ending)] + nominative
    return surname


# German capitalises every noun, so a lone surname is read only where a name must
# stand: after a title ("erklärte Bundesverteidigungsminister Pistorius in Berlin"),
# after "nach (den) Worten von", and alone after a closing reporting verb
# ("…, kritisierte Tsahkna.").
_DE_CLOSE = r"(?=\s*(?:[,.;:!?)]|$)|\s+[a-zäöüß])"
_DE_TITLE_SURNAME = re.compile(
    rf"(?<![\w-])[\w-]*(?i:{_DE_TITLES})\s+({_TOKEN}){_DE_CLOSE}"
)
_DE_WORDS_OF = re.compile(
    rf"(?<!\w)(?:nach (?:den )?Worten von|zufolge von|laut|nach Aussagen? von)\s+({_TOKEN})"
    rf"{_DE_CLOSE}"
)
# "Reisner zufolge setzt Russland …": a surname opening a clause before "zufolge"; nouns
# of sources ("Angaben zufolge", "Berichten zufolge") are not names.
_DE_ZUFOLGE = re.compile(rf"(?:^|(?<=[,;:—]\s))({_TOKEN})\s+zufolge\b")
_DE_SOURCE_NOUNS = frozenset(
    "Angaben Berichten Medienberichten Informationen Schätzungen Einschätzungen Erkenntnissen "  # noqa: SIM905
    "Quellen Daten Aussagen Experten Beobachtern Diplomaten Kreisen Regierungskreisen "
    "Sicherheitskreisen Geheimdiensten Analysten Unterlagen Dokumenten Satellitenbildern".split()
)
_DE_AFTER_VERB = re.compile(rf"\s+({_TOKEN}){_DE_CLOSE}")
_DE_OPENING = re.compile(rf"\A\W*({_TOKEN})\s*\Z")
# "…, so Ballbach.": "so" and a surname close the sentence as its attribution.
_DE_SO = re.compile(rf",\s+so\s+({_TOKEN})\s*[.!]?\s*\Z")
# A name in commas after a title and what it holds: "die Geheimdienstkoordinatorin der
# US-Regierung, Avril Haines, vor dem Senat", "Eine Sprecherin des Auswärtigen Dienstes der
# EU, Nabila Massrali, verurteilte".
_DE_TITLE_APPOSED = re.compile(
    rf"[\w-]*(?i:{_DE_TITLES})(?:e?s)?\s+(?:[\w-]+\s+){{0,5}}?[\w-]+,\s+"
    rf"((?:{_TOKEN}\s){{1,2}}{_TOKEN}),"
)
_DE_TITLE_WORD = re.compile(rf"(?i:{_DE_TITLES})$")
# "Christophe Lemoine, Sprecher des französischen Außenministeriums, verurteilte …"
_DE_NAME_APPOSED = re.compile(
    rf"\A\W*((?:{_TOKEN}\s){{1,2}}{_TOKEN}),\s+(?:der\s|die\s)?[\w-]*(?i:{_DE_TITLES})\b"
)


def _german_surnames(
    view: str, verbs: list[Verb], taken: list[tuple[int, int]]
) -> list[Mention]:
    matches = [
        *_DE_TITLE_SURNAME.finditer(view),
        *_DE_WORDS_OF.finditer(view),
        *_DE_TITLE_APPOSED.finditer(view),
        *_DE_NAME_APPOSED.finditer(view),
        *(m for m in _DE_ZUFOLGE.finditer(view) if m.group(1) not in _DE_SOURCE_NOUNS),
        *_DE_SO.finditer(view),
    ]
    for verb in verbs:
        if view[: verb.start].rstrip().endswith((",", '"', "“", "»", "—")):
            m = _DE_AFTER_VERB.match(view, verb.end)
            if m:
                matches.append(m)
        # "Netschajew bestritt, dass …": a surname alone opening the sentence before its verb
        m = _DE_OPENING.match(view[: verb.start])
        # a finite verb, not a noun of speech ("Scharfe Kritik", "Ein Dementi")
        if m and view[verb.start : verb.start + 1].islower() and m.group(1) not in _DE_SOURCE_NOUNS:
            matches.append(m)
    found = []
    for m in matches:
        start, end = m.span(1)
        name = m.group(1)
        # A phrase-long concept ("stammt … aus Nordkorea") may hold the name; a word may not.
        if (
            name in _NOT_A_NAME
            or _DE_TITLE_WORD.search(name)
            or any(a < end and start < b and b - a <= 40 for a, b in taken)
        ):
            continue
        found.append(Mention(name, start, end, False, False))
        taken = [*taken, (start, end)]
    return found


def _surnames(
    view: str, lang: str, verbs: list[Verb], taken: list[tuple[int, int]]
) -> list[Mention]:
    """A lone surname right before a reporting verb ("Sikorski said", "Хили заявил").

    English and Russian; German, which capitalises every noun, only where a name
    must stand (`_german_surnames`). A capitalised word opening the sentence is more
    often a noun ("Officials said") and is left out; Russian also reads a genitive
    surname after "по словам".
    """
    if lang == "de":
        return _german_surnames(view, verbs, taken)
    if lang not in ("en", "ru"):
        return []
    found = []
    if lang == "en":
        # "…, according to Muzyka." / "according to Klingner, Pyongyang has …"
        for m in _EN_ACCORDING.finditer(view):
            start, end = m.span(1)
            if m.group(1) not in _NOT_A_NAME and not any(a < end and start < b for a, b in taken):
                found.append(Mention(m.group(1), start, end, False, False))
                taken = [*taken, (start, end)]
    if lang == "ru":
        for m in _RU_ACCORDING.finditer(view):
            start, end = m.span(1)
            if m.group(1) not in _NOT_A_NAME and not any(a < end and start < b for a, b in taken):
                found.append(Mention(_ru_nominative(m.group(1)), start, end, False, False))
                taken = [*taken, (start, end)]
    for verb in verbs:
        if not _SPEECH.match(view, verb.start):
            continue  # "Imagery shows", "Evidence suggests": not a person speaking
        m = _SURNAME.search(view, max(0, verb.start - 40), verb.start)
        apposed = None
        if not m:
            # "Landsbergis, Lithuania's top diplomat, denounced …"
            m = apposed = _SURNAME_APPOSED.match(view[: verb.start])
        if not m and view[: verb.start].rstrip().endswith((",", '"', "»", "“", "—")):
            # Inverted after the reported words: "…, заявил Пригожин", "…, said Austin."
            m = _SURNAME_AFTER.match(view, verb.end) or _SURNAME_AFTER_LATE.match(view, verb.end)
        if not m or m.group(1) in _NOT_A_NAME or m.group(1).casefold() in _PRONOUNS:
            continue
        if m.start(1) == 0 and m.group(1).casefold() in _PLURAL_SUBJECTS and not apposed:
            continue  # "Officials said", "Analysts say"; "Peters said" is a name
        if _PLACE_BEFORE.search(view, 0, m.start(1)):
            continue  # "на саммите в Апулии осудили": a place, not a person
        if lang == "ru" and _RU_IN_INSTITUTION.search(view, 0, m.start(1)):
            continue  # "из Института Джеймса Мартина отметила": the body's name
        start, end = m.span(1)
        # Overlapping or right after a known name, it is that name's last word
        # ("Defense Minister Shin Won-sik said").
        if not any(a < end and start - 1 <= b for a, b in taken):
            found.append(Mention(m.group(1), start, end, False, False))
            taken = [*taken, (start, end)]
    return found


def unknown_speakers(
    view: str, lang: str, known: list[Mention], concepts: list[tuple[int, int]]
) -> tuple[list[Mention], list[tuple[int, int]]]:
    """Speakers the profile does not list (names, titled names and institutions), and the
    spans of the Korean titles after names."""
    known_spans = [(k.start, k.end) for k in known]
    taken = known_spans + concepts
    found = _organisations(view, taken) if lang == "en" else []
    found += _unknown_names(view, lang, taken + [(m.start, m.end) for m in found])
    titles: list[tuple[int, int]] = []
    if lang == "de":
        found += _german_titled_names(view, taken)
    elif lang == "ko":
        korean, titles = _korean_titled_names(view, taken)
        found += korean
    names = [(m.start, m.end) for m in found]
    # Place names may qualify a body ("Kharkiv regional prosecutors"), actors may not
    # ("Russian military" is not a speaker the sentence names).
    return found + _unknown_bodies(view, lang, known, known_spans + names, titles), titles


# The concept kinds that set a document's topic: both sides, and one of the subjects.
TOPIC_SIDES = frozenset({"source", "partner"})
TOPIC_SUBJECTS = frozenset({"materiel", "transfer", "enforcement", "cooperation"})


def is_context(kinds: set[str]) -> bool:
    """Whether text with these concept kinds establishes the document's topic."""
    return kinds >= TOPIC_SIDES and bool(kinds & TOPIC_SUBJECTS)
