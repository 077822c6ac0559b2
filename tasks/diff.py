"""Decide whether a text is a new version of its article, and what changed since the last one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from armswatch.tasks.models import ExtractedText, PreviousVersion, VersionRecord
from armswatch.tasks.text import content_hash, normalize, split_sentences

# A new text this much shorter than the stored one is a truncated or broken
# page, not an edit: storing it would look like every sentence was removed.
COLLAPSE_RATIO = 0.5
COLLAPSE_MIN_CHARS = 400

# Lines that change on every visit without the article changing.
_VOLATILE_LINE = re.compile(
    r"^\s*(?:(?:last\s+)?updated|published|stand|aktualisiert|обновлено|опубликовано|"
    r"수정|입력|advertisement|anzeige|реклама|광고|share|teilen|поделиться|공유|"
    r"\d+\s+(?:comments?|kommentare|комментари\w*|댓글))\b[^\n]{0,80}$",
    re.IGNORECASE | re.MULTILINE,
)
_TIMESTAMP_LINE = re.compile(r"^[\s\d:./,\-–apmAPMUTCGMT]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A text that did not become a version, and why."""

    article_id: str
    reason: str  # unchanged | collapsed | summary-after-full-text


def stable_text(text: str) -> str:
    """The text less its volatile lines: timestamps, share and comment counters."""
    return _TIMESTAMP_LINE.sub("", _VOLATILE_LINE.sub("", text))


def fingerprint(text: str) -> str:
    """content_hash of the stable part of a text."""
    return content_hash(stable_text(text))


def sentence_diff(
    old: str, new: str, lang: str | None = None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Sentences added and removed (compared normalised) and a unified diff, sentence per line."""
    old_sentences = split_sentences(stable_text(old), lang)
    new_sentences = split_sentences(stable_text(new), lang)
    old_keys = {normalize(s) for s in old_sentences}
    new_keys = {normalize(s) for s in new_sentences}
    added = tuple(s for s in new_sentences if normalize(s) not in old_keys)
    removed = tuple(s for s in old_sentences if normalize(s) not in new_keys)
    unified = "\n".join(
        difflib.unified_diff(old_sentences, new_sentences, "before", "after", n=1, lineterm="")
    )
    return added, removed, unified


def make_version(
    extracted: ExtractedText, previous: PreviousVersion | None, fetched_at: datetime
) -> VersionRecord | Skipped:
    """The next version of an article from its newly extracted text, or why there is none."""
    digest = fingerprint(extracted.text)
    if previous is None:
        return VersionRecord(
            extracted.article_id, 1, fetched_at, digest, extracted.text,
            extracted.lang, extracted.method,
        )
    if digest == previous.content_hash:
        return Skipped(extracted.article_id, "unchanged")
    if extracted.method == "feed-summary" and previous.method != "feed-summary":
        return Skipped(extracted.article_id, "summary-after-full-text")
    old_len, new_len = len(normalize(previous.text)), len(normalize(extracted.text))
    if old_len >= COLLAPSE_MIN_CHARS and new_len < old_len * COLLAPSE_RATIO:
        return Skipped(extracted.article_id, f"collapsed from {old_len} to {new_len} characters")
    added, removed, unified = sentence_diff(previous.text, extracted.text, extracted.lang)
    return VersionRecord(
        extracted.article_id,
        previous.version + 1,
        fetched_at,
        digest,
        extracted.text,
        extracted.lang,
        extracted.method,
        added,
        removed,
        unified,
    )


def diff_versions(
    texts: Sequence[ExtractedText],
    previous: Mapping[str, PreviousVersion],
    fetched_at: datetime,
) -> tuple[list[VersionRecord], list[Skipped]]:
    """make_version over a batch: the new versions, and the texts that made none."""
    versions: list[VersionRecord] = []
    skipped: list[Skipped] = []
    for extracted in texts:
        outcome = make_version(extracted, previous.get(extracted.article_id), fetched_at)
        (versions if isinstance(outcome, VersionRecord) else skipped).append(outcome)
    return versions, skipped
