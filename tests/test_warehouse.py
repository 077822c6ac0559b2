"""The warehouse: migrations, idempotent batched writes, views, readers beside a writer."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from armswatch.tasks import load
from armswatch.tasks.models import FeedEntry, FeedPoll, Source
from armswatch.warehouse import db as dbmod
from armswatch.warehouse import queries, store
from armswatch.warehouse.db import MigrationError, Warehouse

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PUBLIC_TABLES = {
    "articles": ["article_id", "canonical_url", "source", "title", "published_at", "lang",
                 "first_seen_at", "last_seen_at"],
    "article_versions": ["article_id", "version", "fetched_at", "content_hash", "text"],
    "article_diffs": ["article_id", "from_version", "to_version", "detected_at",
                      "added_sentences", "removed_sentences", "unified_diff"],
    "statements": ["statement_id", "first_seen_at", "speaker", "stance", "text", "lang"],
    "statement_sightings": ["statement_id", "article_id", "version", "sentence", "seen_at"],
    "statement_facts": ["statement_id", "weapon", "quantity", "unit", "direction", "period"],
    "feed_polls": ["source", "polled_at", "http_status", "entries_seen", "entries_new", "error"],
    "new_statements": ["statement_id", "first_seen_at", "speaker", "stance", "text", "url",
                       "source", "lang"],
    "article_changes": ["url", "title", "from_version", "to_version", "detected_at",
                        "added_sentences", "removed_sentences"],
}


@pytest.fixture
def wh(tmp_path):
    warehouse = Warehouse(str(tmp_path / "w.duckdb"))
    warehouse.migrate()
    return warehouse


def test_public_contract_columns(wh):
    with wh.connect(read_only=True) as con:
        for table, columns in PUBLIC_TABLES.items():
            have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert set(columns) <= set(have), (table, set(columns) - set(have))


def test_migrations_apply_once_and_are_recorded(wh):
    assert wh.migrate() == []
    with wh.connect(read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT name FROM schema_migrations").fetchall()]
    assert names == [name for name, _ in dbmod.migrations()]


def test_failed_migration_leaves_previous_state(wh):
    broken = [
        *dbmod.migrations(),
        ("9998_add_column", "ALTER TABLE articles ADD COLUMN extra INTEGER;"),
        ("9999_broken", "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;"),
    ]
    with wh.connect() as con:
        con.execute(
            "INSERT INTO articles (article_id, canonical_url, source, first_seen_at, last_seen_at)"
            " VALUES ('a', 'https://example.org/a', 's', now(), now())"
        )
        with pytest.raises(MigrationError, match="9999_broken"):
            dbmod.migrate(con, broken)
        applied = {r[0] for r in con.execute("SELECT name FROM schema_migrations").fetchall()}
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert "9998_add_column" in applied and "9999_broken" not in applied
    assert "half" not in tables


def _poll(entries, polled_at=NOW, **kw):
    return FeedPoll("feed", polled_at, 200, tuple(entries), **kw)


def _entry(n, updated=None):
    return FeedEntry("feed", f"guid-{n}", f"https://news.example/{n}", f"title {n}", "summary",
                     NOW - timedelta(hours=1), updated)


def test_record_polls_is_idempotent(wh):
    source = [Source("feed", "https://news.example/rss")]
    assert load.record_polls(wh, source, [_poll([_entry(1), _entry(2)])], "r1") == {"feed": 2}
    assert load.record_polls(wh, source, [_poll([_entry(1), _entry(2)],
                                                NOW + timedelta(minutes=5))], "r2") == {}
    with wh.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM feed_entries").fetchone()[0] == 2
        polls = con.execute("SELECT entries_seen, entries_new FROM feed_polls ORDER BY polled_at")
        assert polls.fetchall() == [(2, 2), (2, 0)]


def test_feed_update_makes_article_due_again(wh):
    source = [Source("feed", "https://news.example/rss")]
    load.record_polls(wh, source, [_poll([_entry(1)])], "r1")
    due = load.plan_fetches(wh, NOW, 10)
    assert [r.url for r in due] == ["https://news.example/1"]
    with wh.transaction() as con:
        con.execute("UPDATE articles SET status = 'ok', next_check_at = ?, "
                    "fetched_feed_updated_at = feed_updated_at", [NOW + timedelta(days=1)])
    assert load.plan_fetches(wh, NOW, 10) == []
    load.record_polls(wh, source, [_poll([_entry(1, updated=NOW)], NOW + timedelta(minutes=1))],
                      "r2")
    assert [r.url for r in load.plan_fetches(wh, NOW, 10)] == ["https://news.example/1"]


def test_recheck_schedule_backs_off_with_age():
    young = load.next_check(NOW, NOW - timedelta(minutes=30))
    day_old = load.next_check(NOW, NOW - timedelta(days=1))
    week_old = load.next_check(NOW, NOW - timedelta(days=7))
    assert young - NOW == load.MIN_RECHECK
    assert young < day_old < week_old
    assert load.next_check(NOW, NOW - timedelta(days=365)) is None


def test_bundled_queries_parse(wh):
    with wh.connect(read_only=True) as con:
        for name in queries.names():
            sql = queries.load(name)
            params = {p: NOW for p in ("since", "until") if f"${p}" in sql}
            con.execute(sql, params).fetchall()


def _hold_write_lock(path, ready, release):
    con = duckdb.connect(path)
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO runs VALUES ('held', 'test', now(), NULL, NULL)")
    ready.set()
    release.wait(30)
    con.execute("COMMIT")
    con.close()


def test_reader_waits_for_a_writer_in_another_process(wh):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_hold_write_lock, args=(wh.path, ready, release))
    writer.start()
    try:
        assert ready.wait(60)
        busy = Warehouse(wh.path, wait_seconds=0.2)
        with pytest.raises(dbmod.WarehouseBusy), busy.connect(read_only=True):
            pass
        release.set()
        patient = Warehouse(wh.path, wait_seconds=30)
        with patient.connect(read_only=True) as con:
            assert con.execute("SELECT run_id FROM runs").fetchall() == [("held",)]
    finally:
        release.set()
        writer.join(30)


def test_second_run_is_refused_or_waits(wh):
    held, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first_run():
        with wh.run_lock():
            order.append("first")
            held.set()
            release.wait(30)
        order.append("first done")

    thread = threading.Thread(target=first_run)
    thread.start()
    assert held.wait(30)
    with pytest.raises(dbmod.RunInProgress, match="another run"), wh.run_lock():
        pass
    threading.Timer(0.3, release.set).start()
    with wh.run_lock(wait=True):
        order.append("second")
    thread.join(30)
    assert order == ["first", "first done", "second"]


def test_memory_warehouse_keeps_its_data():
    wh = Warehouse(":memory:")
    wh.migrate()
    with wh.transaction() as con:
        store.insert_new(con, "statement_facts", [{"statement_id": "s", "fact_index": 0}])
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM statement_facts").fetchone()[0] == 1
