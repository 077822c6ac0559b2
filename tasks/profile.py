"""Topic profiles: the TOML that defines a statement, loaded, checked and compiled per language."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from itertools import repeat
from pathlib import Path
from re import _constants as _re_constants
from re import _parser as _re_parser

import ahocorasick

from armswatch.tasks.models import STANCES


class ProfileError(Exception):
    """A topic profile that cannot be loaded or is inconsistent."""


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
class Hit:
    """One term found in a text: the label it stands for and where."""

    label: object
    start: int
    end: int


class Matcher:
    """Many terms; each hit says which label it found.

    Python's `re` tries every alternative of an alternation at every position,
    which made term scans most of the cost of reading a page. So each term keeps
    a pattern of its own, and an Aho-Corasick automaton over every term's literal
    letters (lower-cased; for a regular expression, strings its parse says every
    match holds) finds, in one C pass, the few terms a text can hold; only those
    are run, and only where their letters occur. A regular expression with no
    such strings is scanned as part of one alternation. Hits are leftmost first;
    at one position the longer one wins, and of two as long the longer term's.
    """

    def __init__(self, entries: list[tuple[str, object]], boundaries: bool) -> None:
        ordered = sorted(entries, key=lambda e: (-len(e[0]), e[0]))
        self.labels: list[object] = [label for _, label in ordered]
        self._singles: dict[int, re.Pattern] = {}
        # The longest match of a regular-expression term, when it has one: such a
        # term is looked for only around its factors in a long text.
        self._widths: dict[int, int] = {}
        self._starts: set[int] = set()  # terms every match of which starts with a factor
        self._words: set[int] = set()  # terms every match of which is a word holding one
        runs: dict[str, list[int]] = {}
        free: list[str] = []
        for position, (term, _) in enumerate(ordered):
            if term.startswith("re:"):
                factors, at_start, width = _regex_plan(term[3:])
                if factors is None:
                    free.append(f"(?P<g{position}>{_term_pattern(term, boundaries, outer=True)})")
                    continue
                self._singles[position] = re.compile(_term_pattern(term, boundaries), re.IGNORECASE)
                for factor in factors:
                    runs.setdefault(factor, []).append(position)
                if at_start:
                    self._starts.add(position)
                if width is not None:
                    self._widths[position] = width
                continue
            literal = _LITERAL_RUN.findall(term)
            if not literal:
                free.append(f"(?P<g{position}>{_term_pattern(term, boundaries, outer=True)})")
                continue
            # A term that starts with a word character starts a word; one that starts
            # with a sign ("«") may follow anything.
            word = term[0].isalnum() or term[0] == "_"
            pattern = _term_pattern(term, boundaries, outer=not word)
            self._singles[position] = re.compile(pattern, re.IGNORECASE)
            head = _LITERAL_RUN.match(term)
            longest = max(literal, key=len)
            if head and (head.group() == longest or len(head.group()) >= 4):
                # Its first letters start every match: tried only where they occur.
                anchor = head.group()
                self._starts.add(position)
            else:
                anchor = longest
                if term.startswith("*") and _ONE_WORD.fullmatch(term):
                    # "*lieferung*": every match is the word that holds the run.
                    self._words.add(position)
            runs.setdefault(anchor.lower(), []).append(position)
        self._runs = {run: tuple(positions) for run, positions in runs.items()}
        self._free = re.compile("|".join(free), re.IGNORECASE) if free else None
        self._own: Scanner | None = None  # the scanner of this matcher alone, for `find`
        # What a scan costs, roughly: the alternation is tried at every position,
        # the automaton's pass and the few terms it finds cost next to nothing.
        self.size = len(self._free.pattern) if self._free else 0

    def __getstate__(self) -> dict[str, object]:
        # The automaton is rebuilt where it is used: cheaper than shipping it.
        return self.__dict__ | {"_own": None}

    @property
    def scans(self) -> bool:
        """Whether it has terms no letters announce: those are looked for in every text."""
        return self._free is not None

    def find(self, text: str) -> list[Hit]:
        if self._own is None:
            self._own = Scanner([self])
        return self._own.scan(text).find(self)

    def _hits(self, text: str, aligned: bool, candidates: dict[int, list[int]]) -> list[Hit]:
        found: list[tuple[int, int, int]] = []  # start, -end, term position
        if self._free is not None:
            for m in self._free.finditer(text):
                if m.end() > m.start():
                    found.append((m.start(), -m.end(), self._group(m)))
        for position, starts in candidates.items():
            pattern = self._singles[position]
            width = self._widths.get(position)
            if aligned and position in self._starts:
                matches = (m for m in map(pattern.match, repeat(text), starts) if m)
            elif aligned and position in self._words:
                at = _word_starts(text, starts)
                matches = (m for m in map(pattern.match, repeat(text), at) if m)
            elif width is None or not aligned or len(starts) * width >= len(text):
                matches = pattern.finditer(text)
            else:
                matches = _around(pattern, text, starts, width)
            for m in matches:
                if m.end() > m.start():
                    found.append((m.start(), -m.end(), position))
        found = sorted(set(found))
        kept: list[Hit] = []
        for start, end, position in found:
            if not kept or start >= kept[-1].end:
                kept.append(Hit(self.labels[position], start, -end))
        return kept

    @staticmethod
    def _group(m: re.Match) -> int:
        name = m.lastgroup
        if name is None or not name.startswith("g"):
            # A user regular expression with its own capturing group hides ours.
            name = next(k for k, v in m.groupdict().items() if v is not None)
        return int(name[1:])


class Scanner:
    """One Aho-Corasick pass for several matchers at once.

    A sentence is read by a dozen matchers and a page's screen by as many
    concept kinds; a pass of each matcher's own automaton costs little, but
    twenty of them over every sentence were a quarter of the analysis. The
    scanner's automaton holds every matcher's letters, and one pass gives each
    matcher the candidates its own pass would have found.
    """

    def __init__(self, matchers: list[Matcher]) -> None:
        self._slots = {id(m): slot for slot, m in enumerate(matchers)}
        self._matchers = matchers
        self._automaton: ahocorasick.Automaton | None = None

    def _build(self) -> ahocorasick.Automaton:
        merged: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
        for slot, matcher in enumerate(self._matchers):
            for run, positions in matcher._runs.items():
                merged.setdefault(run, []).append((slot, positions))
        automaton = ahocorasick.Automaton()
        for run, owners in merged.items():
            automaton.add_word(run, (len(run), tuple(owners)))
        if merged:
            automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def scan(self, text: str) -> Scan:
        """What every matcher's letters find in `text` (as it will be given to `Scan.find`)."""
        found: list[dict[int, list[int]]] = [{} for _ in self._matchers]
        # An empty automaton is falsy: test for None, or a matcher of regular expressions
        # only would build its automaton again on every text.
        automaton = self._build() if self._automaton is None else self._automaton
        lowered = text.lower()
        if len(automaton):
            for end, (length, owners) in automaton.iter(lowered):
                start = end - length + 1
                for slot, positions in owners:
                    into = found[slot]
                    for position in positions:
                        into.setdefault(position, []).append(start)
        # "İ" lower-cases to two characters: positions in `lowered` are then not `text`'s.
        return Scan(text, len(lowered) == len(text), self._slots, found)


@dataclass(frozen=True, slots=True)
class Scan:
    """A text read by a `Scanner`: each of its matchers' hits, found without another pass."""

    text: str
    aligned: bool
    slots: dict[int, int]
    candidates: list[dict[int, list[int]]]

    def may_find(self, matcher: Matcher) -> bool:
        """False when none of the matcher's terms can occur in the text."""
        return matcher.scans or bool(self.candidates[self.slots[id(matcher)]])

    def find(self, matcher: Matcher) -> list[Hit]:
        return matcher._hits(self.text, self.aligned, self.candidates[self.slots[id(matcher)]])


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


def _with_genitive(term: str, genitive: bool) -> list[str]:
    """A term, and its genitive in -s where the language forms one ("Budanows")."""
    plain = term[-1:].isalpha() and not term.startswith("re:")
    if genitive and plain and term[-1] not in "sSxXzZß":
        return [term, term + "s"]
    return [term]


_LITERAL_RUN = re.compile(r"[^\s*\-'’]+")


def _regex_plan(pattern: str) -> tuple[frozenset[str] | None, bool, int | None]:
    """How to look for a regular-expression term: the strings (lower-cased) one of
    which every match holds, whether every match starts with one, and the widest a
    match can be when that is bounded.

    The prefilter RE2 and Hyperscan use, for the simple case: literal runs a match
    must pass through, or an alternation's branches each with one. No strings when
    the expression has none worth looking for; it is then scanned.
    """
    try:
        # re's own parser: internal, but there since Python 3.11; if it fails or
        # changes, a term is merely scanned rather than prefiltered.
        parsed = _re_parser.parse(pattern, re.IGNORECASE)
        starting = _starting(list(parsed))
        prefix = _best_factors([starting]) if starting else None
        factors = prefix or _best_factors(_sequence_factors(list(parsed)))
        width = parsed.getwidth()[1]
    except Exception:
        return None, False, None
    return factors, prefix is not None, width if width < 1000 else None


def _around(pattern: re.Pattern, text: str, starts: list[int], width: int) -> Iterator[re.Match]:
    """The matches of a pattern that hold one of the factor occurrences at `starts`.

    Every match holds one, so scanning from `width` before each occurrence to the
    occurrence finds them all; lookbehinds still see the text before the start.
    """
    for start in starts:
        for m in pattern.finditer(text, max(0, start - width)):
            if m.start() > start:
                break
            yield m


_ONE_WORD = re.compile(r"[^\s\-'’]+")


def _word_starts(text: str, starts: list[int]) -> set[int]:
    """Where the words holding each of `starts` begin (a word as `\\w` reads it)."""
    out = set()
    for start in starts:
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        out.add(start)
    return out


_ZERO_WIDTH = (_re_constants.AT, _re_constants.ASSERT, _re_constants.ASSERT_NOT)


def _starting(items: list) -> frozenset[str] | None:
    lead = ""
    for op, arg in items:
        if op in _ZERO_WIDTH and not lead:
            # "\b" and lookbehinds hold at the match's start, where pattern.match tests them.
            continue
        if op is _re_constants.LITERAL:
            lead += chr(arg)
            continue
        inner: frozenset[str] | None = None
        if op is _re_constants.SUBPATTERN:
            inner = _starting(list(arg[-1]))
        elif op is _re_constants.BRANCH:
            branches = [_starting(list(b)) for b in arg[1]]
            if all(branches):
                inner = frozenset().union(*branches)
        if inner is None:
            break
        return frozenset((lead + x).lower() for x in inner)
    return frozenset({lead.lower()}) if lead else None


def _sequence_factors(items: list) -> list[frozenset[str]]:
    """For a parsed sequence, the sets of strings each of which a match must hold one of."""
    out: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            out.append(frozenset({"".join(run).lower()}))
            run.clear()

    for op, arg in items:
        if op is _re_constants.LITERAL:
            run.append(chr(arg))
            continue
        close_run()
        if op is _re_constants.SUBPATTERN:
            out.extend(_sequence_factors(list(arg[-1])))
        elif op is _re_constants.BRANCH:
            branches = [_best_factors(_sequence_factors(list(b))) for b in arg[1]]
            if all(branches):
                out.append(frozenset().union(*branches))
        elif op in (_re_constants.MAX_REPEAT, _re_constants.MIN_REPEAT) and arg[0] >= 1:
            out.extend(_sequence_factors(list(arg[2])))
    close_run()
    return out


def _best_factors(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective set: its shortest string longest; none of one ASCII letter."""
    usable = [s for s in sets if all(len(f) >= 2 or not f.isascii() for f in s)]
    if not usable:
        return None
    return max(usable, key=lambda s: (min(len(f) for f in s), -len(s)))


def _is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return bool(letters) and len(term) <= 6 and all(c.isupper() for c in letters)


def _terms(table: Mapping[str, object], lang: str) -> list[str]:
    value = table.get(lang, [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ProfileError(f"terms for {lang!r} must be a list of strings")
    return value


@dataclass
class Lexicon:
    """A profile's vocabulary for one language, compiled."""

    kinds: dict[str, Matcher]
    speakers: Matcher
    verbs: Matcher
    cues: Matcher
    attribution_after: Matcher
    attribution_before: Matcher
    speaker_anaphora: Matcher
    demonstratives: Matcher
    continuation: Matcher
    direction: Matcher
    lang: str
    verb_final: bool
    # One pass for the concept kinds (a document's screen) and one for every
    # matcher (a sentence).
    concepts: Scanner = field(init=False, repr=False)
    everything: Scanner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kinds = list(self.kinds.values())
        self.concepts = Scanner(kinds)
        self.everything = Scanner(
            [
                *kinds,
                self.speakers,
                self.verbs,
                self.cues,
                self.attribution_after,
                self.attribution_before,
                self.speaker_anaphora,
                self.demonstratives,
                self.continuation,
                self.direction,
            ]
        )


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
    same_denial: float
    materiel_conflict: float
    same_facts: float
    same_reaction: float
    coarse_speakers: tuple[str, ...]
    carriers: tuple[str, ...]
    evidence_topics: tuple[str, ...]
    channels: tuple[str, ...]
    distinct_kinds: tuple[str, ...]
    weights: dict[str, float]
    ignored_kinds: frozenset[str]
    concepts: dict[str, Concept]
    rules: tuple[Rule, ...]
    vetoes: tuple[Veto, ...]
    data: dict = field(repr=False)
    _lexicons: dict[str, Lexicon] = field(default_factory=dict, repr=False)

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
            same_denial=float(identity.get("same_denial", 0.0)),
            materiel_conflict=float(identity.get("materiel_conflict", 1.0)),
            same_facts=float(identity.get("same_facts", 0.0)),
            same_reaction=float(identity.get("same_reaction", 0.0)),
            carriers=tuple(identity.get("carriers", ())),
            evidence_topics=tuple(identity.get("evidence_topics", ())),
            channels=tuple(identity.get("channels", ())),
            coarse_speakers=tuple(
                sorted(
                    {
                        s["name"]
                        for s in data.get("speaker", [])
                        if s.get("weak") or s.get("generic")
                    }
                )
            ),
            distinct_kinds=tuple(identity.get("distinct_kinds", ("materiel", "topic"))),
            ignored_kinds=frozenset(
                identity.get("ignore", ("other", "recipient_other", "coincidence"))
            ),
            weights={k: float(v) for k, v in identity.get("weights", {}).items()},
            concepts=concepts,
            rules=rules,
            vetoes=vetoes,
            data=data,
        )

    def __getstate__(self) -> dict[str, object]:
        # Compiled lexicons are a cache: a pickled profile (sent to a Dask worker)
        # travels as its data and compiles each language on first use there.
        return {k: v for k, v in self.__dict__.items() if k != "_lexicons"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lexicons = {}

    def lexicon(self, lang: str) -> Lexicon:
        """The profile's vocabulary for `lang`, compiled once and kept."""
        if lang not in self._lexicons:
            self._lexicons[lang] = self._compile(lang)
        return self._lexicons[lang]

    def _compile(self, lang: str) -> Lexicon:
        options = self.data.get("language", {}).get(lang, {})
        bounded = bool(options.get("word_boundaries", True))
        verb_final = bool(options.get("verb_final", not bounded))
        by_kind: dict[str, list[tuple[str, object]]] = {}
        for entry in self.data.get("concept", []):
            for term in _terms(entry, lang):
                by_kind.setdefault(entry["kind"], []).append((term, entry["id"]))
        genitive = bool(options.get("genitive_s", False))
        # A speaker hit is labelled (name, weak, generic, genitive).
        speakers = [
            (
                variant,
                (
                    entry["name"],
                    bool(entry.get("weak", False)),
                    bool(entry.get("generic", False)),
                    variant != term,
                ),
            )
            for entry in self.data.get("speaker", [])
            for term in _terms(entry, lang)
            for variant in _with_genitive(term, genitive)
        ]
        verbs, cues = [], []
        for stance, table in self.data.get("stance", {}).items():
            if stance not in STANCES:
                raise ProfileError(f"unknown stance {stance!r}")
            verbs += [(t, (stance, "strong")) for t in _terms(table.get("verbs", {}), lang)]
            verbs += [(t, (stance, "weak")) for t in _terms(table.get("weak", {}), lang)]
            cues += [(t, stance) for t in _terms(table.get("cues", {}), lang)]
        # Terms that look like a reporting verb or a stance cue but are none
        # ("a statement condemning …" as a Russian participle, "Russia's illegal
        # war"): labelled None, they win over the shorter term inside them and
        # are then dropped.
        not_stance = self.data.get("not_stance", {})
        verbs += [(t, None) for t in _terms(not_stance.get("verbs", {}), lang)]
        cues += [(t, None) for t in _terms(not_stance.get("cues", {}), lang)]
        attribution = self.data.get("attribution", {})
        anaphora = self.data.get("anaphora", {})
        direction = self.data.get("direction", {})

        def matcher(entries: list[tuple[str, object]]) -> Matcher:
            return Matcher(entries, bounded)

        def plain(table: Mapping, label: object = True) -> Matcher:
            return matcher([(t, label) for t in _terms(table, lang)])

        return Lexicon(
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
