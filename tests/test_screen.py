"""The document screen in front of statement analysis never changes what analysis finds."""

from __future__ import annotations

import json

import pytest
import trafilatura

from armswatch.tasks import analysis
from armswatch.tasks.detect import Profile
from tests.helpers import REPO, shared_dir

DATA = REPO / "tests" / "data"
DEMO = REPO / "armswatch" / "demo" / "corpus"


def _labelled() -> list[tuple[str, str, str | None]]:
    docs = []
    for path in sorted(DATA.glob("detect_*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            docs.append((row["id"], row["text"], row["lang"]))
    return docs


def _demo_pages() -> list[tuple[str, str, str | None]]:
    docs = []
    for page in sorted(DEMO.rglob("*.html")):
        doc = trafilatura.bare_extraction(page.read_text("utf-8"), fast=True)
        if doc is not None and doc.text:
            docs.append((str(page.relative_to(DEMO)), doc.text, None))
    return docs


def _shared_texts() -> list[tuple[str, str, str | None]]:
    shared = shared_dir()
    if shared is None:
        return []
    docs = []
    for path in sorted((shared / "corpus" / "real-news").rglob("*.md")):
        docs.append((path.name, path.read_text("utf-8"), "en"))
    truth = shared / "corpus" / "article-extraction-benchmark" / "ground-truth.json"
    if truth.is_file():
        for key, item in json.loads(truth.read_text("utf-8")).items():
            docs.append((key, item.get("articleBody") or "", None))
    return docs


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, str, str | None]]:
    return _labelled() + _demo_pages() + _shared_texts()


@pytest.mark.parametrize("name", ["nk_russia", "iran_russia"])
def test_screened_analysis_equals_full_analysis(documents, name, monkeypatch):
    profile = Profile.load(name)
    screened = [analysis.analyse_document(profile, *doc) for doc in documents]
    monkeypatch.setattr(analysis, "may_hold_statements", lambda *args: True)
    full = [analysis.analyse_document(profile, *doc) for doc in documents]
    for doc, a, b in zip(documents, screened, full, strict=True):
        assert a.candidates == b.candidates, doc[0]
    assert sum(bool(a.candidates) for a in full) >= (30 if name == "nk_russia" else 1)


def test_screen_passes_over_off_topic_pages():
    shared = shared_dir()
    if shared is None:
        pytest.skip("shared/ is absent: no off-topic news pages to screen")
    truth_file = shared / "corpus" / "article-extraction-benchmark" / "ground-truth.json"
    truth = json.loads(truth_file.read_text("utf-8"))
    profile = Profile.load("nk_russia")
    screened = [
        not analysis.analyse_document(profile, key, item.get("articleBody") or "").sentences
        for key, item in truth.items()
    ]
    # The benchmark's 181 news pages are about anything but this topic.
    assert sum(screened) >= 0.9 * len(screened)


def test_title_alone_can_set_the_topic():
    profile = Profile.load("nk_russia")
    text = "They emphasized that these arms shipments are only prolonging the suffering."
    title = "North Korea sends artillery shells to Russia, officials say"
    assert not analysis.may_hold_statements(profile, profile.lexicon("en"), text, None)
    assert analysis.may_hold_statements(profile, profile.lexicon("en"), text, title)

