"""The monitor flow end to end, under Prefect's test harness, against a real local server."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from armswatch.demo.server import ReplayServer
from armswatch.flows.monitor import monitor
from armswatch.tasks import process
from armswatch.warehouse.db import Warehouse

SITE = Path(__file__).parent / "fixtures" / "site"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def scalar(wh: Warehouse, sql: str):
    with wh.connect(read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def table_counts(wh: Warehouse) -> dict[str, int]:
    names = ["articles", "article_versions", "article_diffs", "statements",
             "statement_sightings", "statement_facts", "feed_entries"]
    return {n: scalar(wh, f"SELECT count(*) FROM {n}") for n in names}


@pytest.fixture
def site():
    with ReplayServer([SITE / "v1"]) as server:
        yield server


def run(site, db, **kw):
    return monitor(sources=str(SITE / "sources.toml"), db=str(db),
                   substitutions={"__BASE__": site.base_url}, **kw)


def test_cycle_stores_articles_versions_and_statements(site, tmp_path):
    db = tmp_path / "w.duckdb"
    result = run(site, db)
    wh = Warehouse(str(db))
    counts = result.counts
    assert counts.feeds == 3 and counts.feeds_failed == 1
    # the page gone for good still leaves its feed summary, marked as such
    assert counts.new_articles == 3 and counts.failed == 1
    assert counts.new_statements >= 2

    with wh.connect(read_only=True) as con:
        polls = dict(con.execute("SELECT source, coalesce(error, 'ok') FROM feed_polls").fetchall())
        assert polls["world"] == "ok" and polls["broken"] == "ok"
        assert "404" in polls["missing"]
        urls = dict(con.execute("SELECT canonical_url, status FROM articles").fetchall())
        containers = f"{site.base_url}/news/containers.html"
        assert urls[containers] == "ok"  # tracking parameter dropped, two feeds, one article
        assert urls[f"{site.base_url}/news/removed.html"] == "gone"
        methods = dict(con.execute(
            "SELECT a.canonical_url, v.method FROM article_versions v JOIN articles a USING "
            "(article_id)").fetchall())
        assert methods[f"{site.base_url}/news/removed.html"] == "feed-summary"
        assert methods[containers] == "trafilatura"
        text = con.execute("SELECT text FROM article_versions WHERE version = 1 AND text LIKE "
                           "'%6,700 containers%'").fetchone()[0]
        assert "Privacy" not in text and "Related" not in text
        speakers = {r[0] for r in con.execute("SELECT speaker FROM new_statements").fetchall()}
        assert any("Shin" in (s or "") for s in speakers)
        assert any("Kirby" in (s or "") for s in speakers)


def test_rerun_adds_nothing(site, tmp_path):
    db = tmp_path / "w.duckdb"
    run(site, db)
    wh = Warehouse(str(db))
    before = table_counts(wh)
    again = run(site, db, recheck_all=True)
    assert table_counts(wh) == before
    assert again.counts.new_versions == 0 and again.counts.new_statements == 0
    assert scalar(wh, "SELECT count(*) FROM feed_polls") == 6


def test_edit_makes_a_version_and_a_diff(site, tmp_path):
    db = tmp_path / "w.duckdb"
    run(site, db)
    site.set_layers([SITE / "v2", SITE / "v1"])
    result = run(site, db, recheck_all=True)
    assert result.counts.new_versions == 1 and result.counts.changed_articles == 1
    wh = Warehouse(str(db))
    with wh.connect(read_only=True) as con:
        added, removed, to_version = con.execute(
            "SELECT added_sentences, removed_sentences, to_version FROM article_changes"
        ).fetchone()
    assert to_version == 2
    assert added == ["Kremlin spokesman Dmitry Peskov on Tuesday dismissed the South Korean "
                     "claims as baseless."]
    assert removed == []
    assert result.counts.new_statements >= 1


def test_unchanged_feeds_are_not_refetched(site, tmp_path):
    db = tmp_path / "w.duckdb"
    run(site, db)
    site.requests.clear()
    run(site, db)
    fetched = [r for r in site.requests if "/news/" in r.path]
    assert fetched == []
    feeds = [r for r in site.requests if r.path.endswith("world.xml")]
    assert feeds and all(r.headers.get("if-none-match") for r in feeds)


def test_run_publishes_artifacts_events_feed_and_assets(site, tmp_path):
    import asyncio

    import feedparser
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    db = tmp_path / "w.duckdb"
    result = run(site, db)

    async def read():
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
                    "armswatch-monitor-summary", "armswatch-new-statements"])),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[result.run_id])),
            )
            return artifacts

    artifacts = asyncio.run(read())
    kinds = {a.key: a for a in artifacts}
    assert set(kinds) == {"armswatch-monitor-summary", "armswatch-new-statements"}
    assert "New statements" in kinds["armswatch-monitor-summary"].data
    assert "Kirby" in json.dumps(kinds["armswatch-new-statements"].data)

    feed = feedparser.parse((tmp_path / "w-statements.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == result.counts.new_statements


def _content(db) -> dict[str, list]:
    wh = Warehouse(str(db))
    with wh.connect(read_only=True) as con:
        return {
            "versions": con.execute("SELECT a.canonical_url, v.version, v.content_hash FROM "
                                    "article_versions v JOIN articles a USING (article_id) "
                                    "ORDER BY 1, 2").fetchall(),
            "statements": con.execute("SELECT statement_id, speaker, stance FROM statements "
                                      "ORDER BY 1").fetchall(),
            "sightings": con.execute("SELECT statement_id, sentence FROM statement_sightings "
                                     "ORDER BY 1, 2").fetchall(),
        }


def test_overlapping_batches_store_what_one_batch_stores(site, tmp_path, monkeypatch):
    run(site, tmp_path / "one.duckdb")
    # Many small batches on one worker: fetching, processing and writing of
    # neighbouring batches overlap, and identities must still follow arrival order.
    monkeypatch.setenv("ARMSWATCH_BATCH_SIZE", "2")
    monkeypatch.setenv("ARMSWATCH_WORKERS", "1")
    run(site, tmp_path / "batched.duckdb")
    one, batched = _content(tmp_path / "one.duckdb"), _content(tmp_path / "batched.duckdb")
    # The port is the same, so even the URLs agree.
    assert batched == one and one["statements"]


def test_spooled_pages_store_what_pages_in_memory_store(site, tmp_path, monkeypatch):
    run(site, tmp_path / "memory.duckdb")
    # The pages in flight wait in a temporary directory, removed with the run's workers.
    spool_root = tmp_path / "spool"
    spool_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool_root))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read once, then cached
    monkeypatch.setenv("ARMSWATCH_SPOOL_PAGES", "true")
    monkeypatch.setenv("ARMSWATCH_BATCH_SIZE", "2")
    spooled_pages: list[int] = []
    real_spool = process.WorkerPool.spool

    def spool(self, works):
        spooled_pages.append(len(works))
        return real_spool(self, works)

    monkeypatch.setattr(process.WorkerPool, "spool", spool)
    run(site, tmp_path / "spooled.duckdb")
    memory, spooled = _content(tmp_path / "memory.duckdb"), _content(tmp_path / "spooled.duckdb")
    assert spooled == memory and memory["statements"]
    assert sum(spooled_pages) >= len(memory["versions"]) > 0
    assert not any(p.name.startswith("armswatch-pages-") for p in spool_root.iterdir())
