"""Statement detection: rule-and-lexicon relevance, speaker, stance, facts and identity."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import simplemma

from armswatch.tasks.models import STANCES, Detection, Fact, KnownStatement
from armswatch.tasks.text import detect_language, normalize, split_sentences

SIGNATURE_VERSION = 1


class ProfileError(Exception):
    """A topic profile that cannot be loaded or is inconsistent."""


# ---------------------------------------------------------------- profile


@dataclass(frozen=True, slots=True)
class Concept:
    """One thing the text can talk about, with the terms that name it per language."""

    id: str
    kind: str
    name: str | None = None
    unit: str | None = None
    implies: tuple[str, ...] = ()
    weight: float | None = None  # identity weight; the kind's weight when None


@dataclass(frozen=True, slots=True)
class Rule:
    """A way for a sentence to be a statement: each group needs one of its atoms."""

    id: str
    score: float
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Veto:
    """A way for a sentence not to be a statement despite a matching rule."""

    id: str
    when: tuple[str, ...]
    unless: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Hit:
    label: object
    start: int
    end: int


class _Matcher:
    """Many terms compiled into one pattern; each hit says which label it found.

    Python's `re` tries every alternative at every position, so plain word terms
    sit behind one shared word-boundary test and a first-letter dispatch; regular
    expressions and terms with a leading `*` run in a second, plain alternation.
    Hits are leftmost first, and at one position the longer term wins.
    """

    def __init__(self, entries: list[tuple[str, object]], boundaries: bool) -> None:
        ordered = sorted(entries, key=lambda e: (-len(e[0]), e[0]))
        self.labels: list[object] = []
        by_letter: dict[str, list[str]] = {}  # behind one word-boundary test
        by_char: dict[str, list[str]] = {}  # looked up per character in Python
        free: list[str] = []
        for term, label in ordered:
            group = f"(?P<g{len(self.labels)}>{_term_pattern(term, boundaries, outer=True)})"
            self.labels.append(label)
            first = term[0].casefold()
            if term.startswith(("re:", "*")):
                free.append(group)
            elif not boundaries:
                # Without word boundaries (Korean, Japanese) any character may
                # start a term, so plain terms are found by their first character.
                by_char.setdefault(first, []).append(group)
            elif first.isalnum() or first == "_":
                by_letter.setdefault(first, []).append(group)
            else:
                free.append(group)
        self.by_char = {c: re.compile("|".join(gs), re.IGNORECASE) for c, gs in by_char.items()}
        self.patterns: list[re.Pattern] = []
        if by_letter:
            branches = "|".join(
                f"(?=[{re.escape(letter)}{re.escape(letter.upper())}])(?:{'|'.join(groups)})"
                for letter, groups in by_letter.items()
            )
            self.patterns.append(re.compile(rf"(?<!\w)(?:{branches})", re.IGNORECASE))
        if free:
            self.patterns.append(re.compile("|".join(free), re.IGNORECASE))

    def find(self, text: str) -> list[_Hit]:
        hits = []
        for pattern in self.patterns:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    hits.append(_Hit(self.labels[self._group(m)], m.start(), m.end()))
        if self.by_char:
            position, table = 0, self.by_char
            while position < len(text):
                pattern = table.get(text[position].casefold())
                m = pattern.match(text, position) if pattern else None
                if m and m.end() > position:
                    hits.append(_Hit(self.labels[self._group(m)], position, m.end()))
                    position = m.end()
                else:
                    position += 1
        if len(self.patterns) + bool(self.by_char) < 2:
            return hits
        hits.sort(key=lambda h: (h.start, h.start - h.end))
        kept: list[_Hit] = []
        for hit in hits:
            if not kept or hit.start >= kept[-1].end:
                kept.append(hit)
        return kept

    @staticmethod
    def _group(m: re.Match) -> int:
        name = m.lastgroup
        if name is None or not name.startswith("g"):
            # A user regular expression with its own capturing group hides ours.
            name = next(k for k, v in m.groupdict().items() if v is not None)
        return int(name[1:])


def _term_pattern(term: str, boundaries: bool, outer: bool = False) -> str:
    """The regular expression for one profile term; `outer` when the caller tests the word start."""
    if term.startswith("re:"):
        return f"(?:{term[3:]})"
    lead, trail = term.startswith("*") and len(term) > 1, term.endswith("*") and len(term) > 1
    core = term[1 if lead else 0 : len(term) - (1 if trail else 0)]
    out = []
    for token in re.split(r"(\s+)", core):
        if not token:
            continue
        if token.isspace():
            # Korean and Japanese spacing varies ("전문가 패널", "전문가패널").
            out.append(r"[\s\-‐]+" if boundaries else r"[\s\-‐]*")
        elif token == "*":
            out.append(r"\S+")
        else:
            for ch in token:
                if ch == "*":
                    out.append(r"\w*")
                elif ch == "-":
                    out.append(r"[\s\-‐]?")
                elif ch in "'’":
                    out.append("['’]")
                else:
                    out.append(re.escape(ch))
    body = "".join(out)
    if _is_acronym(core):
        body = f"(?-i:{body})"
    if lead:
        head = r"(?<!\w)\w*" if boundaries else r"\w*"
    else:
        head = r"(?<!\w)" if boundaries and not outer else ""
    tail = r"\w*" if trail else (r"(?!\w)" if boundaries else "")
    return head + body + tail


def _is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return bool(letters) and len(term) <= 6 and all(c.isupper() for c in letters)


def _terms(table: Mapping[str, object], lang: str) -> list[str]:
    value = table.get(lang, [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ProfileError(f"terms for {lang!r} must be a list of strings")
    return value


@dataclass
class _Lexicon:
    """A profile's vocabulary for one language, compiled."""

    kinds: dict[str, _Matcher]
    speakers: _Matcher
    verbs: _Matcher
    cues: _Matcher
    attribution_after: _Matcher
    attribution_before: _Matcher
    speaker_anaphora: _Matcher
    demonstratives: _Matcher
    continuation: _Matcher
    direction: _Matcher
    lang: str
    verb_final: bool


@dataclass
class Profile:
    """A topic profile: what counts as a statement, read from a TOML file."""

    name: str
    title: str
    languages: tuple[str, ...]
    forward: str
    backward: str
    threshold: float
    window: int
    context_window: int
    speaker_bonus: float
    verb_bonus: float
    identity_threshold: float
    text_weight: float
    quantity_conflict: float
    shared_quantity: float
    stance_mismatch: float
    same_core: float
    weights: dict[str, float]
    ignored_kinds: frozenset[str]
    concepts: dict[str, Concept]
    rules: tuple[Rule, ...]
    vetoes: tuple[Veto, ...]
    data: dict = field(repr=False)
    _lexicons: dict[str, _Lexicon] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, source: str | Path) -> Profile:
        """A bundled profile by name, or a TOML file by path."""
        path = Path(source)
        if path.suffix == ".toml" or path.exists():
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ProfileError(f"cannot read profile {path}: {exc}") from exc
        else:
            resource = resources.files("armswatch.tasks").joinpath(f"profiles/{source}.toml")
            if not resource.is_file():
                raise ProfileError(f"no bundled profile named {source!r}")
            raw = resource.read_bytes()
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(f"profile {source}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        meta = data.get("profile", {})
        if "name" not in meta:
            raise ProfileError("[profile] needs a name")
        relevance = data.get("relevance", {})
        identity = data.get("identity", {})
        concepts: dict[str, Concept] = {}
        for entry in data.get("concept", []):
            if "id" not in entry or "kind" not in entry:
                raise ProfileError(f"a [[concept]] needs id and kind: {entry}")
            concepts[entry["id"]] = Concept(
                id=entry["id"],
                kind=entry["kind"],
                name=entry.get("name"),
                unit=entry.get("unit"),
                implies=tuple(entry.get("implies", ())),
                weight=float(entry["weight"]) if "weight" in entry else None,
            )
        for concept in concepts.values():
            for implied in concept.implies:
                if implied not in concepts:
                    raise ProfileError(f"{concept.id} implies unknown concept {implied}")
        rules = tuple(
            Rule(r["id"], float(r["score"]), tuple(tuple(g) for g in r["all"]))
            for r in data.get("rule", [])
        )
        if not rules:
            raise ProfileError("a profile needs at least one [[rule]]")
        vetoes = tuple(
            Veto(v["id"], tuple(v["when"]), tuple(v.get("unless", ())))
            for v in data.get("veto", [])
        )
        return cls(
            name=meta["name"],
            title=meta.get("title", meta["name"]),
            languages=tuple(meta.get("languages", ["en"])),
            forward=meta.get("forward", "forward"),
            backward=meta.get("backward", "backward"),
            threshold=float(relevance.get("threshold", 0.6)),
            window=int(relevance.get("window", 3)),
            context_window=int(relevance.get("context_window", 6)),
            speaker_bonus=float(relevance.get("speaker_bonus", 0.05)),
            verb_bonus=float(relevance.get("verb_bonus", 0.04)),
            identity_threshold=float(identity.get("threshold", 0.5)),
            text_weight=float(identity.get("text_weight", 0.5)),
            quantity_conflict=float(identity.get("quantity_conflict", 0.3)),
            shared_quantity=float(identity.get("shared_quantity", 0.7)),
            stance_mismatch=float(identity.get("stance_mismatch", 0.7)),
            same_core=float(identity.get("same_core", 0.0)),
            ignored_kinds=frozenset(
                identity.get("ignore", ("other", "recipient_other", "coincidence"))
            ),
            weights={k: float(v) for k, v in identity.get("weights", {}).items()},
            concepts=concepts,
            rules=rules,
            vetoes=vetoes,
            data=data,
        )

    def lexicon(self, lang: str) -> _Lexicon:
        if lang not in self._lexicons:
            self._lexicons[lang] = self._compile(lang)
        return self._lexicons[lang]

    def _compile(self, lang: str) -> _Lexicon:
        options = self.data.get("language", {}).get(lang, {})
        bounded = bool(options.get("word_boundaries", True))
        verb_final = bool(options.get("verb_final", not bounded))
        by_kind: dict[str, list[tuple[str, object]]] = {}
        for entry in self.data.get("concept", []):
            for term in _terms(entry, lang):
                by_kind.setdefault(entry["kind"], []).append((term, entry["id"]))
        speakers = [
            (
                term,
                (entry["name"], bool(entry.get("weak", False)), bool(entry.get("generic", False))),
            )
            for entry in self.data.get("speaker", [])
            for term in _terms(entry, lang)
        ]
        verbs, cues = [], []
        for stance, table in self.data.get("stance", {}).items():
            if stance not in STANCES:
                raise ProfileError(f"unknown stance {stance!r}")
            verbs += [(t, (stance, "strong")) for t in _terms(table.get("verbs", {}), lang)]
            verbs += [(t, (stance, "weak")) for t in _terms(table.get("weak", {}), lang)]
            cues += [(t, stance) for t in _terms(table.get("cues", {}), lang)]
        attribution = self.data.get("attribution", {})
        anaphora = self.data.get("anaphora", {})
        direction = self.data.get("direction", {})

        def matcher(entries: list[tuple[str, object]]) -> _Matcher:
            return _Matcher(entries, bounded)

        def plain(table: Mapping, label: object = True) -> _Matcher:
            return matcher([(t, label) for t in _terms(table, lang)])

        return _Lexicon(
            kinds={kind: matcher(entries) for kind, entries in by_kind.items()},
            speakers=matcher(speakers),
            verbs=matcher(verbs),
            cues=matcher(cues),
            attribution_after=plain(attribution.get("after", {})),
            attribution_before=plain(attribution.get("before", {})),
            speaker_anaphora=plain(anaphora.get("speaker", {})),
            demonstratives=plain(anaphora.get("demonstrative", {})),
            continuation=plain(anaphora.get("continuation", {})),
            direction=matcher(
                [(t, self.forward) for t in _terms(direction.get("forward", {}), lang)]
                + [(t, self.backward) for t in _terms(direction.get("backward", {}), lang)]
            ),
            lang=lang,
            verb_final=verb_final,
        )

    def canonical_speaker(self, name: str, lang: str) -> str | None:
        """The canonical name a free-standing name (a transcript label) stands for."""
        for hit in self.lexicon(lang).speakers.find(name):
            if hit.start == 0 and hit.end >= len(name.rstrip(". ")) - 1:
                return hit.label[0]
        return None


# ---------------------------------------------------------------- sentence analysis

_VIEW = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "\u00a0": " ", "\u202f": " ", "‑": "-"}
)
_QUOTED = re.compile(r'"[^"]{1,400}"|«[^»]{1,400}»|「[^」]{1,400}」|『[^』]{1,400}』')
_ASIDE = re.compile(r"\s[-–—]\s[^.;]{2,200}?\s[-–—]\s|[—–][^—–.;]{2,200}?[—–]|\([^()]{1,200}\)")
_TURN = re.compile(
    r"^(?:(?:MR|MS|MRS|DR|ADM|ADMIRAL|SECRETARY|AMBASSADOR|GENERAL|SENATOR|PRESIDENT|"
    r"THE PRESIDENT|VICE PRESIDENT)\.?\s+)?([A-Z][A-Z'\-]+(?:\s[A-Z][A-Z'\-]+){0,3})\s*:\s+"
)
_QUESTION_TURN = re.compile(r"^Q[\s:.]\s*")
_COORDINATED = re.compile(r"^\s*(?:and|und|и|&|과|와|,)\s*$", re.IGNORECASE)
_BOTH = re.compile(r"(?:\bboth|\bsowohl|\bкак)\s*$", re.IGNORECASE)
_APPOSITIVE = re.compile(r"^,\s[^,;:]{2,80},\s*(?:\w+\s+){0,3}$")
_PASSIVE = re.compile(
    r"\b(?:is|are|was|were|been|being|be|wird|werden|wurde|wurden)\s+(?:\w+\s+)?$"
)
_PREPOSITION = re.compile(
    r"(?<!\w)(?:from|with|of|to|for|about|on|at|against|between|than|like|including|"
    r"von|mit|aus|für|über|gegen|zwischen|от|с|для|о|об|против|из|между)\s+(?:\S+\s+){0,3}$",
    re.IGNORECASE,
)
_CJK_PARTICLES = {
    "ko": (("은", "는"), ("이", "가", "께서"), r"(?:의|에|에서|을|를|와|과|로|으로|에게|도)$"),
    "ja": (("は",), ("が",), r"(?:の|に|を|と|で|へ|から)$"),
}


@dataclass
class _Mention:
    name: str
    start: int
    end: int
    weak: bool
    possessive: bool
    generic: bool = False


@dataclass
class _Verb:
    stance: str
    strong: bool
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class _Sentence:
    index: int
    line: int
    text: str
    view: str
    concepts: dict[str, list[tuple[int, int]]]
    implied: frozenset[str]
    kinds: set[str]
    mentions: list[_Mention]
    anaphors: list[_Hit]
    verbs: list[_Verb]
    quoted_verbs: list[_Verb]
    cues: list[_Hit]
    attribution_after: list[_Hit]
    attribution_before: list[_Hit]
    demonstrative: bool
    continuation: bool
    directions: list[_Hit]
    question: bool


def _masked(view: str) -> list[tuple[int, int]]:
    return [m.span() for m in _QUOTED.finditer(view)] + [m.span() for m in _ASIDE.finditer(view)]


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def _analyse(index: int, line: int, text: str, lex: _Lexicon, profile: Profile) -> _Sentence:
    view = text.translate(_VIEW)
    masked = _masked(view)
    concepts: dict[str, list[tuple[int, int]]] = {}
    named: set[str] = set()  # found by their own terms, not only implied
    for matcher in lex.kinds.values():
        for hit in matcher.find(view):
            named.add(hit.label)
            pending = [hit.label]
            while pending:
                cid = pending.pop()
                concepts.setdefault(cid, []).append((hit.start, hit.end))
                pending.extend(profile.concepts[cid].implies)
    kinds = {profile.concepts[cid].kind for cid in concepts}
    mentions = []
    speaker_hits = lex.speakers.find(view)
    for hit in speaker_hits:
        if _inside(hit.start, hit.end, masked):
            continue
        name, weak, generic = hit.label
        after = view[hit.end : hit.end + 2]
        possessive = after.startswith("'s") or after == "' "
        mentions.append(_Mention(name, hit.start, hit.end, weak, possessive, generic))
    taken = [(h.start, h.end) for h in speaker_hits] + [
        s for spans in concepts.values() for s in spans
    ]
    mentions += [
        m for m in _unknown_names(view, lex.lang, taken) if not _inside(m.start, m.end, masked)
    ]
    anaphors = [h for h in lex.speaker_anaphora.find(view) if not _inside(h.start, h.end, masked)]
    all_verbs = [
        _Verb(h.label[0], h.label[1] == "strong", h.start, h.end) for h in lex.verbs.find(view)
    ]
    verbs = [v for v in all_verbs if not _inside(v.start, v.end, masked)]
    quoted_verbs = [v for v in all_verbs if _inside(v.start, v.end, masked)]
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
    return _Sentence(
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


def _unknown_names(view: str, lang: str, taken: list[tuple[int, int]]) -> list[_Mention]:
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
        found.append(_Mention(" ".join(tokens), start, m.end(), False, after.startswith("'s")))
    return found


def _is_context(kinds: set[str]) -> bool:
    """Whether text with these concept kinds establishes the document's topic."""
    return {"source", "partner"} <= kinds and bool(
        kinds & {"materiel", "transfer", "enforcement", "cooperation"}
    )


# ---------------------------------------------------------------- numbers and dates

_MULTIPLIERS = {
    "thousand": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "k": 1e3,
    "tausend": 1e3, "million.": 1e6, "millionen": 1e6, "mio": 1e6, "mio.": 1e6,
    "milliarde": 1e9, "milliarden": 1e9, "mrd": 1e9, "mrd.": 1e9,
    "тыс": 1e3, "тыс.": 1e3, "тысяча": 1e3, "тысячи": 1e3, "тысяч": 1e3, "тысячу": 1e3,
    "млн": 1e6, "млн.": 1e6, "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6,
    "млрд": 1e9, "млрд.": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "twenty": 20,
    "ein": 1, "eine": 1, "einer": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "zwanzig": 20,
    "один": 1, "одна": 1, "одну": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
    "трех": 3, "трёх": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8,
    "девять": 9, "десять": 10,
}  # fmt: skip
_DIGITS = r"\d{1,3}(?:(?:,|\.|\u00a0|\u202f| )\d{3})+(?![\d])|\d+"
_MULT_WORDS = "|".join(sorted((re.escape(k) for k in _MULTIPLIERS), key=len, reverse=True))
_NUMERIC = re.compile(
    rf"(?<![\w.,\-‐])({_DIGITS})(?:([.,])(\d+))?(?:\s?({_MULT_WORDS})(?!\w))?", re.IGNORECASE
)
_WORDED = re.compile(
    rf"(?<!\w)(?:({'|'.join(_NUMBER_WORDS)})\s+)?({_MULT_WORDS})(?!\w)", re.IGNORECASE
)
_CJK_NUMBER = re.compile(r"(?<![\w\-‐])(?:(?:(\d[\d,.]*)?\s?([억만천億万千]))+\s?\d*|\d[\d,]*)")
_CJK_UNITS = {"억": 1e8, "億": 1e8, "만": 1e4, "万": 1e4, "천": 1e3, "千": 1e3}
_NOT_A_COUNT = re.compile(
    r"\s?-?\s?(?:mm\b|мм|㎜|밀리|ミリ|millimet|Millimeter|km\b|kilomet|Kilometer|км|킬로|"
    r"%|percent|per cent|Prozent|процент|퍼센트|년|年|월|月|일\b|日)",
    re.IGNORECASE,
)
_UNIT_STOP = re.compile(
    r"(?<!\w)(?:of|with|filled|carrying|for|mit|von|für|с|со|для|из)(?!\w)", re.IGNORECASE
)
_DATE_WORD = re.compile(
    r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|январ|феврал|март|апрел|ма[йяе]|июн|июл|август|сентябр|октябр|ноябр|декабр)",
    re.IGNORECASE,
)
_VAGUE_BEFORE = re.compile(r"(?:^|\s)(?:более|свыше|около|почти|порядка|примерно|до)\s$")


def _parse_digits(digits: str, sep: str | None, decimals: str | None) -> float:
    value = float(re.sub(r"[^\d]", "", digits))
    if sep and decimals:
        value += float("0." + decimals)
    return value


def _quantities(view: str, lang: str) -> list[tuple[float, int, int]]:
    """Numbers in a sentence that could count things: (value, start, end)."""
    found: list[tuple[float, int, int]] = []
    if lang in ("ko", "ja", "zh"):
        for m in _CJK_NUMBER.finditer(view):
            text = m.group(0).strip()
            if not text or _NOT_A_COUNT.match(view, m.end()):
                continue
            if text in _CJK_UNITS and not (m.start() == 0 or not view[m.start() - 1].isalnum()):
                continue
            value = _cjk_value(text)
            if value:
                found.append((value, m.start(), m.end()))
        return found
    for m in _NUMERIC.finditer(view):
        digits, sep, decimals, mult = m.groups()
        if not mult and _NOT_A_COUNT.match(view, m.end()):
            continue
        value = _parse_digits(digits, sep, decimals)
        if mult:
            value *= _MULTIPLIERS[mult.lower()]
        found.append((value, m.start(), m.end()))
    taken = [(s, e) for _, s, e in found]
    for m in _WORDED.finditer(view):
        if any(s <= m.start() < e for s, e in taken):
            continue
        word, mult = m.group(1), m.group(2).lower()
        if word is None:
            # "thousands of", "тысячи контейнеров": a rough order, not a number,
            # unless a bound word makes the singular reading certain.
            if mult in ("тысяча", "тысячу", "миллион") or (
                mult in ("тысячи", "миллиона") and _VAGUE_BEFORE.search(view[: m.start()])
            ):
                found.append((_MULTIPLIERS[mult], m.start(), m.end()))
            continue
        found.append((_NUMBER_WORDS[word.lower()] * _MULTIPLIERS[mult], m.start(), m.end()))
    return sorted(found, key=lambda q: q[1])


def _cjk_value(text: str) -> float:
    total, section = 0.0, 0.0
    for number, unit in re.findall(r"(\d[\d,.]*)?\s?([억만천億万千])", text):
        n = float(number.replace(",", "")) if number else (0.0 if unit in "억만億万" else 1.0)
        if unit in ("천", "千"):
            section += n * 1e3
        else:
            total += (section + n) * _CJK_UNITS[unit]
            section = 0.0
    tail = re.search(r"(\d[\d,]*)\s*$", text)
    if tail and not re.search(r"[억만천億万千]\s*$", text):
        section += float(tail.group(1).replace(",", ""))
    return total + section


_MONTHS = {
    "en": ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"],
    "de": ["januar|jänner", "februar", "märz", "april", "mai", "juni", "juli", "august",
           "september", "oktober", "november", "dezember"],
    "ru": ["январ", "феврал", "март", "апрел", "ма[йяе]", "июн", "июл", "август",
           "сентябр", "октябр", "ноябр", "декабр"],
}  # fmt: skip
_MONTH_NAMES = [m.split("|")[0].capitalize() for m in _MONTHS["en"]]
_SINCE = re.compile(r"(?:since|seit|с|от)\s+$|^\s*(?:이후|부터|以降|から)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_CJK_MONTH = re.compile(r"(?<!\d)(1[0-2]|0?[1-9])\s?[월月]")


def _periods(view: str, lang: str) -> tuple[str | None, list[str]]:
    """The first period a sentence states, and all month/year identity features."""
    months: list[tuple[int, int, int]] = []  # (month, start, end)
    if lang in _MONTHS:
        for number, stem in enumerate(_MONTHS[lang], start=1):
            suffix = r"\w*" if lang == "ru" else ""
            pattern = rf"(?<!\w)(?:{stem}){suffix}(?!\w)"
            flags = re.IGNORECASE if lang != "en" or number != 5 else 0
            if lang == "en" and number == 5:
                pattern = r"(?<!\w)May(?!\w)"  # "may" the modal verb is not a month
            months += [(number, m.start(), m.end()) for m in re.finditer(pattern, view, flags)]
    else:
        months += [(int(m.group(1)), m.start(), m.end()) for m in _CJK_MONTH.finditer(view)]
    years = [(int(m.group(1)), m.start(), m.end()) for m in _YEAR.finditer(view)]
    since = None
    features = [f"month:{m:02d}" for m, _, _ in months] + [f"year:{y}" for y, _, _ in years]
    first = None
    if months:
        month, start, end = min(months, key=lambda m: m[1])
        year = next((y for y, s, _ in years if 0 <= s - end <= 8 or 0 <= start - s <= 8), None)
        first = f"{year}-{month:02d}" if year else _MONTH_NAMES[month - 1]
        since = _SINCE.search(view[max(0, start - 8) : start]) or _SINCE.search(view[end : end + 4])
    elif years:
        year, start, end = years[0]
        first = str(year)
        since = _SINCE.search(view[max(0, start - 8) : start]) or _SINCE.search(view[end : end + 4])
    if first and since:
        first = f"since {first}"
    return first, features


# ---------------------------------------------------------------- identity

_STOPWORDS = {
    "en": "the a an and or of to in on for with by from at as is are was were be been has have "
    "had that this these those it its their they he she we our which who will would could "
    "should may also only than then there into over about after before more most such not but",
    "de": "der die das den dem des ein eine einer eines einem und oder von zu im in am an auf für "
    "mit bei aus als ist sind war waren sein hat haben hatte dass diese dieser dieses es sie er "
    "wir auch nur nicht sich wie nach über vor mehr",
    "ru": "и в во на с со по к из у о об от до за для что это эти этот как а но не же ли бы был "
    "была были быть он она они мы его ее её их также только более при",
}
_STOP = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_KO_PARTICLE = re.compile(
    r"(?:으로부터|로부터|에서는|에게서|으로는|에서|에게|으로|라고|다고|이라|라며|다며|"
    r"은|는|이|가|을|를|에|의|로|과|와|도|만|께서)$"
)


def _tokens(text: str, lang: str) -> frozenset[str]:
    """Content lemmas (or stems) for same-language overlap; numbers are left to the facts."""
    words = _WORD.findall(text.casefold())
    if lang == "ko":
        stems = {_KO_PARTICLE.sub("", w) for w in words}
        return frozenset(s for s in stems if len(s) >= 2)
    if lang in ("ja", "zh"):
        chars = "".join(words)
        return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))
    stop = _STOP.get(lang, frozenset())
    out = set()
    for word in words:
        if len(word) < 3 or word in stop or word in _MULTIPLIERS or word in _NUMBER_WORDS:
            continue
        try:
            lemma = simplemma.lemmatize(word, lang=lang) if lang in ("en", "de", "ru") else word
        except ValueError:
            lemma = word
        out.add(lemma.casefold())
    return frozenset(out)


def _number_key(value: float) -> str:
    """A number rounded to two significant digits: 6,700 and 6.700 and 6700 agree."""
    if value <= 0:
        return "0"
    magnitude = math.floor(math.log10(value))
    rounded = round(value, 1 - magnitude)
    return f"{rounded:.{max(0, 1 - magnitude)}f}"


@dataclass(frozen=True)
class _Signature:
    """What identity compares: canonical speaker, stance, weighted features, lemmas."""

    speaker: str
    stance: str
    lang: str | None
    features: dict[str, float]
    tokens: frozenset[str]
    quantities: dict[str, str]  # unit → number key

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": SIGNATURE_VERSION,
                "speaker": self.speaker,
                "stance": self.stance,
                "lang": self.lang,
                "features": dict(sorted(self.features.items())),
                "tokens": sorted(self.tokens),
                "quantities": dict(sorted(self.quantities.items())),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def loads(cls, raw: str) -> _Signature | None:
        try:
            data = json.loads(raw)
            if data.get("v") != SIGNATURE_VERSION:
                return None
            return cls(
                speaker=str(data["speaker"]),
                stance=str(data["stance"]),
                lang=data.get("lang"),
                features={str(k): float(v) for k, v in data["features"].items()},
                tokens=frozenset(data.get("tokens", ())),
                quantities={str(k): str(v) for k, v in data.get("quantities", {}).items()},
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def speaker_key(speaker: str | None) -> str:
    """The identity block a speaker belongs to; the outlet's own voice is the empty key."""
    return normalize(speaker) if speaker else ""


@dataclass(frozen=True, slots=True)
class _Entry:
    statement_id: str
    signature: _Signature


@dataclass(frozen=True, slots=True)
class _Match:
    statement_id: str
    similarity: float
    shared: tuple[str, ...]


class StatementIndex:
    """Known statements, blocked by speaker and posted by feature so lookups stay small."""

    def __init__(
        self,
        threshold: float,
        text_weight: float = 0.5,
        quantity_conflict: float = 0.3,
        shared_quantity: float = 0.7,
        stance_mismatch: float = 0.7,
        same_core: float = 0.0,
    ) -> None:
        self.threshold = threshold
        self.text_weight = text_weight
        self.quantity_conflict = quantity_conflict
        self.shared_quantity = shared_quantity
        self.stance_mismatch = stance_mismatch
        self.same_core = same_core
        self._entries: list[_Entry] = []
        self._ids: set[str] = set()
        self._postings: dict[tuple[str, str], list[int]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, statement_id: object) -> bool:
        return statement_id in self._ids

    def add(self, statement_id: str, signature: _Signature) -> None:
        position = len(self._entries)
        self._entries.append(_Entry(statement_id, signature))
        self._ids.add(statement_id)
        for feature in signature.features:
            self._postings.setdefault((signature.speaker, feature), []).append(position)
        self._postings.setdefault((signature.speaker, ""), []).append(position)

    def best(self, signature: _Signature) -> _Match | None:
        """The most similar known statement of the same speaker, whatever its similarity."""
        candidates: set[int] = set()
        for feature, weight in signature.features.items():
            if weight >= 0.5:
                candidates.update(self._postings.get((signature.speaker, feature), ()))
        best: _Match | None = None
        for position in sorted(candidates):
            entry = self._entries[position]
            similarity, shared = self.similarity(signature, entry.signature)
            if best is None or similarity > best.similarity + 1e-9:
                best = _Match(entry.statement_id, round(similarity, 4), shared)
        return best

    def similarity(self, a: _Signature, b: _Signature) -> tuple[float, tuple[str, ...]]:
        """Weighted feature overlap, mixed with lemma overlap in one language, then
        adjusted: other numbers for the same unit or another reporting act lower it,
        the same count of the same thing raises it."""
        shared = tuple(sorted(set(a.features) & set(b.features)))
        inter = sum(min(a.features[k], b.features[k]) for k in shared)
        union = sum(
            max(a.features.get(k, 0.0), b.features.get(k, 0.0)) for k in {*a.features, *b.features}
        )
        score = inter / union if union else 0.0
        overlap = None
        if a.lang == b.lang and a.tokens and b.tokens:
            overlap = len(a.tokens & b.tokens) / len(a.tokens | b.tokens)
            score = (1 - self.text_weight) * score + self.text_weight * overlap
        if a.stance != b.stance:
            score *= self.stance_mismatch
        conflict = any(u in b.quantities and b.quantities[u] != n for u, n in a.quantities.items())
        agree = any(b.quantities.get(u) == n for u, n in a.quantities.items())
        if conflict and not (overlap is not None and overlap >= 0.8):
            # Another figure is another claim, unless the sentence is otherwise the
            # same (a corrected figure in a new version of the article).
            score *= self.quantity_conflict
        elif agree and a.stance == b.stance:
            score = max(score, self.shared_quantity)
        elif self.same_core and a.stance == b.stance and _core(a) == _core(b):
            # Nothing distinctive tells them apart: "Moscow and Pyongyang deny any
            # arms trade" and "both have denied the accusations" are one denial.
            score = max(score, self.same_core)
        return score, shared


def _core(signature: _Signature) -> frozenset[str]:
    """The distinctive features of a signature: what it claims beyond its speaker's act."""
    return frozenset(
        k
        for k, w in signature.features.items()
        if w >= 0.5 and not k.startswith(("stance:", "cue:"))
    )


def statement_id_for(speaker: str | None, text: str) -> str:
    """The id of a statement first seen as `text` from `speaker`: stable across runs."""
    digest = hashlib.sha256(f"{speaker_key(speaker)}\x1f{normalize(text)}".encode()).hexdigest()
    return f"st_{digest[:20]}"


# ---------------------------------------------------------------- the detector


@dataclass
class _Turn:
    speaker: str | None = None
    question: bool = False


@dataclass
class _DocState:
    last_speaker: str | None = None
    statements: list[tuple[_Sentence, Detection]] = field(default_factory=list)


@dataclass(frozen=True)
class _Reading:
    """What a statement claims in numbers, and the identity features that follow."""

    facts: tuple[Fact, ...]
    quantities: dict[str, str]  # unit → number key
    periods: list[str]  # month:MM / year:YYYY features
    direction: str | None


@dataclass
class _Resolution:
    speaker: str | None
    how: str
    anchor: _Verb | None = None


class Detector:
    """Finds statements in documents and keeps the index that gives them identities."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.profile_name = profile.name
        self.index = StatementIndex(
            profile.identity_threshold,
            profile.text_weight,
            profile.quantity_conflict,
            profile.shared_quantity,
            profile.stance_mismatch,
            profile.same_core,
        )

    @classmethod
    def from_profile(cls, profile: str | Path = "nk_russia") -> Detector:
        """A detector for a bundled profile name or a path to a TOML profile."""
        return cls(Profile.load(profile))

    def load_known(self, statements: Iterable[KnownStatement]) -> None:
        """Seed the identity index with statements the warehouse already holds."""
        for known in statements:
            if known.statement_id in self.index:
                continue
            signature = _Signature.loads(known.signature)
            if signature is None:
                signature = self._signature_of_text(known)
            self.index.add(known.statement_id, signature)

    # -- detection

    def detect(
        self, doc_id: str, text: str, lang: str | None = None, *, title: str | None = None
    ) -> list[Detection]:
        """The statements in one document, in reading order, with identities assigned."""
        lang = self._language(text, lang)
        lex = self.profile.lexicon(lang)
        sentences: list[_Sentence] = []
        turns: list[_Turn] = []
        turn = _Turn()
        for line_no, raw in enumerate(text.splitlines()):
            line = raw.strip()
            if not line:
                continue
            if _QUESTION_TURN.match(line):
                turn = _Turn(question=True)
            elif label := _TURN.match(line):
                name = label.group(1)
                turn = _Turn(self.profile.canonical_speaker(name, lang) or name.title())
            for sentence in split_sentences(line, lang):
                sentences.append(_analyse(len(sentences), line_no, sentence, lex, self.profile))
                turns.append(turn)
        # The topic is set near a sentence: by one topical sentence, by two
        # neighbours together ("And I would say the same about North Korea. We know
        # they're providing ammunition to Russia."), or by the title. Near, because a
        # long briefing moves on to other topics.
        topical = [_is_context(s.kinds) for s in sentences]
        for i, (a, b) in enumerate(itertools.pairwise(sentences)):
            if _is_context(a.kinds | b.kinds):
                topical[i] = topical[i + 1] = True
        titled = bool(title) and _is_context(_analyse(-1, -1, title, lex, self.profile).kinds)
        reach = self.profile.context_window
        state = _DocState()
        detections = []
        for sentence, sentence_turn in zip(sentences, turns, strict=True):
            i = sentence.index
            context = titled or any(topical[max(0, i - reach) : i + reach + 1])
            resolution = self._speaker(sentence, state, sentence_turn, lex)
            if resolution.how in ("explicit", "attribution", "turn") and resolution.speaker:
                state.last_speaker = resolution.speaker
            if sentence_turn.question:
                continue
            stance = self._stance(sentence, resolution, state, lex)
            decision = self._relevance(sentence, stance, context, state, resolution)
            if decision is None:
                continue
            rule, score, atoms = decision
            if resolution.speaker:
                score += self.profile.speaker_bonus
            if resolution.anchor and resolution.anchor.strong:
                score += self.profile.verb_bonus
            detection = self._identify(
                doc_id, lang, sentence, resolution, stance, min(score, 0.99), rule, atoms, state
            )
            state.statements.append((sentence, detection))
            detections.append(detection)
        return detections

    def _language(self, text: str, lang: str | None) -> str:
        lang = lang.lower().split("-")[0] if lang else detect_language(text)
        if lang in self.profile.languages:
            return lang
        sample = text[:2000]
        for script, code in (
            (r"[\uac00-\ud7a3]", "ko"),
            (r"[\u3040-\u30ff]", "ja"),
            (r"[\u0400-\u04ff]", "ru"),
        ):
            if re.search(script, sample) and code in self.profile.languages:
                return code
        return "en" if "en" in self.profile.languages else self.profile.languages[0]

    # -- relevance

    def _relevance(
        self, sentence: _Sentence, stance: str, context: bool, state: _DocState, r: _Resolution
    ) -> tuple[str, float, list[str]] | None:
        atoms = set(sentence.kinds) | {f"id:{cid}" for cid in sentence.concepts}
        atoms.add(f"stance:{stance}")
        if r.speaker is None:
            atoms.add("@outlet")
        elif r.how != "turn" and any(
            d.speaker == r.speaker and sentence.index - s.index <= 2 for s, d in state.statements
        ):
            # The same speaker's previous statement is one or two sentences back.
            atoms.add("@continued")
        if context:
            atoms.add("@context")
        if sentence.demonstrative:
            atoms.add("@anaphor")
        if sentence.question:
            atoms.add("@question")
        if any(sentence.index - s.index <= self.profile.window for s, _ in state.statements):
            atoms.add("@previous")
        for veto in self.profile.vetoes:
            if all(a in atoms for a in veto.when) and not any(a in atoms for a in veto.unless):
                return None
        best: Rule | None = None
        for rule in self.profile.rules:
            matches = all(any(a in atoms for a in group) for group in rule.groups)
            if matches and (best is None or rule.score > best.score):
                best = rule
        if best is None or best.score < self.profile.threshold:
            return None
        return best.id, best.score, sorted(atoms)

    # -- speaker

    def _speaker(self, s: _Sentence, state: _DocState, turn: _Turn, lex: _Lexicon) -> _Resolution:
        masked = _masked(s.view)
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

        def from_anaphor() -> str | None:
            # Inside a transcript turn everything is the turn speaker's own words.
            return turn.speaker or state.last_speaker

        if not lex.verb_final:
            # The subject right before a reporting verb: "X said", "X has strongly
            # condemned", "X, the NSC spokesman, said"; a pronoun there is the last speaker.
            for verb in verbs:
                before = [
                    m for m in mentions if m.end <= verb.start and subject_gap(m.end, verb.start)
                ]
                pronoun = [
                    a
                    for a in s.anaphors
                    if a.end <= verb.start and subject_gap(a.end, verb.start, 24)
                ]
                nearest_m = max(before, key=lambda m: m.end, default=None)
                nearest_a = max(pronoun, key=lambda a: a.end, default=None)
                if nearest_m and (not nearest_a or nearest_m.end >= nearest_a.end):
                    return _Resolution(self._subject(s, mentions, nearest_m), "explicit", verb)
                if nearest_a and from_anaphor():
                    return _Resolution(from_anaphor(), "anaphor", verb)
        else:
            anchor = verbs[-1] if verbs else None
            roles = [(m, _cjk_role(s.view, m, lex.lang)) for m in mentions]
            # A named topic (은/는, は) speaks; a country marked only as subject (이/가,
            # が) is usually the subject of the reported clause ("북한이 … 보냈다고"),
            # and a country topic yields to a named subject after it ("北朝鮮は…と
            # 米政府が明らかにした").
            topics = [m for m, role in roles if role == "topic"]
            subjects = [m for m, role in roles if role == "subject" and not m.weak]
            named = [m for m in topics if not m.weak]
            if named:
                return _Resolution(self._subject(s, mentions, named[0]), "explicit", anchor)
            if subjects and anchor:
                return _Resolution(subjects[-1].name, "explicit", anchor)
            if topics:
                return _Resolution(self._subject(s, mentions, topics[0]), "explicit", anchor)
            if any(a.start <= 8 for a in s.anaphors) and from_anaphor():
                return _Resolution(from_anaphor(), "anaphor", anchor)

        # "according to X", "an investigation by X", "X에 따르면", "dem Pentagon zufolge".
        for cue in s.attribution_after:
            after = [m for m in mentions if 0 <= m.start - cue.end <= 60]
            if after:
                return _Resolution(after[0].name, "attribution", _verb_at(verbs, cue))
            if any(0 <= a.start - cue.end <= 4 for a in s.anaphors) and from_anaphor():
                return _Resolution(from_anaphor(), "anaphor", _verb_at(verbs, cue))
        for cue in s.attribution_before:
            before = [m for m in mentions if 0 <= cue.start - m.end <= 12]
            if before:
                return _Resolution(before[-1].name, "attribution", _verb_at(verbs, cue))

        if not lex.verb_final:
            # Inverted order after the reported words: "…, said John Kirby",
            # "…, заявил Песков", "…, betonten sie"; German also after a fronted
            # object ("Scharfe Kritik übten die Minister").
            for verb in verbs:
                head = s.view[: verb.start].rstrip()
                if not head.endswith((",", '"', "»", "“", "—", "-")) and lex.lang != "de":
                    continue
                after = [
                    m for m in mentions
                    if 0 <= m.start - verb.end <= 12
                    and len(gap(verb.end, m.start).split()) <= 1
                    and not re.search(r"[,;:]", gap(verb.end, m.start))
                ]  # fmt: skip
                if after:
                    return _Resolution(after[0].name, "explicit", verb)
                # "…, fügte er hinzu": the pronoun may sit inside a separable verb.
                if any(-len(verb) < a.start - verb.end <= 4 for a in s.anaphors) and from_anaphor():
                    return _Resolution(from_anaphor(), "anaphor", verb)

        # The subject at the head of a clause before the first reporting verb.
        if first_verb:
            for m in mentions:
                if m.weak or m.end > first_verb.start:
                    continue
                clause = re.split(r"[,;:]", s.view[: m.start])[-1]
                if len(clause.split()) <= 4 and not _PREPOSITION.search(clause):
                    return _Resolution(m.name, "explicit", first_verb)
            if any(a.start <= max(first_verb.start, 12) for a in s.anaphors) and from_anaphor():
                return _Resolution(from_anaphor(), "anaphor", first_verb)
        if turn.speaker:
            return _Resolution(turn.speaker, "turn", first_verb)
        if s.continuation and state.statements:
            previous, detection = state.statements[-1]
            distance = s.index - previous.index
            if (previous.line == s.line and distance <= self.profile.window) or distance <= 2:
                return _Resolution(detection.speaker, "continuation", first_verb)
        return _Resolution(None, "outlet", first_verb)

    @staticmethod
    def _subject(s: _Sentence, mentions: list[_Mention], m: _Mention) -> str:
        """The speaker a subject mention stands for, looking around it.

        "Moscow and Pyongyang have denied" is a joint speaker; in "DIA analysts
        concluded" the agency, not the generic "analysts", speaks; a country right
        before a German participle ("… an Russland verurteilt") is its object, and
        the clause-initial speaker is meant.
        """
        earlier = [e for e in mentions if e.end <= m.start]
        if m.generic and earlier and m.start - earlier[-1].end <= 1:
            return earlier[-1].name
        if earlier and _COORDINATED.match(s.view[earlier[-1].end : m.start]):
            head = s.view[: earlier[-1].start]
            if (
                not head.strip()
                or _BOTH.search(head)
                or len(re.split(r"[,;:]", head)[-1].split()) <= 2
            ):
                names = sorted({earlier[-1].name, m.name})
                return " and ".join(names) if len(names) > 1 else m.name
        if m.weak:
            for e in earlier:
                if e.weak:
                    continue
                clause = re.split(r"[,;:]", s.view[: e.start])[-1]
                if len(clause.split()) <= 3 and not _PREPOSITION.search(clause):
                    return e.name
        return m.name

    # -- stance

    def _stance(self, s: _Sentence, r: _Resolution, state: _DocState, lex: _Lexicon) -> str:
        anchor = r.anchor
        if anchor and anchor.strong:
            return anchor.stance
        strong = [v for v in s.verbs if v.strong]
        if anchor:
            # A strong verb governed by another subject ("Kirby said North Korea
            # denied …") is that subject's act, not the speaker's.
            def free(v: _Verb) -> bool:
                lo, hi = sorted((anchor.end, v.start))
                return not any(lo <= m.start < hi for m in s.mentions)

            # Under a neutral verb only a stronger act counts: an embedded "reports"
            # or "shows" is the reported clause's own verb.
            strong = [
                v for v in strong if v.start != anchor.start and free(v) and v.stance != "assert"
            ]
            if any(hit.label == "deny" for hit in s.cues):
                return "deny"
        if not strong and s.view.lstrip().startswith(('"', "«", "„", "“")):
            # "“We condemn the DPRK for …,” Kirby told reporters."
            strong = [v for v in s.quoted_verbs if v.strong]
        if strong:
            chosen = strong[-1] if lex.verb_final else min(strong, key=lambda v: v.start)
            return chosen.stance
        cue_stances = {hit.label for hit in s.cues}
        for stance in ("deny", "demand", "condemn"):
            if stance in cue_stances:
                return stance
        return "assert"

    # -- facts and identity

    def _facts(self, s: _Sentence, lang: str) -> _Reading:
        concepts = self.profile.concepts
        votes: dict[str, int] = {}
        for hit in s.directions:
            votes[hit.label] = votes.get(hit.label, 0) + 1
        if votes:
            first = {h.label: h.start for h in reversed(s.directions)}
            direction = max(votes, key=lambda d: (votes[d], -first[d]))
        elif "source" in s.kinds and s.kinds & {"transfer", "materiel"}:
            direction = self.profile.forward
        else:
            direction = None
        period, period_features = _periods(s.view, lang)
        # The most specific weapon names: drop a generic one its specific form implies.
        named = {
            cid
            for cid in s.concepts
            if concepts[cid].name and concepts[cid].kind in ("materiel", "personnel")
        }
        implied = {i for cid in named for i in _closure(concepts, cid) if i != cid}
        weapons = sorted(named - implied, key=lambda cid: s.concepts[cid][0][0])
        units = [
            (concepts[cid], start, end)
            for cid in s.concepts
            if concepts[cid].unit
            for start, end in s.concepts[cid]
        ]
        facts: list[Fact] = []
        quantities: dict[str, str] = {}
        used: set[str] = set()
        for value, start, end in _quantities(s.view, lang):
            unit = _unit_near(s.view, units, start, end, lang)
            if unit is None:
                continue
            weapon = unit.name or _nearest_name(concepts, s, weapons, start)
            if unit.name and unit.id not in weapons:
                weapon = _nearest_name(concepts, s, weapons, start) or unit.name
            facts.append(Fact(weapon, value, unit.unit, direction, period))
            quantities.setdefault(unit.unit, _number_key(value))
            if weapon:
                used.add(weapon)
        for cid in weapons:
            name = concepts[cid].name
            if name not in used and not (name == "arms" and (facts or len(weapons) > 1)):
                facts.append(Fact(name, None, None, direction, period))
        if not facts and direction and s.kinds & {"transfer", "materiel"}:
            facts.append(Fact(None, None, None, direction, period))
        return _Reading(tuple(facts), quantities, period_features, direction)

    def _features(
        self,
        s: _Sentence,
        stance: str,
        quantities: dict[str, str],
        periods: list[str],
        direction: str | None = None,
    ) -> dict[str, float]:
        weights = self.profile.weights
        features: dict[str, float] = {}
        names = [(m.start, m.end) for m in s.mentions if not m.weak]
        for cid, spans in s.concepts.items():
            concept = self.profile.concepts[cid]
            kind = concept.kind
            if kind in self.profile.ignored_kinds:
                continue
            # "Sanctions" in "Multilateral Sanctions Monitoring Team" names the
            # speaker; it says nothing about the claim.
            if all(_inside(a, b, names) for a, b in spans):
                continue
            # An implied concept ("ammunition" under "shells") is half a witness.
            weight = concept.weight if concept.weight is not None else weights.get(kind, 1.0)
            features[cid] = weight * (0.5 if cid in s.implied else 1.0)
        features[f"stance:{stance}"] = weights.get("stance", 0.6)
        for hit in s.cues:
            features[f"cue:{hit.label}"] = weights.get("cue", 0.6)
        for unit, number in quantities.items():
            features[f"quantity:{unit}:{number}"] = weights.get("quantity", 2.0)
        for feature in periods:
            features[feature] = weights.get("period", 1.0)
        if direction and weights.get("direction", 0.0) > 0:
            features[f"direction:{direction}"] = weights["direction"]
        return features

    def _identify(
        self,
        doc_id: str,
        lang: str,
        s: _Sentence,
        r: _Resolution,
        stance: str,
        score: float,
        rule: str,
        atoms: list[str],
        state: _DocState,
    ) -> Detection:
        reading = self._facts(s, lang)
        signature = _Signature(
            speaker=speaker_key(r.speaker),
            stance=stance,
            lang=lang,
            features=self._features(
                s, stance, reading.quantities, reading.periods, reading.direction
            ),
            tokens=_tokens(s.text, lang),
            quantities=reading.quantities,
        )
        match = self.index.best(signature)
        own_id = statement_id_for(r.speaker, s.text)
        evidence: dict[str, object] = {"rule": rule, "speaker_from": r.how, "atoms": atoms}
        if match and match.similarity >= self.index.threshold:
            statement_id, is_new = match.statement_id, False
            evidence["identity"] = {
                "matched": match.statement_id,
                "similarity": match.similarity,
                "shared": list(match.shared),
            }
        else:
            statement_id = own_id
            is_new = own_id not in self.index
            evidence["identity"] = {
                "matched": None,
                "nearest": match.statement_id if match else None,
                "similarity": match.similarity if match else 0.0,
            }
            if is_new:
                self.index.add(statement_id, signature)
        answers = None
        if stance == "deny":
            for previous, detection in reversed(state.statements):
                if s.index - previous.index > self.profile.window:
                    break
                if detection.speaker != r.speaker:
                    answers = detection.statement_id
                    break
        return Detection(
            doc_id=doc_id,
            sentence_index=s.index,
            text=s.text,
            speaker=r.speaker,
            stance=stance,
            score=round(score, 3),
            statement_id=statement_id,
            is_new=is_new,
            lang=lang,
            signature=signature.dumps(),
            facts=reading.facts,
            evidence=evidence,
            answers_statement_id=answers,
        )

    def _signature_of_text(self, known: KnownStatement) -> _Signature:
        """A signature rebuilt from a stored statement's text when its own is unusable."""
        lang = self._language(known.text, known.lang)
        s = _analyse(0, 0, known.text, self.profile.lexicon(lang), self.profile)
        reading = self._facts(s, lang)
        return _Signature(
            speaker=speaker_key(known.speaker),
            stance=known.stance,
            lang=lang,
            features=self._features(
                s, known.stance, reading.quantities, reading.periods, reading.direction
            ),
            tokens=_tokens(known.text, lang),
            quantities=reading.quantities,
        )


def _cjk_role(view: str, m: _Mention, lang: str) -> str | None:
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


def _verb_at(verbs: list[_Verb], cue: _Hit) -> _Verb | None:
    overlapping = [
        v for v in verbs if v.start <= cue.start < v.end or cue.start <= v.start < cue.end
    ]
    return overlapping[0] if overlapping else (verbs[0] if verbs else None)


def _closure(concepts: dict[str, Concept], cid: str) -> set[str]:
    seen, pending = set(), [cid]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(concepts[current].implies)
    return seen


def _unit_near(
    view: str, units: list[tuple[Concept, int, int]], start: int, end: int, lang: str
) -> Concept | None:
    """The counted noun of a number.

    A noun right after the number is it ("9 million rounds of …", "neun Millionen
    Schuss …"); otherwise the last noun of the phrase that follows ("nine million
    artillery and rocket rounds"). Korean and Japanese put the noun first
    ("포탄 100만 발", "컨테이너 약 6천700개").
    """
    if lang in ("ko", "ja", "zh"):
        before = [u for u in units if u[2] <= start and start - u[2] <= 8]
        if before:
            return max(before, key=lambda u: u[2])[0]
    chosen = None
    for concept, u_start, _ in sorted((u for u in units if u[1] >= end), key=lambda u: u[1]):
        gap = view[end:u_start]
        if len(gap) > 40 or len(gap.split()) > 4 or re.search(r"[\d.,;:()]", gap):
            break
        if _DATE_WORD.match(gap.strip()):
            return None
        if not gap.strip():
            return concept
        if chosen is not None and _UNIT_STOP.search(gap):
            break
        chosen = concept
    return chosen


def _nearest_name(
    concepts: dict[str, Concept], s: _Sentence, weapons: list[str], at: int
) -> str | None:
    if not weapons:
        return None
    nearest = min(weapons, key=lambda cid: min(abs(a - at) for a, _ in s.concepts[cid]))
    return concepts[nearest].name


def detect_documents(docs: Iterable[Mapping], detector: Detector) -> Iterator[dict]:
    """The `armswatch detect` contract: documents in, one row per statement out."""
    for doc in docs:
        for found in detector.detect(
            str(doc["id"]), doc.get("text") or "", doc.get("lang"), title=doc.get("title")
        ):
            yield {
                "doc_id": found.doc_id,
                "text": found.text,
                "speaker": found.speaker,
                "stance": found.stance,
                "score": found.score,
                "statement_id": found.statement_id,
                "is_new": found.is_new,
            }


def _read_jsonl(stream: Iterable[str]) -> Iterator[dict]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"line {number}: not JSON ({exc})") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Detect statements in JSON Lines documents.")
    parser.add_argument("input", nargs="?", default="-", help="JSONL file, or - for stdin")
    parser.add_argument("--profile", default="nk_russia", help="bundled profile name or TOML path")
    args = parser.parse_args(argv)
    detector = Detector.from_profile(args.profile)
    if args.input == "-":
        rows = detect_documents(_read_jsonl(sys.stdin), detector)
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    with open(args.input, encoding="utf-8") as handle:
        for row in detect_documents(_read_jsonl(handle), detector):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
