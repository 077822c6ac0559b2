"""Statement identity: signatures of what a statement claims, and the index that matches them."""

# Evidence of an identity decision, stored as JSON in statement_sightings.evidence,
# one object per sighting, e.g.
#   SELECT evidence->>'method', evidence->>'matched_statement_id',
#          (evidence->>'similarity')::DOUBLE FROM statement_sightings
# The keys (the first four are always present):
#
#   method                "new"            first sighting of a claim: a statement is created
#                         "same-text"      the same speaker said this very sentence before
#                         "paraphrase"     matched a known statement in the same language
#                         "cross-language" matched a known statement in another language
#   matched_statement_id  the statement this sighting was joined to; null when "new"
#   similarity            similarity to the matched statement, or to the nearest known one
#                         of the same speaker when "new" (0.0 when the speaker has none)
#   shared_features       the signature features both share (concept ids, "stance:…",
#                         "quantity:<unit>:<n>", "year:…", "month:…"), sorted
#   nearest_statement_id  when "new": the closest known statement that fell short, or null
#   threshold             the similarity a match needs (the profile's identity.threshold)
#   rule                  the relevance rule that made the sentence a statement
#   speaker_from          how the speaker was found: explicit, attribution, anaphor, turn,
#                         continuation, outlet
#   atoms                 the atoms the relevance rules saw (concept kinds, ids, @context …)
#   speaker_as_written    a lone surname reported by the full name the index knows it by
#                         ("Peters" as "Winston Peters"); absent otherwise

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import Stemmer
from rapidfuzz import fuzz

from armswatch.tasks.facts import MULTIPLIERS, NUMBER_WORDS, Reading
from armswatch.tasks.profile import Profile
from armswatch.tasks.sentence import KO_FAMILY_NAMES, KO_TITLES, Sentence, inside
from armswatch.tasks.text import normalize

# 2: content tokens are Snowball stems (PyStemmer), no longer simplemma lemmas.
# 3: content tokens leave out the attribution (speaker names, reporting verbs, cues).
SIGNATURE_VERSION = 3

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


# Snowball stemmers rather than lemma dictionaries: simplemma's German and
# Russian dictionaries cost about 250 MB in every worker process that reads
# those languages, a stemmer almost nothing, and overlap of stems matches
# restatements as well as overlap of lemmas (bench/detect_results.md, section 5).
_SNOWBALL = {"en": "english", "de": "german", "ru": "russian"}
_stemmers = threading.local()  # a PyStemmer object is not safe to share between threads


def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    if lang not in _SNOWBALL:
        return None
    cache: dict[str, Stemmer.Stemmer] = _stemmers.__dict__.setdefault("by_lang", {})
    if lang not in cache:
        cache[lang] = Stemmer.Stemmer(_SNOWBALL[lang])
    return cache[lang]


def content_tokens(text: str, lang: str) -> frozenset[str]:
    """Content stems for same-language overlap; numbers are left to the facts."""
    words = _WORD.findall(text.casefold())
    if lang == "ko":
        stems = {_KO_PARTICLE.sub("", w) for w in words}
        return frozenset(s for s in stems if len(s) >= 2)
    if lang in ("ja", "zh"):
        chars = "".join(words)
        return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))
    stop = _STOP.get(lang, frozenset())
    kept = [
        w
        for w in words
        if len(w) >= 3 and w not in stop and w not in MULTIPLIERS and w not in NUMBER_WORDS
    ]
    stemmer = _stemmer(lang)
    return frozenset(stemmer.stemWords(kept) if stemmer else kept)


@dataclass(frozen=True)
class Signature:
    """What identity compares: canonical speaker, stance, weighted features, stems."""

    speaker: str
    stance: str
    lang: str | None
    features: dict[str, float]
    tokens: frozenset[str]
    quantities: dict[str, str]  # unit → number key
    # Others the sentence names beside its speaker, who may speak for the same body
    # ("EU spokesperson Peter Stano", "Japan's foreign minister Yoko Kamikawa").
    affiliates: frozenset[str] = frozenset()
    # The titles a Korean sentence gives its speaker ("김강일 국방성 부상"): which Kim a
    # later "김 부상" is.
    titles: frozenset[str] = frozenset()

    def dumps(self) -> str:
        data = {
            "v": SIGNATURE_VERSION,
            "speaker": self.speaker,
            "stance": self.stance,
            "lang": self.lang,
            "features": dict(sorted(self.features.items())),
            "tokens": sorted(self.tokens),
            "quantities": dict(sorted(self.quantities.items())),
            "affiliates": sorted(self.affiliates),
        }
        if self.titles:
            data["titles"] = sorted(self.titles)
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> Signature | None:
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
                affiliates=frozenset(map(str, data.get("affiliates", ()))),
                titles=frozenset(map(str, data.get("titles", ()))),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
        "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya "  # noqa: SIM905
        "i yi ye g".split(),
        strict=True,
    )
)
_LATIN_EXTRA = {"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "_": ""}
# Revised Romanization by jamo; family names as they are usually spelt (김 Kim, 조 Cho).
_KO_INITIAL = "g kk n d tt r m b pp s ss _ j jj ch k t p h".split()  # noqa: SIM905
_KO_MEDIAL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()  # noqa: SIM905
_KO_FINAL = ["", *"k k k n n n t l k m l l l l l m p p t t ng t t k t p t".split()]  # noqa: SIM905


def _is_hangul(word: str) -> bool:
    return all("\uac00" <= ch <= "\ud7a3" for ch in word)


def _syllable(ch: str) -> str:
    code = ord(ch) - 0xAC00
    syllable = _KO_INITIAL[code // 588] + _KO_MEDIAL[code % 588 // 28] + _KO_FINAL[code % 28]
    return syllable.replace("_", "")


def romanised(name: str) -> str:
    """A name in Latin letters without accents, one token a word (a Hangul syllable each).

    Enough to tell that "Радослав Сикорский", "Radosław Sikorski" and "Radoslaw
    Sikorski" are one person, and "조태열" "Cho Tae-yul".
    """
    out: list[str] = []
    words = [w for w in re.split(r"[\s\-‐]+", name.casefold()) if w]
    for word in words:
        if _is_hangul(word):
            if _korean_name(word, alone=len(words) == 1):
                # A Korean name is one word, a syllable a name part ("조태열").
                out.append(KO_FAMILY_NAMES.get(word[0]) or _syllable(word[0]))
                out.extend(_syllable(ch) for ch in word[1:])
            else:
                # A foreign name in Hangul keeps its words ("올레흐 시녜후보우", "마체고라").
                out.append("".join(_syllable(ch) for ch in word))
            continue
        letters = []
        for ch in word:
            ch = _CYRILLIC.get(ch, ch)
            ch = _LATIN_EXTRA.get(ch, ch)
            letters.append(ch)
        folded = unicodedata.normalize("NFKD", "".join(letters))
        out.append("".join(c for c in folded if c.isascii() and c.isalnum()))
    return " ".join(t for t in out if t)


def _korean_name(word: str, *, alone: bool) -> bool:
    """Whether a Hangul word is a Korean name or surname: a family name and at most two
    given syllables, written alone or before a title ("조태열", "조 장관"). Longer words
    and names of several words are foreign names in Hangul ("마체고라", "필립 골드버그")."""
    if word[0] not in KO_FAMILY_NAMES or any(_syllable(ch).endswith("eu") for ch in word[1:]):
        # "드", "르", "스": how Hangul writes a foreign consonant ("우드", Wood),
        # never a syllable of a Korean given name.
        return False
    return len(word) == 1 or (alone and len(word) <= 3)


_SAME_NAME = 80  # rapidfuzz ratio of two romanised names of one person
_SAME_SPELLING = 60  # ... when their consonants agree as well ("Прайс" and "Price")

# English and Russian spell one sound differently: w/в (v, у), soft c/с (s), y/и (i),
# and their vowels disagree most ("Price" / "Прайс", "Watson" / "Уотсон"). Hangul has
# no v, f, z or th: "Ivan Fedorov" is "이반 페도로프", "iban pedoropeu".
_SOUNDS = (
    (re.compile(r"ph"), "f"),
    (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"[cq]"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"w"), "v"),
    (re.compile(r"v"), "b"),
    (re.compile(r"f"), "p"),
    (re.compile(r"zh|z"), "j"),
    (re.compile(r"th"), "t"),
    (re.compile(r"[aeiouy]"), ""),
    (re.compile(r"(\w)\1+"), r"\1"),
)


def sounded(name: str) -> str:
    """A romanised name's consonants as both scripts spell them: "ned prays" and
    "ned price" are "nd prs", "robert vud" and "robert wood" "rbrt vd"."""
    for pattern, repl in _SOUNDS:
        name = pattern.sub(repl, name)
    return name


def _sound_alike(a: str, b: str) -> bool:
    # Word by word as well: "Kim" and "Cho" before one title are two ministers.
    return fuzz.ratio(sounded(a), sounded(b)) >= 90 and all(
        fuzz.ratio(sounded(x), sounded(y)) >= 80 for x, y in zip(a.split(), b.split(), strict=True)
    )


_LONE_SURNAME = 4  # letters a lone surname needs to stand for a full name ("Kim" does not)
# Surnames too common to stand alone for one person, whatever their length.
_COMMON_SURNAMES = frozenset("kim lee yi ri park pak choi jung jeong kang".split())  # noqa: SIM905
# Honorifics before a name: not part of it ("Lord Cameron"). Titles after a Korean
# name are the sentence reader's (`KO_TITLES`: "조 장관", "골드버그 대사").
_HONORIFICS = frozenset("lord lady sir dame dr mr mrs ms prof".split())  # noqa: SIM905
_KO_TITLE_ENDS = tuple(KO_TITLES)


def name_words(speaker: str) -> tuple[list[str], bool]:
    """A speaker key's words without honorifics or a trailing Korean title, and
    whether a title followed ("조 장관": Minister Cho, named before)."""
    words = speaker.split()
    while len(words) > 1 and words[0].rstrip(".") in _HONORIFICS:
        words = words[1:]
    titled = False
    while len(words) > 1 and words[-1].endswith(_KO_TITLE_ENDS):
        words, titled = words[:-1], True
    return words, titled


def _name_tokens(words: list[str]) -> list[str]:
    """A name's words romanised, a token a name part ("조태열": cho tae yeol)."""
    if len(words) == 1 and not _is_hangul(words[0]):
        # One word is one surname, double-barrelled or not ("Strack-Zimmermann").
        return [romanised(words[0]).replace(" ", "")]
    return romanised(" ".join(words)).split()


def is_full_name(speaker: str) -> bool:
    """Whether a speaker key names a person in full, not by a surname alone ("조태열",
    "Winston Peters"; not "Peters", "조 장관")."""
    words, titled = name_words(speaker)
    return not titled and len(_name_tokens(words)) >= 2


def _surname_tokens(words: list[str]) -> set[str]:
    """Where a full name keeps its surname: its last word ("strackzimmermann" for
    "Marie-Agnes Strack-Zimmermann"), that word's last part, or the first syllable
    of a Korean name."""
    tokens = romanised(" ".join(words)).split()
    out = {tokens[-1], romanised(words[-1]).replace(" ", "")}
    if tokens[0] in KO_FAMILY_NAMES.values():
        out.add(tokens[0])
    return out


def speaker_key(speaker: str | None) -> str:
    """The identity block a speaker belongs to; the outlet's own voice is the empty key."""
    return normalize(speaker) if speaker else ""


@dataclass(frozen=True, slots=True)
class _Entry:
    statement_id: str
    signature: Signature


@dataclass(frozen=True, slots=True)
class _Match:
    statement_id: str
    similarity: float
    shared: tuple[str, ...]
    lang: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """The identity one sighting gets, and the evidence for it (keys at the top of the module)."""

    statement_id: str
    is_new: bool
    evidence: dict[str, object]


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
        *,
        same_denial: float = 0.0,
        kinds: Mapping[str, str] | None = None,
        distinct_kinds: Iterable[str] = ("materiel", "topic"),
        materiel_conflict: float = 1.0,
        same_facts: float = 0.0,
        same_reaction: float = 0.0,
        coarse_speakers: Iterable[str] = (),
        carriers: Iterable[str] = (),
        evidence_topics: Iterable[str] = (),
        broader: Mapping[str, Iterable[str]] | None = None,
        implies: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.threshold = threshold
        self.text_weight = text_weight
        self.quantity_conflict = quantity_conflict
        self.shared_quantity = shared_quantity
        self.stance_mismatch = stance_mismatch
        self.same_core = same_core
        self.same_denial = same_denial
        self._distinct_concepts = frozenset(
            cid for cid, kind in (kinds or {}).items() if kind in set(distinct_kinds)
        )
        self.materiel_conflict = materiel_conflict
        self.same_facts = same_facts
        self.same_reaction = same_reaction
        # Countries and generic speakers ("North Korea", "experts") stand for many
        # bodies and occasions: their sightings agreeing in facts say less.
        self._coarse = frozenset(speaker_key(s) for s in coarse_speakers)
        self._kinds = dict(kinds or {})
        self._carriers = frozenset(carriers)
        self._evidence_topics = frozenset(evidence_topics)
        self._broader = {k: tuple(v) for k, v in (broader or {}).items()}
        self._implies = {k: tuple(v) for k, v in (implies or {}).items()}
        self._materiel = frozenset(cid for cid, kind in (kinds or {}).items() if kind == "materiel")
        self._blocks: dict[str, str] = {}  # speaker key -> the block its statements share
        # block -> token count, romanised name, where its surname may be
        self._romans: dict[str, tuple[int, str, set[str]]] = {}
        self._lone: dict[str, str] = {}  # romanised lone surname -> its block
        self._parent: dict[str, str] = {}  # a lone surname's block -> the full name's it joined
        self._members: dict[str, list[str]] = {}  # a joined block -> the blocks posted under it
        self._titles: dict[str, set[str]] = {}  # block -> Korean titles its speaker was given
        self._entries: list[_Entry] = []
        self._ids: dict[str, int] = {}  # statement_id → position of its entry
        self._postings: dict[tuple[str, str], list[int]] = {}

    @classmethod
    def for_profile(cls, profile: Profile) -> StatementIndex:
        """An empty index with the identity settings of a topic profile."""
        return cls(
            profile.identity_threshold,
            profile.text_weight,
            profile.quantity_conflict,
            profile.shared_quantity,
            profile.stance_mismatch,
            profile.same_core,
            same_denial=profile.same_denial,
            kinds={cid: concept.kind for cid, concept in profile.concepts.items()},
            distinct_kinds=profile.distinct_kinds,
            materiel_conflict=profile.materiel_conflict,
            same_facts=profile.same_facts,
            same_reaction=profile.same_reaction,
            coarse_speakers=profile.coarse_speakers,
            carriers=profile.carriers,
            evidence_topics=profile.evidence_topics,
            broader={
                cid: [
                    i
                    for i in concept.implies
                    if profile.concepts[i].kind == "materiel" and profile.concepts[i].weight is None
                ]
                for cid, concept in profile.concepts.items()
                if concept.kind == "materiel"
            },
            implies={cid: concept.implies for cid, concept in profile.concepts.items()},
        )

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, statement_id: object) -> bool:
        return statement_id in self._ids

    def block(self, speaker: str, titles: Iterable[str] = ()) -> str:
        """The speaker block a speaker key belongs to: its own, or that of the same name
        spelt in another script or transliteration ("Радослав Сикорский", "Radosław
        Sikorski"), which a profile that does not list the person cannot join, or that
        of the one full name a lone surname stands for ("Сингх", "Sabrina Singh"),
        whichever of the two was seen first. A titled surname too common to stand alone
        ("김 부상") is the one full name of that surname seen with that title (`titles`
        are those a sighting gives its full-named speaker)."""
        if speaker in self._blocks:
            block = self._root(self._blocks[speaker])
            self._titles.setdefault(block, set()).update(titles)
            return block
        block = speaker
        words, titled = name_words(speaker)
        tokens = _name_tokens(words)
        name = " ".join(tokens)
        if len(tokens) >= 2:
            best = 0.0
            for other, (count, other_name, _) in self._romans.items():
                if count != len(tokens):
                    continue
                score = fuzz.ratio(name, other_name)
                if score >= _SAME_SPELLING and _sound_alike(name, other_name):
                    # Spelt apart, sounded alike: one name in two scripts.
                    score = max(score, _SAME_NAME)
                if score >= _SAME_NAME and score > best:
                    block, best = other, score
            block = self._root(block)
            if block == speaker:
                self._romans[block] = (len(tokens), name, _surname_tokens(words))
            # "Пригожин" was seen alone before "Евгений Пригожин": one person, when
            # no other full name has taken that surname.
            for surname in _surname_tokens(words):
                for lone, lone_block in list(self._lone.items()):
                    if self._surname_of(lone, surname) and self._root(lone_block) != block:
                        self._union(lone_block, block)
                        del self._lone[lone]
        elif tokens and titled and tokens[0] in _COMMON_SURNAMES:
            title = speaker.split()[-1]
            known = {
                self._root(other)
                for other, (_, _, surnames) in self._romans.items()
                if tokens[0] in surnames
                and any(seen.endswith(title) for seen in self._titles.get(self._root(other), ()))
            }
            if len(known) == 1:
                block = known.pop()
        elif tokens and (
            self._may_stand_alone(tokens[0]) or (titled and tokens[0] not in _COMMON_SURNAMES)
        ):
            # A surname alone ("Пригожин опроверг …", "조 장관은") is the person of
            # that surname the index knows by full name, when it knows exactly one.
            known = {
                self._root(other)
                for other, (_, _, surnames) in self._romans.items()
                if any(self._surname_of(tokens[0], s) for s in surnames)
            }
            if len(known) == 1:
                block = known.pop()
            elif not known:
                block = self._lone.setdefault(tokens[0], speaker)
        self._blocks[speaker] = block
        root = self._root(block)
        self._titles.setdefault(root, set()).update(titles)
        return root

    @staticmethod
    def _may_stand_alone(surname: str) -> bool:
        return len(surname) >= _LONE_SURNAME and surname not in _COMMON_SURNAMES

    @staticmethod
    def _surname_of(lone: str, surname: str) -> bool:
        if min(len(lone), len(surname)) <= 3:
            # Short surnames differ by a letter: "Ko" and "Koo" are two families.
            return lone == surname
        return fuzz.ratio(lone, surname) >= _SAME_NAME or (
            fuzz.ratio(lone, surname) >= _SAME_SPELLING and _sound_alike(lone, surname)
        )

    def _root(self, block: str) -> str:
        while (up := self._parent.get(block)) is not None:
            block = up
        return block

    def _union(self, lone: str, full: str) -> None:
        """Join a lone surname's block to a full name's: both spoke for one person."""
        lone, full = self._root(lone), self._root(full)
        if lone != full:
            self._parent[lone] = full
            self._members.setdefault(full, [full]).extend(self._members.pop(lone, [lone]))

    def add(self, statement_id: str, signature: Signature) -> None:
        position = len(self._entries)
        self._entries.append(_Entry(statement_id, signature))
        self._ids.setdefault(statement_id, position)
        for block in self._blocks_of(signature):
            for feature in signature.features:
                self._postings.setdefault((block, feature), []).append(position)
            self._postings.setdefault((block, ""), []).append(position)

    def _blocks_of(self, signature: Signature) -> set[str]:
        """The blocks a sighting is posted under: its speaker's and those of the others
        its sentence names, so "the EU said" finds "EU spokesperson Stano said"."""
        return {
            self.block(signature.speaker, signature.titles),
            *map(self.block, signature.affiliates),
        }

    def related(self, a: Signature, b: Signature) -> bool:
        """Whether two sightings have one speaker, or one names the other's speaker
        beside its own: a spokesperson and the body they speak for."""
        block_a, block_b = self.block(a.speaker), self.block(b.speaker)
        if block_a == block_b:
            return True
        if not (a.speaker and b.speaker):
            return False
        return block_a in {self.block(x) for x in b.affiliates} or block_b in {
            self.block(x) for x in a.affiliates
        }

    def best(self, signature: Signature, siblings: Iterable[str] = ()) -> _Match | None:
        """The most similar known statement of the same speaker, whatever its similarity.

        `siblings` are the statements found earlier in the sighting's own document: one
        speaker's several reactions in one text are several (`same_reaction` is not
        applied to them).
        """
        siblings = frozenset(siblings)
        candidates: set[int] = set()
        for root in self._blocks_of(signature):
            for block in self._members.get(root, (root,)):
                for feature, weight in signature.features.items():
                    if weight >= 0.5:
                        candidates.update(self._postings.get((block, feature), ()))
        best: _Match | None = None
        for position in sorted(candidates):
            entry = self._entries[position]
            if not signature.speaker and entry.signature.lang != signature.lang:
                # The outlet's own voice is one outlet's: the same claim in another
                # language is another outlet's, so another statement.
                continue
            if not self.related(signature, entry.signature):
                # Two spokespeople of one body are two speakers.
                continue
            similarity, shared = self.similarity(
                signature, entry.signature, reactions=entry.statement_id not in siblings
            )
            if best is None or similarity > best.similarity + 1e-9:
                best = _Match(
                    entry.statement_id, round(similarity, 4), shared, entry.signature.lang
                )
        return best

    def assign(
        self, signature: Signature, own_id: str, siblings: Iterable[str] = ()
    ) -> Assignment:
        """The statement a sighting belongs to, adding it to the index when it is new.

        `own_id` is the sighting's own id (`statement_id_for` its speaker and text),
        taken when nothing known is similar enough; `siblings` as for `best`.
        """
        match = self.best(signature, siblings)
        evidence: dict[str, object] = {"threshold": self.threshold}
        if match and match.similarity >= self.threshold:
            if match.statement_id == own_id:
                method = "same-text"
            elif match.lang != signature.lang:
                method = "cross-language"
            else:
                method = "paraphrase"
            statement_id, is_new = match.statement_id, False
            similarity, shared = match.similarity, match.shared
        elif own_id in self._ids:
            # Said word for word before, though the stored signature has drifted
            # (another profile version, or rebuilt from text).
            method, statement_id, is_new = "same-text", own_id, False
            known = self._entries[self._ids[own_id]].signature
            raw, shared = self.similarity(signature, known)
            similarity = round(raw, 4)
        else:
            method, statement_id, is_new = "new", own_id, True
            similarity = match.similarity if match else 0.0
            shared = match.shared if match else ()
            evidence["nearest_statement_id"] = match.statement_id if match else None
            self.add(statement_id, signature)
        evidence |= {
            "method": method,
            "matched_statement_id": None if is_new else statement_id,
            "similarity": similarity,
            "shared_features": list(shared),
        }
        return Assignment(statement_id, is_new, evidence)

    def similarity(
        self, a: Signature, b: Signature, *, reactions: bool = True
    ) -> tuple[float, tuple[str, ...]]:
        """Weighted feature overlap, mixed with stem overlap in one language, then
        adjusted: other numbers for the same unit or another reporting act lower it,
        the same count of the same thing raises it; with `reactions`, one speaker's
        two condemnations (or demands) are one reaction."""
        shared = tuple(sorted(set(a.features) & set(b.features)))
        # fsum: a plain sum over a set depends on the hash seed in its last bits,
        # enough to move a similarity across a rounding step between runs.
        inter = math.fsum(min(a.features[k], b.features[k]) for k in shared)
        union = math.fsum(
            max(a.features.get(k, 0.0), b.features.get(k, 0.0)) for k in {*a.features, *b.features}
        )
        score = inter / union if union else 0.0
        overlap = None
        if a.lang == b.lang and a.tokens and b.tokens:
            overlap = len(a.tokens & b.tokens) / len(a.tokens | b.tokens)
            score = (1 - self.text_weight) * score + self.text_weight * overlap
        if a.stance != b.stance:
            score *= self.stance_mismatch
        # Specific weapons only (full weight: named, not implied); "munitions" and
        # "weapons" are one claim's words for the other's "shells".
        weapons_a = {k for k in self._materiel.intersection(a.features) if a.features[k] >= 1.0}
        weapons_b = {k for k in self._materiel.intersection(b.features) if b.features[k] >= 1.0}
        weapon_conflict = bool(weapons_a - b.features.keys() and weapons_b - a.features.keys())
        if weapon_conflict:
            # Each names a weapon the other does not ("shells and launchers" against
            # "shells and missiles"): another claim, though a restatement may add one.
            score *= self.materiel_conflict
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
        elif self.same_denial and a.stance == b.stance == "deny" and self._one_denial(a, b):
            score = max(score, self.same_denial)
        if (
            self.same_facts
            and score < self.same_facts
            and not conflict
            and not weapon_conflict
            and self._same_facts(a, b, weapons_a, weapons_b, agree)
        ):
            score = self.same_facts
        if (
            reactions
            and self.same_reaction
            and score < self.same_reaction
            and not conflict
            and not weapon_conflict
            and self._one_reaction(a, b)
        ):
            score = self.same_reaction
        return score, shared

    _REACTIONS = frozenset({"condemn", "demand"})

    def _one_reaction(self, a: Signature, b: Signature) -> bool:
        """Whether two condemnations, or two demands, by one named speaker are one.

        A minister condemns the transfers, or calls for sanctions, in one reaction
        that outlets word their own way ("condemned the deliveries as illegal",
        "called them a flagrant breach"); the facts of the words differ more than
        the reaction does. Another period or figure makes it another reaction
        (weapons and figures that conflict are checked by the caller); countries and
        generic speakers react too often to tell.
        """
        if a.stance != b.stance or a.stance not in self._REACTIONS or not a.speaker:
            return False
        if a.speaker in self._coarse or b.speaker in self._coarse or not self.related(a, b):
            return False
        if a.stance == "demand" and any(
            self._kinds.get(k) == "sanction" for k in (*a.features, *b.features)
        ):
            # Sanctions name their targets: two listings are two acts.
            return False
        periods_a, periods_b = _periods(a), _periods(b)
        return not (periods_a and periods_b and periods_a != periods_b)

    # What a claim does: moves or uses arms (one of them in common is enough: a supply
    # claim may say what the arms are for), and sanctions, vetoes, cooperation or a
    # breach of resolutions (all the same: each is a claim of its own).
    _MOVES = frozenset({"transfer", "use"})
    _ACTS = frozenset({"sanction", "enforcement", "cooperation", "violation"})

    def _carrier(self, concept: str) -> bool:
        return concept in self._carriers

    def _broadest(self, concept: str) -> str:
        seen = {concept}
        while (up := self._broader.get(concept)) and up[0] not in seen:
            concept = up[0]
            seen.add(concept)
        return concept

    def _same_facts(
        self,
        a: Signature,
        b: Signature,
        weapons_a: set[str],
        weapons_b: set[str],
        same_figure: bool,
    ) -> bool:
        """Whether two sightings of one named speaker in one language make the same claim.

        A speaker restates a claim in other words ("Kirby said the imagery showed five
        rail cars …" and "… according to John Kirby, show Russian rail cars …"): the
        words overlap little, the facts agree. They agree when the reporting act and
        what the claim does (supply, use, sanctions) are the same, the topics that tell
        one claim from another (rail, payment, accuracy …) are the same, the weapons
        are the same when both name any, something specific (a weapon, topic, figure or period)
        is shared, and no period or figure differs. A speaker's generic claims ("North
        Korea is providing arms to Russia") share nothing specific and stay apart.
        """
        if not a.speaker or a.lang != b.lang or a.stance != b.stance:
            return False
        # One speaker by block: "Peters" and "Winston Peters" are one person.
        if not self.related(a, b):
            return False
        if a.speaker in self._coarse:
            return False
        # Containers and rail cars carry the weapons; the weapons are what differ.
        # "Ballistic missiles" and "missiles", "152 mm shells" and "shells" are
        # one weapon said more or less precisely.
        weapons_a = {self._broadest(w) for w in weapons_a if not self._carrier(w)}
        weapons_b = {self._broadest(w) for w in weapons_b if not self._carrier(w)}
        if weapons_a and weapons_b and weapons_a != weapons_b:
            return False

        def kinds(s: Signature, wanted: frozenset[str] | set[str]) -> frozenset[str]:
            return frozenset(k for k in s.features if self._kinds.get(k) in wanted)

        # Acts that differ are claims that differ; an act one restatement names in
        # passing ("UN sanctions monitors said …") and the other leaves out is not.
        acts_a, acts_b = kinds(a, self._ACTS), kinds(b, self._ACTS)
        if not (acts_a <= acts_b or acts_b <= acts_a):
            return False
        moves_a, moves_b = kinds(a, self._MOVES), kinds(b, self._MOVES)
        if moves_a and moves_b and not moves_a & moves_b:
            return False
        # How a claim is known ("satellite images show") is not what it claims: one
        # restatement may cite the imagery, another not.
        topics = kinds(a, {"topic"}) - self._evidence_topics
        if topics != kinds(b, {"topic"}) - self._evidence_topics:
            return False
        periods_a, periods_b = _periods(a), _periods(b)
        if periods_a and periods_b and periods_a != periods_b:
            return False
        if topics or same_figure or periods_a & periods_b:
            return True
        # Only the weapon in common: "fired 20 missiles at cities in January" and
        # "missiles hit Kharkiv" are two events unless neither dates or counts.
        dated_a = bool(periods_a or a.quantities)
        dated_b = bool(periods_b or b.quantities)
        return bool(weapons_a & weapons_b) and dated_a == dated_b

    def _one_denial(self, a: Signature, b: Signature) -> bool:
        """Whether two denials by one speaker deny the same thing.

        A speaker keeps one standing denial, restated loosely ("deny any arms
        trade", "have denied the accusations"); it is another denial only when
        it names other weapons or figures, or says something else of the claims
        ("absurd" against "no intention of exporting").
        """

        def distinct(s: Signature) -> frozenset[str]:
            return frozenset(
                k for k in _core(s) if k in self._distinct_concepts or k.startswith("quantity:")
            )

        def implied(concepts: frozenset[str]) -> set[str]:
            # "Shells" is "munitions" said precisely: denying one denies the other.
            out, pending = set(concepts), list(concepts)
            while pending:
                for up in self._implies.get(pending.pop(), ()):
                    if up not in out:
                        out.add(up)
                        pending.append(up)
            return out

        da, db = distinct(a), distinct(b)
        return da <= implied(db) or db <= implied(da)


def _core(signature: Signature) -> frozenset[str]:
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


def _periods(s: Signature) -> set[str]:
    """The months and years a sighting's claim is dated by."""
    return {k for k in s.features if k.startswith(("month:", "year:"))}


def signature_of(
    s: Sentence, speaker: str | None, stance: str, lang: str, reading: Reading, profile: Profile
) -> Signature:
    """The signature of a statement sentence, as `StatementIndex` compares it."""
    return Signature(
        speaker=speaker_key(speaker),
        stance=stance,
        lang=lang,
        features=_features(s, stance, reading, profile),
        tokens=content_tokens(_claim_text(s), lang),
        quantities=reading.quantities,
        affiliates=_affiliates(s, speaker, profile),
        titles=frozenset(m.title for m in s.mentions if m.title and m.name == speaker),
    )


def _affiliates(s: Sentence, speaker: str | None, profile: Profile) -> frozenset[str]:
    """Who else a sentence names beside its speaker: the body a spokesperson speaks
    for ("EU spokesperson Peter Stano", "Vedant Patel, a State Department
    spokesman", "Japan's Yoko Kamikawa"), which another outlet may name instead.

    Sides of the topic, generic names, countries not written as a possessor, and
    channels that carry others' words ("… carried by KCNA") speak for no one.
    """
    if not speaker:
        return frozenset()
    channels = set(profile.channels)
    return frozenset(
        speaker_key(m.name)
        for m in s.mentions
        if m.name != speaker
        and m.name not in channels
        and not (m.party or m.generic or (m.weak and not m.possessive))
    )


def _claim_text(s: Sentence) -> str:
    """The sentence without who says it and how: named speakers, reporting verbs, "according to".

    "X said …" and "… , according to X" restate one claim; the words of the
    attribution would otherwise count as much as the claim's own.
    """
    spans = [(m.start, m.end) for m in s.mentions if not m.weak]
    spans += [(v.start, v.end) for v in s.verbs]
    spans += [(h.start, h.end) for h in (*s.attribution_after, *s.attribution_before)]
    chars = list(s.text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _features(s: Sentence, stance: str, reading: Reading, profile: Profile) -> dict[str, float]:
    weights = profile.weights
    features: dict[str, float] = {}
    names = [(m.start, m.end) for m in s.mentions if not m.weak]
    for cid, spans in s.concepts.items():
        concept = profile.concepts[cid]
        kind = concept.kind
        if kind in profile.ignored_kinds:
            continue
        # "Sanctions" in "Multilateral Sanctions Monitoring Team" names the
        # speaker; it says nothing about the claim.
        if all(inside(a, b, names) for a, b in spans):
            continue
        # An implied concept ("ammunition" under "shells") is half a witness.
        weight = concept.weight if concept.weight is not None else weights.get(kind, 1.0)
        features[cid] = weight * (0.5 if cid in s.implied else 1.0)
    features[f"stance:{stance}"] = weights.get("stance", 0.6)
    for hit in s.cues:
        features[f"cue:{hit.label}"] = weights.get("cue", 0.6)
    for unit, number in reading.quantities.items():
        features[f"quantity:{unit}:{number}"] = weights.get("quantity", 2.0)
    for feature in reading.periods:
        features[feature] = weights.get("period", 1.0)
    if reading.direction and weights.get("direction", 0.0) > 0:
        features[f"direction:{reading.direction}"] = weights["direction"]
    return features
