"""One document read for statements: relevance, speaker, stance, facts and signature."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from armswatch.tasks.attribution import Resolution, Turn, find_speaker, find_stance
from armswatch.tasks.facts import read_facts
from armswatch.tasks.identity import Signature, signature_of, statement_id_for
from armswatch.tasks.models import Fact
from armswatch.tasks.profile import Lexicon, Profile, Rule
from armswatch.tasks.sentence import (
    TOPIC_SIDES,
    TOPIC_SUBJECTS,
    Sentence,
    analyse_sentence,
    is_context,
    text_view,
)
from armswatch.tasks.text import detect_language, split_sentences

_TURN = re.compile(
    r"^(?:(?:MR|MS|MRS|DR|ADM|ADMIRAL|SECRETARY|AMBASSADOR|GENERAL|SENATOR|PRESIDENT|"
    r"THE PRESIDENT|VICE PRESIDENT)\.?\s+)?([A-Z][A-Z'\-]+(?:\s[A-Z][A-Z'\-]+){0,3})\s*:\s+"
)
_QUESTION_TURN = re.compile(r"^Q[\s:.]\s*")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A statement found in a document, with everything but its identity."""

    sentence_index: int
    text: str
    speaker: str | None
    stance: str
    score: float
    signature: Signature
    facts: tuple[Fact, ...]
    evidence: dict[str, object]  # rule, speaker_from, atoms
    own_id: str  # the statement_id it gets when it matches nothing known
    answers: int | None = None  # position of the candidate a denial answers, in this document


@dataclass(frozen=True, slots=True)
class DocumentAnalysis:
    """The statements one document carries before identity: what `Detector.resolve` takes."""

    doc_id: str
    lang: str
    profile: str
    sentences: int  # sentences read; 0 when the document was ruled out as a whole
    candidates: tuple[Candidate, ...] = ()


@dataclass
class _DocState:
    last_speaker: str | None = None
    statements: list[tuple[Sentence, Candidate]] = field(default_factory=list)


def document_language(profile: Profile, text: str, lang: str | None) -> str:
    """The profile language to read `text` in: the declared or detected one, else by script."""
    lang = lang.lower().split("-")[0] if lang else detect_language(text)
    if lang in profile.languages:
        return lang
    sample = text[:2000]
    for script, code in (
        (r"[\uac00-\ud7a3]", "ko"),
        (r"[\u3040-\u30ff]", "ja"),
        (r"[\u0400-\u04ff]", "ru"),
    ):
        if re.search(script, sample) and code in profile.languages:
            return code
    return "en" if "en" in profile.languages else profile.languages[0]


def analyse_document(
    profile: Profile, doc_id: str, text: str, lang: str | None = None, title: str | None = None
) -> DocumentAnalysis:
    """The statement candidates of one document, in reading order; pure in the profile."""
    lang = document_language(profile, text, lang)
    lex = profile.lexicon(lang)
    if not may_hold_statements(profile, lex, text, title):
        return DocumentAnalysis(doc_id, lang, profile.name, 0)
    sentences: list[Sentence] = []
    turns: list[Turn] = []
    turn = Turn()
    for line_no, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if not line:
            continue
        if _QUESTION_TURN.match(line):
            turn = Turn(question=True)
        elif label := _TURN.match(line):
            name = label.group(1)
            speaker = profile.canonical_speaker(name, lang) or _role_holder(profile, name, text)
            turn = Turn(speaker or name.title())
        for sentence in split_sentences(line, lang):
            sentences.append(analyse_sentence(len(sentences), line_no, sentence, lex, profile))
            turns.append(turn)
    # The topic is set near a sentence: by one topical sentence, by two
    # neighbours together ("And I would say the same about North Korea. We know
    # they're providing ammunition to Russia."), or by the title. Near, because a
    # long briefing moves on to other topics.
    topical = [is_context(s.kinds) for s in sentences]
    for i, (a, b) in enumerate(itertools.pairwise(sentences)):
        if is_context(a.kinds | b.kinds):
            topical[i] = topical[i + 1] = True
    titled = bool(title) and is_context(analyse_sentence(-1, -1, title, lex, profile).kinds)
    reach = profile.context_window
    state = _DocState()
    for sentence, sentence_turn in zip(sentences, turns, strict=True):
        i = sentence.index
        context = titled or any(topical[max(0, i - reach) : i + reach + 1])
        previous = None
        if state.statements:
            last_sentence, last = state.statements[-1]
            previous = (last_sentence, last.speaker)
        resolution = find_speaker(
            sentence, sentence_turn, state.last_speaker, previous, lex, profile.window
        )
        resolution.speaker = _named_before(resolution.speaker, state)
        if resolution.how in ("explicit", "attribution", "turn") and resolution.speaker:
            state.last_speaker = resolution.speaker
        if sentence_turn.question:
            continue
        stance = find_stance(sentence, resolution, lex)
        decision = _relevance(profile, sentence, stance, context, state, resolution)
        if decision is None:
            continue
        rule, score, atoms = decision
        if resolution.speaker:
            score += profile.speaker_bonus
        if resolution.anchor and resolution.anchor.strong:
            score += profile.verb_bonus
        candidate = _candidate(
            profile, lang, sentence, resolution, stance, min(score, 0.99), rule, atoms, state
        )
        state.statements.append((sentence, candidate))
    return DocumentAnalysis(
        doc_id, lang, profile.name, len(sentences), tuple(c for _, c in state.statements)
    )


_ROLE = re.compile(r"^THE ((?:VICE )?PRESIDENT|(?:PRESS )?SECRETARY|AMBASSADOR|CHANCELLOR)$")


def _role_holder(profile: Profile, label: str, text: str) -> str | None:
    """Who a transcript's role label ("THE PRESIDENT:") stands for: the holder the text names.

    White House transcripts open with "Remarks by President Biden …" and then
    label his turns "THE PRESIDENT:"; without such a mention the role stays a role.
    """
    role = _ROLE.match(label)
    if not role:
        return None
    title = role.group(1).title()
    for m in re.finditer(rf"\b{title}[ \t]+([A-Z][\w'’-]+(?:[ \t][A-Z][\w'’-]+)?)", text):
        holder = profile.canonical_speaker(f"{title} {m.group(1)}", "en")
        if holder:
            return holder
    return None


def _named_before(speaker: str | None, state: _DocState) -> str | None:
    """The full name a lone surname stands for when the document named that person earlier.

    News names a person in full once ("Shin Won-sik said …") and by surname after
    ("…, Shin told reporters"): both are one speaker.
    """
    if not speaker or " " in speaker:
        return speaker
    earlier = [c.speaker for _, c in reversed(state.statements)] + [state.last_speaker]
    for name in earlier:
        if name and name != speaker and name.split()[-1] == speaker:
            return name
    return speaker


_SPACES = re.compile(r"\s+")
# Joins a document's lines for the screen: no term spans it, as no sentence does.
_LINE_GAP = "\n\x00\n"


def _producers(profile: Profile) -> dict[str, frozenset[str]]:
    """For each concept kind and each "id:<concept>", the matcher kinds whose hits can yield it.

    A concept of one kind can imply concepts of others ("KN-23" implies the
    source), so knowing whether a kind occurs can need more than its own matcher.
    """
    cached = profile.__dict__.get("_screen_producers")
    if cached is None:
        yields: dict[str, set[str]] = {}
        for concept in profile.concepts.values():
            pending, seen = [concept.id], set()
            while pending:
                cid = pending.pop()
                if cid in seen:
                    continue
                seen.add(cid)
                pending.extend(profile.concepts[cid].implies)
                for atom in (profile.concepts[cid].kind, f"id:{cid}"):
                    yields.setdefault(atom, set()).add(concept.kind)
        cached = {atom: frozenset(kinds) for atom, kinds in yields.items()}
        profile.__dict__["_screen_producers"] = cached
    return cached


def may_hold_statements(profile: Profile, lex: Lexicon, text: str, title: str | None) -> bool:
    """Whether any relevance rule could fire on some sentence of the document.

    Most pages a feed brings are off-topic, and reading every sentence of them
    (speakers, verbs, cues, attribution) is most of detection's cost. A few
    scans of the whole text decide it instead: a rule needs each of its groups
    met, and a group of concept atoms cannot be met by a sentence if the
    document names none of them. The concept matchers run only as a rule asks
    for them, so an off-topic page usually costs the scans for the source and
    the partner. Every other atom (stance, speaker, position) is assumed
    possible, and the document's topic is assumed set wherever the whole
    document sets it, so the test only ever errs towards reading a document.
    """
    lines = (_SPACES.sub(" ", line).strip() for line in [*text.splitlines(), title or ""])
    view = text_view(_LINE_GAP.join(line for line in lines if line))
    scan = lex.concepts.scan(view)
    producers = _producers(profile)
    scanned: dict[str, set[str]] = {}  # matcher kind -> the atoms its hits yield

    def found(matcher_kind: str) -> set[str]:
        if matcher_kind not in scanned:
            atoms: set[str] = set()
            matcher = lex.kinds.get(matcher_kind)
            hits = scan.find(matcher) if matcher and scan.may_find(matcher) else []
            pending = [hit.label for hit in hits]
            while pending:
                cid = pending.pop()
                if f"id:{cid}" not in atoms:
                    atoms |= {f"id:{cid}", profile.concepts[cid].kind}
                    pending.extend(profile.concepts[cid].implies)
            scanned[matcher_kind] = atoms
        return scanned[matcher_kind]

    def met(atom: str) -> bool:
        if atom == "@context":
            return all(met(k) for k in TOPIC_SIDES) and any(met(k) for k in TOPIC_SUBJECTS)
        if atom.startswith(("@", "stance:")):
            return True
        return any(atom in found(kind) for kind in producers.get(atom, ()))

    # The order only decides how soon a rule fails; with no scans of their own
    # (the usual case) every group costs nothing, and sorting would keep the rule's order.
    costly = any(m.scans for m in lex.kinds.values())

    def cost(group: tuple[str, ...]) -> int:
        # Groups that need no scan, or scans already made, go first; then the
        # cheaper scans: a rule fails at its first unmet group.
        if any(a.startswith(("@", "stance:")) and a != "@context" for a in group):
            return 0
        kinds = {k for a in group for k in producers.get(a, TOPIC_SIDES)} - scanned.keys()
        return sum(lex.kinds[k].size for k in kinds if k in lex.kinds)

    def order(groups: tuple[tuple[str, ...], ...]) -> Iterable[tuple[str, ...]]:
        return sorted(groups, key=cost) if costly else groups

    return any(
        rule.score >= profile.threshold
        and all(any(met(a) for a in group) for group in order(rule.groups))
        for rule in profile.rules
    )


def signature_of_text(
    profile: Profile, text: str, speaker: str | None, stance: str, lang: str | None
) -> Signature:
    """The signature of a stored statement's text, for when its own cannot be read."""
    lang = document_language(profile, text, lang)
    s = analyse_sentence(0, 0, text, profile.lexicon(lang), profile)
    return signature_of(s, speaker, stance, lang, read_facts(s, lang, profile), profile)


def _relevance(
    profile: Profile,
    sentence: Sentence,
    stance: str,
    context: bool,
    state: _DocState,
    r: Resolution,
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
    if any(sentence.index - s.index <= profile.window for s, _ in state.statements):
        atoms.add("@previous")
    for veto in profile.vetoes:
        if all(a in atoms for a in veto.when) and not any(a in atoms for a in veto.unless):
            return None
    best: Rule | None = None
    for rule in profile.rules:
        matches = all(any(a in atoms for a in group) for group in rule.groups)
        if matches and (best is None or rule.score > best.score):
            best = rule
    if best is None or best.score < profile.threshold:
        return None
    return best.id, best.score, sorted(atoms)


def _candidate(
    profile: Profile,
    lang: str,
    s: Sentence,
    r: Resolution,
    stance: str,
    score: float,
    rule: str,
    atoms: list[str],
    state: _DocState,
) -> Candidate:
    reading = read_facts(s, lang, profile)
    answers = None
    if stance == "deny":
        for position in range(len(state.statements) - 1, -1, -1):
            previous, candidate = state.statements[position]
            if s.index - previous.index > profile.window:
                break
            if candidate.speaker != r.speaker:
                answers = position
                break
    return Candidate(
        sentence_index=s.index,
        text=s.text,
        speaker=r.speaker,
        stance=stance,
        score=round(score, 3),
        signature=signature_of(s, r.speaker, stance, lang, reading, profile),
        facts=reading.facts,
        evidence={"rule": rule, "speaker_from": r.how, "atoms": atoms},
        own_id=statement_id_for(r.speaker, s.text),
        answers=answers,
    )
