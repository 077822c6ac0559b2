"""Versions and diffs: what counts as an edit, and what never does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from armswatch.tasks.diff import Skipped, diff_versions, make_version, sentence_diff
from armswatch.tasks.models import ExtractedText, PreviousVersion, VersionRecord

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BODY = (
    "South Korea's defence minister said North Korea had shipped about 6,700 containers "
    "of munitions to Russia. The containers could hold more than three million 152 mm "
    "shells, he told reporters in Seoul. The Kremlin has denied receiving any weapons.\n"
    "Officials in Washington said the transfers violated UN Security Council resolutions. "
) * 2


def first(text=BODY):
    v = make_version(ExtractedText("a", text, lang="en"), None, NOW)
    assert isinstance(v, VersionRecord)
    return PreviousVersion("a", v.version, v.content_hash, v.text, v.method)


@pytest.mark.parametrize(
    "edited",
    [
        BODY.replace(". ", ".  "),  # whitespace
        BODY.replace("munitions", "munitions,").replace("said", "said:"),  # punctuation
        BODY.upper(),  # case
        BODY + "\nUpdated 14:32 GMT\n",  # a timestamp line
        BODY + "\nShare this article\n",  # share widget
        BODY + "\n12 comments\n",  # comment counter
    ],
)
def test_cosmetic_edits_make_no_version(edited):
    outcome = make_version(ExtractedText("a", edited, lang="en"), first(), NOW)
    assert outcome == Skipped("a", "unchanged")


def test_a_real_edit_makes_version_two_with_its_diff():
    edited = BODY.replace("about 6,700 containers", "about 7,000 containers") + (
        "\nThe Kremlin spokesman dismissed the report as groundless."
    )
    v = make_version(ExtractedText("a", edited, lang="en"), first(), NOW)
    assert isinstance(v, VersionRecord) and v.version == 2
    assert any("7,000 containers" in s for s in v.added_sentences)
    assert any("6,700 containers" in s for s in v.removed_sentences)
    assert "The Kremlin spokesman dismissed the report as groundless." in v.added_sentences
    assert "-South Korea's defence minister said" in v.unified_diff
    assert "+The Kremlin spokesman dismissed" in v.unified_diff


def test_a_collapsed_text_is_not_an_edit():
    truncated = BODY[:150]
    outcome = make_version(ExtractedText("a", truncated, lang="en"), first(), NOW)
    assert isinstance(outcome, Skipped) and outcome.reason.startswith("collapsed")


def test_feed_summary_never_replaces_full_text():
    summary = ExtractedText("a", "Seoul says Pyongyang shipped shells.", method="feed-summary")
    assert make_version(summary, first(), NOW) == Skipped("a", "summary-after-full-text")


def test_full_text_replaces_a_feed_summary():
    v = make_version(ExtractedText("a", "Seoul says Pyongyang shipped shells.",
                                  method="feed-summary"), None, NOW)
    prev = PreviousVersion("a", 1, v.content_hash, v.text, v.method)
    assert isinstance(make_version(ExtractedText("a", BODY), prev, NOW), VersionRecord)


def test_sentence_diff_is_by_normalised_sentence():
    added, removed, unified = sentence_diff("One. Two. Three.", "One. Two! Four.")
    assert added == ("Four.",) and removed == ("Three.",)
    assert unified.startswith("--- before\n+++ after")


def test_diff_versions_splits_new_from_skipped():
    prev = first()
    versions, skipped = diff_versions(
        [ExtractedText("a", BODY), ExtractedText("b", BODY)], {"a": prev}, NOW
    )
    assert [v.article_id for v in versions] == ["b"] and versions[0].version == 1
    assert skipped == [Skipped("a", "unchanged")]
