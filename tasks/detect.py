"""Statement detection: documents in, statements with identities out, driven by a topic profile."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from armswatch.tasks.analysis import Candidate, DocumentAnalysis, analyse_document
from armswatch.tasks.analysis import signature_of_text as _signature_of_text
from armswatch.tasks.identity import (
    SIGNATURE_VERSION,
    Signature,
    StatementIndex,
    is_full_name,
    speaker_key,
    statement_id_for,
)
from armswatch.tasks.models import Detection, KnownStatement
from armswatch.tasks.profile import Concept, Profile, ProfileError, Rule, Veto

__all__ = [
    "SIGNATURE_VERSION",
    "Candidate",
    "Concept",
    "Detector",
    "DocumentAnalysis",
    "Profile",
    "ProfileError",
    "Rule",
    "StatementIndex",
    "Veto",
    "detect_documents",
    "main",
    "speaker_key",
    "statement_id_for",
]


class Detector:
    """Finds statements in documents and keeps the index that gives them identities.

    Two phases, so the CPU-heavy one can run anywhere: `analyse` reads one
    document (relevance, speaker, stance, facts, signature) from the profile
    alone; `resolve` gives the candidates identities against the index and must
    see documents in arrival order. `detect` is the two together. A Detector and
    an analysis pickle; the profile travels without its compiled lexicons.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.profile_name = profile.name
        self.index = StatementIndex.for_profile(profile)
        self._full_names: dict[str, str] = {}  # speaker block -> a full name seen in it
        self._listed = {entry["name"] for entry in profile.data.get("speaker", [])}

    @classmethod
    def from_profile(cls, profile: str | Path = "nk_russia") -> Detector:
        """A detector for a bundled profile name or a path to a TOML profile."""
        return cls(Profile.load(profile))

    def load_known(self, statements: Iterable[KnownStatement]) -> None:
        """Seed the identity index with statements the warehouse already holds."""
        for known in statements:
            if known.statement_id in self.index:
                continue
            signature = Signature.loads(known.signature)
            if signature is None:
                signature = _signature_of_text(
                    self.profile, known.text, known.speaker, known.stance, known.lang
                )
            self.index.add(known.statement_id, signature)
            self._as_named(known.speaker)

    def detect(
        self, doc_id: str, text: str, lang: str | None = None, *, title: str | None = None
    ) -> list[Detection]:
        """The statements in one document, in reading order, with identities assigned."""
        return self.resolve(self.analyse(doc_id, text, lang, title=title))

    def analyse(
        self, doc_id: str, text: str, lang: str | None = None, *, title: str | None = None
    ) -> DocumentAnalysis:
        """The statement candidates of one document; reads the profile only, never the index."""
        return analyse_document(self.profile, doc_id, text, lang, title)

    def resolve(self, analysis: DocumentAnalysis) -> list[Detection]:
        """Identities for an analysed document's candidates, recorded in the index.

        Call it in the order documents arrive: the first sighting of a claim is the
        one that makes it new.
        """
        if analysis.profile != self.profile_name:
            raise ValueError(
                f"analysis of {analysis.doc_id!r} was made with profile {analysis.profile!r}, "
                f"not {self.profile_name!r}"
            )
        detections: list[Detection] = []
        for candidate in analysis.candidates:
            detections.append(self._identify(analysis, candidate, detections))
        return detections

    def _identify(
        self, analysis: DocumentAnalysis, candidate: Candidate, earlier: list[Detection]
    ) -> Detection:
        assignment = self.index.assign(
            candidate.signature, candidate.own_id, [d.statement_id for d in earlier]
        )
        answers = None if candidate.answers is None else earlier[candidate.answers].statement_id
        speaker = self._as_named(candidate.speaker)
        evidence = candidate.evidence | assignment.evidence
        if speaker != candidate.speaker:
            evidence["speaker_as_written"] = candidate.speaker
        return Detection(
            doc_id=analysis.doc_id,
            sentence_index=candidate.sentence_index,
            text=candidate.text,
            speaker=speaker,
            stance=candidate.stance,
            score=candidate.score,
            statement_id=assignment.statement_id,
            is_new=assignment.is_new,
            lang=analysis.lang,
            signature=candidate.signature.dumps(),
            facts=candidate.facts,
            evidence=evidence,
            answers_statement_id=answers,
        )

    def _as_named(self, speaker: str | None) -> str | None:
        """A lone surname as the full name the index knows it by ("Peters" once "Winston
        Peters" has spoken, "조 장관" once "조태열 장관"); any other speaker as written,
        remembered when a full name."""
        if not speaker:
            return speaker
        key = speaker_key(speaker)
        block = self.index.block(key)
        if is_full_name(key):
            self._full_names.setdefault(block, speaker)
            return speaker
        if speaker in self._listed:
            # "Ukraine" or "NATO" the profile names: a body, not a surname.
            return speaker
        return self._full_names.get(block, speaker)


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
