"""One sentence read against a profile's lexicon: concepts, speakers, reporting verbs and cues."""

from __future__ import annotations

import re
from dataclasses import dataclass

from armswatch.tasks.profile import Hit, Lexicon, Profile

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


def find_concepts(
    view: str, lex: Lexicon, profile: Profile
) -> tuple[dict[str, list[tuple[int, int]]], set[str]]:
    """The concepts a text names or implies, with their spans; and those named by own terms."""
    concepts: dict[str, list[tuple[int, int]]] = {}
    named: set[str] = set()
    for matcher in lex.kinds.values():
        for hit in matcher.find(view):
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
    masked = masked_spans(view)
    concepts, named = find_concepts(view, lex, profile)
    kinds = {profile.concepts[cid].kind for cid in concepts}
    mentions = []
    speaker_hits = lex.speakers.find(view)
    for hit in speaker_hits:
        if inside(hit.start, hit.end, masked):
            continue
        name, weak, generic = hit.label
        after = view[hit.end : hit.end + 2]
        possessive = after.startswith("'s") or after == "' "
        mentions.append(Mention(name, hit.start, hit.end, weak, possessive, generic))
    taken = [(h.start, h.end) for h in speaker_hits] + [
        s for spans in concepts.values() for s in spans
    ]
    speaker_spans = [(h.start, h.end) for h in speaker_hits]
    unknown = _unknown_names(view, lex.lang, taken)
    unknown += _unknown_bodies(view, lex.lang, speaker_spans + [(m.start, m.end) for m in unknown])
    unknown += _korean_titled_names(view, lex.lang, taken)
    mentions += [m for m in unknown if not inside(m.start, m.end, masked)]
    mentions.sort(key=lambda m: m.start)
    anaphors = [h for h in lex.speaker_anaphora.find(view) if not inside(h.start, h.end, masked)]
    all_verbs = [
        Verb(h.label[0], h.label[1] == "strong", h.start, h.end)
        for h in lex.verbs.find(view)
        if h.label is not None
    ]
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
        for hit in lex.demonstratives.find(view)
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
        cues=[h for h in lex.cues.find(view) if h.label is not None],
        attribution_after=lex.attribution_after.find(view),
        attribution_before=lex.attribution_before.find(view),
        demonstrative=demonstrative,
        continuation=bool(lex.continuation.find(view)),
        directions=lex.direction.find(view),
        question=stripped.endswith(("?", "？")),
    )


_NAME = re.compile(
    r"(?<![\w'’])((?:[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ]?[a-zа-яё]+)?\s){1,2}"
    r"[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ]?[a-zа-яё]+)?)(?![\w'’])"
)
_NOT_A_NAME_WORDS = (
    "The A An In On At As But And Or However Meanwhile Earlier Previously Later According Both "
    "This That These Those Its His Her Their Our Last Next Since After Before While When Then "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mr Mrs Ms Dr President Minister "
    "Secretary Ambassador General Admiral Spokesman Spokeswoman Update Correction Read Also "
    "В На По С Как Но И А Ранее Позже Также Однако Президент Министр Посол "
    # places and institutions are not people
    "Peninsula Sea Ocean River Council Department House Ministry Office Nations Union States "
    "Republic Korea Kingdom Federation Committee Agency Service Forces Army Navy Street"
)
_NOT_A_NAME = frozenset(_NOT_A_NAME_WORDS.split())


def _unknown_names(view: str, lang: str, taken: list[tuple[int, int]]) -> list[Mention]:
    """Capitalised personal names the profile does not list ("Brian Nelson", "Барбара Вудворд").

    Only for English and Russian: German capitalises every noun. `taken` are spans
    the lexicon already explains (known speakers, concepts).
    """
    if lang not in ("en", "ru"):
        return []
    found = []
    for m in _NAME.finditer(view):
        tokens = m.group(1).split()
        while tokens and tokens[0] in _NOT_A_NAME:
            tokens = tokens[1:]
        if lang == "ru":
            tokens = tokens[-2:]  # "Великобритании Барбара Вудворд": the name is last
        if len(tokens) < 2 or any(t in _NOT_A_NAME for t in tokens):
            continue
        start = m.end() - len(" ".join(tokens))
        if any(a < m.end() and start < b for a, b in taken):
            continue
        after = view[m.end() : m.end() + 2]
        found.append(Mention(" ".join(tokens), start, m.end(), False, after.startswith("'s")))
    return found


# Institutions the profile does not list, named by what they are: "Kharkiv
# regional prosecutors", "Estonian military intelligence", "Poland's foreign
# ministry", "the city's military administration". A head noun of a body that
# speaks, after at least one qualifier (a bare "officials" says too little).
_BODY_HEAD = (
    r"prosecutors?|prosecutor['’]s office|investigators|officials?|"
    r"intelligence(?:\s(?:services?|agenc(?:y|ies)|officials?|chiefs?))?|authorities|police|"
    r"monitors|inspectors|ministry|agency|administration|spokes(?:man|woman|person)|envoy|"
    r"ambassador|diplomats?|governor|mayor|command|general staff"
)
_BODY_QUALIFIER = (
    r"[A-Z][\w\-]*(?:['’]s)?|[a-z][\w\-]*['’]s|regional|local|city|military|defen[cs]e|"
    r"foreign|intelligence|security|senior|top|western|open-source|independent|sanctions|"
    r"monitoring|state|chief|border|customs|national|federal|prosecutor|police|press|"
    r"emergency|investigative|presidential"
)
_BODY = re.compile(
    rf"(?<![\w'’\-])((?:(?:{_BODY_QUALIFIER})\s+){{1,4}}(?:{_BODY_HEAD}))(?![\w'’\-])"
)


def _unknown_bodies(view: str, lang: str, taken: list[tuple[int, int]]) -> list[Mention]:
    """Unlisted institutions in English, by a qualified head noun ("Kharkiv regional prosecutors").

    `taken` are spans of listed speakers and personal names: a body overlapping one
    is that speaker's ("US military officials" stays the United States).
    """
    if lang != "en":
        return []
    found = []
    for m in _BODY.finditer(view):
        tokens = m.group(1).split()
        while len(tokens) > 1 and (tokens[0] in _NOT_A_NAME or tokens[0].casefold() == "the"):
            tokens = tokens[1:]
        if len(tokens) < 2:
            continue
        start = m.end() - len(" ".join(tokens))
        if any(a < m.end() and start < b for a, b in taken):
            continue
        after = view[m.end() : m.end() + 2]
        found.append(Mention(" ".join(tokens), start, m.end(), False, after.startswith("'s")))
    return found


# Korean personal names the profile does not list, known by the title that
# follows them ("김성 유엔 주재 북한대사는", "조철수 국제기구국장은"): a family
# name and one or two syllables, the title within three words.
_KO_FAMILY = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄"
    "채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁"
)
_KO_TITLED = re.compile(
    rf"(?<![가-힣])([{_KO_FAMILY}][가-힣]{{1,2}})\s+(?:\S+\s+){{0,3}}?"
    r"\S*(?:대사|대변인|장관|차관|대통령|총리|총장|국장|위원장|부부장|부장|의원|사령관|청장|"
    r"실장|본부장|단장|외무상|국방상|외상|부상|비서|총참모장)(?:은|는|이|가)(?![가-힣])"
)
# Common nouns that look like a name before a title ("정부 대변인은").
_KO_NOT_A_NAME = frozenset(
    "정부 당국 정보 국방 외교 한국 미국 일본 북한 남한 "  # noqa: SIM905
    "합참 군사 안보 이번 지난 최근 현재 주재".split()
)


def _korean_titled_names(view: str, lang: str, taken: list[tuple[int, int]]) -> list[Mention]:
    if lang != "ko":
        return []
    found = []
    for m in _KO_TITLED.finditer(view):
        name, start, end = m.group(1), m.start(1), m.end(1)
        if name in _KO_NOT_A_NAME or any(a < end and start < b for a, b in taken):
            continue
        found.append(Mention(name, start, end, False, False))
    return found


def is_context(kinds: set[str]) -> bool:
    """Whether text with these concept kinds establishes the document's topic."""
    return {"source", "partner"} <= kinds and bool(
        kinds & {"materiel", "transfer", "enforcement", "cooperation"}
    )
