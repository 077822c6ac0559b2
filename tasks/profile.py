"""Topic profiles: the TOML that defines a statement, loaded, checked and compiled per language."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

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
        # What a scan costs, roughly: `re` tries every alternative at every position.
        self.size = sum(len(p.pattern) for p in self.patterns) + sum(
            len(p.pattern) for p in self.by_char.values()
        )
        self.anchors = _anchors([term for term, _ in entries])

    def may_find(self, lowered: str) -> bool:
        """False when no term can occur in a text (given lower-cased): no scan needed.

        A substring test per term is far cheaper than the scan; only terms that
        are regular expressions of their own force the scan.
        """
        return self.anchors is None or any(a in lowered for a in self.anchors)

    def find(self, text: str) -> list[Hit]:
        hits = []
        for pattern in self.patterns:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    hits.append(Hit(self.labels[self._group(m)], m.start(), m.end()))
        if self.by_char:
            position, table = 0, self.by_char
            while position < len(text):
                pattern = table.get(text[position].casefold())
                m = pattern.match(text, position) if pattern else None
                if m and m.end() > position:
                    hits.append(Hit(self.labels[self._group(m)], position, m.end()))
                    position = m.end()
                else:
                    position += 1
        if len(self.patterns) + bool(self.by_char) < 2:
            return hits
        hits.sort(key=lambda h: (h.start, h.start - h.end))
        kept: list[Hit] = []
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


def _with_genitive(term: str, genitive: bool) -> list[str]:
    """A term, and its genitive in -s where the language forms one ("Budanows")."""
    plain = term[-1:].isalpha() and not term.startswith("re:")
    if genitive and plain and term[-1] not in "sSxXzZß":
        return [term, term + "s"]
    return [term]


_LITERAL_RUN = re.compile(r"[^\s*\-'’]+")


def _anchors(terms: list[str]) -> tuple[str, ...] | None:
    """For each term, its longest literal run, lower-cased: every match of the term holds it.

    None when a term is a regular expression, which has no such run to test.
    """
    anchors = set()
    for term in terms:
        if term.startswith("re:"):
            return None
        runs = _LITERAL_RUN.findall(term)
        if not runs:
            return None
        anchors.add(max(runs, key=len).lower())
    return tuple(sorted(anchors))


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
    coarse_speakers: tuple[str, ...]
    carriers: tuple[str, ...]
    evidence_topics: tuple[str, ...]
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
            carriers=tuple(identity.get("carriers", ())),
            evidence_topics=tuple(identity.get("evidence_topics", ())),
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
