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
    mentions += [
        m for m in _unknown_names(view, lex.lang, taken) if not inside(m.start, m.end, masked)
    ]
    anaphors = [h for h in lex.speaker_anaphora.find(view) if not inside(h.start, h.end, masked)]
    all_verbs = [
        Verb(h.label[0], h.label[1] == "strong", h.start, h.end) for h in lex.verbs.find(view)
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
        cues=lex.cues.find(view),
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


def is_context(kinds: set[str]) -> bool:
    """Whether text with these concept kinds establishes the document's topic."""
    return {"source", "partner"} <= kinds and bool(
        kinds & {"materiel", "transfer", "enforcement", "cooperation"}
    )
