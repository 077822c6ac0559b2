"""Reprocess: detection again over stored versions, idempotent, following a changed profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from armswatch.demo.server import ReplayServer
from armswatch.flows.monitor import monitor
from armswatch.flows.reprocess import reprocess
from armswatch.tasks import load
from armswatch.tasks.detect import Detector
from armswatch.warehouse.db import Warehouse

SITE = Path(__file__).parent / "fixtures" / "site"
PROFILES = Path(__file__).resolve().parents[1] / "tasks" / "profiles"
pytestmark = pytest.mark.usefixtures("prefect_harness")


def snapshot(db) -> dict[str, list]:
    with Warehouse(str(db)).connect(read_only=True) as con:
        return {
            "statements": con.execute("SELECT statement_id, speaker, stance, text, first_seen_at "
                                      "FROM statements ORDER BY 1").fetchall(),
            "sightings": con.execute("SELECT statement_id, article_id, version, sentence_index "
                                     "FROM statement_sightings ORDER BY ALL").fetchall(),
            "facts": con.execute("SELECT * FROM statement_facts ORDER BY ALL").fetchall(),
        }


@pytest.fixture
def warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with ReplayServer([SITE / "v1"]) as site:
        monitor(sources=str(SITE / "sources.toml"), db=str(db),
                substitutions={"__BASE__": site.base_url})
    return db


def test_reprocess_with_the_same_profile_changes_nothing(warehouse):
    before = snapshot(warehouse)
    counts = reprocess(db=str(warehouse))
    assert snapshot(warehouse) == before
    assert counts["statements"] == len(before["statements"]) and counts["versions"] == 3
    reprocess(db=str(warehouse))
    assert snapshot(warehouse) == before


def test_reprocess_follows_a_profile_change(warehouse, tmp_path):
    before = snapshot(warehouse)
    # A stricter profile: same name (so it replaces the statements), a higher bar.
    text = (PROFILES / "nk_russia.toml").read_text()
    assert "[relevance]\nthreshold = 0.6" in text
    strict = tmp_path / "strict.toml"
    strict.write_text(text.replace("[relevance]\nthreshold = 0.6", "[relevance]\nthreshold = 99"))
    assert Detector.from_profile(strict).profile_name == "nk_russia"
    reprocess(db=str(warehouse), profile=str(strict))
    assert snapshot(warehouse) == {"statements": [], "sightings": [], "facts": []}
    reprocess(db=str(warehouse))
    assert snapshot(warehouse) == before
    # The statements it made again are history: no monitor run announces them.
    assert before["statements"] and load.unannounced_statements(Warehouse(str(warehouse))) == []
