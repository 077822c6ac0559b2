"""The warehouse: migrations, idempotent batched writes, views, readers beside a writer."""

from __future__ import annotations

import json
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


# ---------------------------------------------------------------------------
# Columns derived from other rows (migration 0003): the queries read them
# instead of the whole history, so they must match a recomputation from
# scratch after any sequence of writes.
# ---------------------------------------------------------------------------


def _at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def _article(n: int, published: float | None, lang: str | None) -> dict:
    return {"article_id": f"a{n}", "canonical_url": f"https://news{n % 2}.example/{n}",
            "source": f"source-{n % 2}", "title": f"title {n}",
            "published_at": None if published is None else _at(published), "lang": lang,
            "first_seen_at": _at(n), "last_seen_at": _at(n)}


def _statement(sid: str, hours: float, speaker: str | None = "Kim Yo Jong",
               stance: str = "deny", answers: str | None = None, profile: str = "nk_russia"
               ) -> dict:
    return {"statement_id": sid, "first_seen_at": _at(hours), "speaker": speaker,
            "stance": stance, "text": f"The claim {sid}.", "lang": "en", "score": 0.9,
            "profile": profile, "signature": "{}", "answers_statement_id": answers}


def _sighting(sid: str, article: int, version: int, index: int, hours: float,
              lang: str | None = "en") -> dict:
    return {"statement_id": sid, "article_id": f"a{article}", "version": version,
            "sentence_index": index, "sentence": f"{sid} as a{article} v{version} put it.",
            "seen_at": _at(hours), "speaker": None, "stance": None, "score": 0.9, "lang": lang,
            "evidence": "{}"}


def _fact(sid: str, quantity: float) -> dict:
    return {"statement_id": sid, "fact_index": 0, "weapon": "artillery shells",
            "quantity": quantity, "unit": "shells", "direction": "kp->ru"}


def _with_articles(wh: Warehouse, articles: list[dict]) -> Warehouse:
    with wh.transaction() as con:
        for a in articles:
            con.execute(f"INSERT INTO articles ({', '.join(a)}, current_version)"
                        f" VALUES ({', '.join('?' * len(a))}, 1)", list(a.values()))
    return wh


ARTICLES = [_article(1, 0.5, "en"), _article(2, None, "de"), _article(3, 2.5, None),
            _article(4, 3.5, "ru")]

# Three batches, the second bringing a sighting older than the statement's
# first (another writer committed late), the third a new version of an article
# and the date and language its first fetch lacked.
BATCHES = [
    {"statements": [_statement("st_a", 2), _statement("st_b", 2, speaker=None,
                                                     stance="assert")],
     "sightings": [_sighting("st_a", 2, 1, 3, 2), _sighting("st_b", 2, 1, 5, 2, lang=None)],
     "facts": [_fact("st_a", 1000.0)]},
    {"statements": [_statement("st_c", 3, answers="st_a")],
     "sightings": [_sighting("st_a", 1, 1, 0, 1, lang=None), _sighting("st_c", 3, 1, 0, 3,
                                                                       lang=None),
                   _sighting("st_b", 3, 1, 1, 3, lang="ko")],
     "facts": [_fact("st_c", 2000.0)]},
    {"statements": [],
     "sightings": [_sighting("st_a", 2, 2, 1, 4, lang="ru"), _sighting("st_c", 4, 1, 2, 4)],
     "facts": [],
     "article_updates": [{"article_id": "a2", "status": "ok", "published_at": _at(1.5),
                          "lang": "ko", "failures": 0, "current_version": 2,
                          "last_fetched_at": _at(4)}]},
]


def _write(wh: Warehouse, batch: dict) -> None:
    with wh.transaction() as con:
        store.record_batch(con, batch.get("article_updates", []), [], [], batch["statements"],
                           batch["sightings"], batch["facts"])


def _read_derived(con) -> dict[str, list]:
    return {
        "statements": con.execute(
            f"SELECT statement_id, {', '.join(store._STATEMENT_COLUMNS)}"
            " FROM statements ORDER BY ALL").fetchall(),
        "sightings": con.execute(
            f"SELECT article_id, version, sentence_index, statement_id,"
            f" {', '.join(store._SIGHTING_COLUMNS)} FROM statement_sightings ORDER BY ALL"
        ).fetchall(),
        "facts": con.execute(
            "SELECT statement_id, fact_index, reported_at FROM statement_facts ORDER BY ALL"
        ).fetchall(),
    }


def _derived(wh: Warehouse) -> dict[str, list]:
    with wh.connect(read_only=True) as con:
        return _read_derived(con)


def _from_scratch(wh: Warehouse) -> dict[str, list]:
    """The derived columns recomputed over every row, in a rolled-back transaction."""
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"UPDATE statement_sightings SET"
                    f" {', '.join(f'{c} = NULL' for c in store._SIGHTING_COLUMNS)}")
        con.execute(f"UPDATE statements SET"
                    f" {', '.join(f'{c} = NULL' for c in store._STATEMENT_COLUMNS)}")
        con.execute("UPDATE statement_facts SET reported_at = NULL")
        store.refresh_derived(con)
        found = _read_derived(con)
        con.execute("ROLLBACK")
    return found


def test_derived_columns_follow_batches_written_out_of_order(wh):
    _with_articles(wh, ARTICLES)
    for batch in BATCHES:
        _write(wh, batch)
        assert _derived(wh) == _from_scratch(wh)
    with wh.connect(read_only=True) as con:
        first = dict(con.execute(
            "SELECT statement_id, first_article_id FROM statements").fetchall())
        # The late sighting in a1 (hour 1) came before st_a's first one (a2, hour 2).
        assert first == {"st_a": "a1", "st_b": "a2", "st_c": "a3"}
        view = con.execute("SELECT statement_id, url, source FROM new_statements"
                           " ORDER BY statement_id").fetchall()
        assert view == [("st_a", "https://news1.example/1", "source-1"),
                        ("st_b", "https://news0.example/2", "source-0"),
                        ("st_c", "https://news1.example/3", "source-1")]
        flags = con.execute(
            "SELECT statement_id, article_id, version, first_sighting, first_in_article"
            " FROM statement_sightings WHERE statement_id = 'st_a' ORDER BY seen_at").fetchall()
        assert flags == [("st_a", "a1", 1, True, True), ("st_a", "a2", 1, False, True),
                         ("st_a", "a2", 2, False, False)]
        a = con.execute(
            "SELECT article_count, languages::VARCHAR[], language_count, language_articles,"
            " reported_at, language_firsts FROM statements WHERE statement_id = 'st_a'"
        ).fetchone()
        # a1's sighting has no language of its own and takes its article's; a2's
        # first has "en", its second "ru".
        assert a[:5] == (2, ["en", "ru"], 2, 2, _at(0.5))
        firsts = json.loads(a[5])
        assert [(f["lang"], f["articles"], f["url"]) for f in firsts] == [
            ("en", 2, "https://news1.example/1"), ("ru", 1, "https://news0.example/2")]
        # a2 had no date until batch 3, and its language changed from de to ko:
        # st_b's language-less sighting there follows it.
        b = con.execute("SELECT reported_at, languages::VARCHAR[] FROM statements"
                        " WHERE statement_id = 'st_b'").fetchone()
        assert b == (_at(1.5), ["ko"])
        assert con.execute("SELECT reported_at FROM statement_sightings WHERE article_id = 'a2'"
                           " AND version = 1 AND statement_id = 'st_a'").fetchone() == (_at(1.5),)
        assert con.execute("SELECT reported_at FROM statement_facts"
                           " WHERE statement_id = 'st_a'").fetchone() == (_at(0.5),)
        # st_c answers st_a, which was written a batch earlier.
        assert con.execute("SELECT answers_speaker, answers_text FROM statements"
                           " WHERE statement_id = 'st_c'").fetchone() == (
            "Kim Yo Jong", "The claim st_a.")


def test_rerunning_a_batch_repairs_and_adds_nothing(wh):
    _with_articles(wh, ARTICLES)
    for batch in BATCHES:
        _write(wh, batch)
    before = _derived(wh)
    with wh.transaction() as con:
        con.execute("UPDATE statements SET article_count = 99, language_firsts = NULL"
                    " WHERE statement_id = 'st_a'")
        con.execute("UPDATE statement_sightings SET first_in_article = NOT first_in_article")
    _write(wh, BATCHES[2])
    after = _derived(wh)
    assert after["statements"] == before["statements"]
    # The batch's statements are st_a and st_c: all their sightings are mended.
    assert [r for r in after["sightings"] if r[3] != "st_b"] == [
        r for r in before["sightings"] if r[3] != "st_b"]
    with wh.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM statement_sightings").fetchone() == (7,)


def test_reprocess_rewrites_derived_columns_and_keeps_time_order(wh):
    _with_articles(wh, ARTICLES)
    for batch in BATCHES:
        _write(wh, batch)
    other = _statement("st_other", 1, profile="iran_russia", answers="st_a")
    with wh.transaction() as con:
        store.record_batch(con, [], [], [], [other], [_sighting("st_other", 4, 1, 5, 1)], [])
    # The profile now finds st_a only in a2, later, and st_d in a1; st_b and st_c are gone.
    statements = [_statement("st_d", 1, stance="condemn"), _statement("st_a", 3)]
    sightings = [_sighting("st_a", 2, 2, 1, 4, lang="ru"), _sighting("st_a", 2, 1, 3, 3),
                 _sighting("st_d", 1, 1, 0, 1)]
    with wh.transaction() as con:
        store.replace_detections(con, "nk_russia", statements, sightings, [_fact("st_d", 5.0)])
    assert _derived(wh) == _from_scratch(wh)
    with wh.connect(read_only=True) as con:
        rows = con.execute("SELECT statement_id, first_article_id, article_count,"
                           " languages::VARCHAR[] FROM statements ORDER BY rowid").fetchall()
        # Appended in first_seen_at order, so the table stays in time order.
        assert rows == [("st_other", "a4", 1, ["en"]), ("st_d", "a1", 1, ["en"]),
                        ("st_a", "a2", 1, ["en", "ru"])]
        # st_other answers st_a, which the rewrite replaced with another wording.
        assert con.execute("SELECT answers_text FROM statements"
                           " WHERE statement_id = 'st_other'").fetchone() == ("The claim st_a.",)
        seen = [r[0] for r in con.execute(
            "SELECT seen_at FROM statement_sightings WHERE statement_id <> 'st_other'"
            " ORDER BY rowid").fetchall()]
        assert seen == sorted(seen)
        view = con.execute("SELECT statement_id, url FROM new_statements ORDER BY 1").fetchall()
        assert view == [("st_a", "https://news0.example/2"), ("st_d", "https://news1.example/1"),
                        ("st_other", "https://news0.example/4")]


def test_migration_backfill_runs_the_write_paths_selects():
    """The backfill and refresh_derived compute with the same SQL (modulo layout)."""
    migration = dict(dbmod.migrations())["0003_denormalised_reads"]

    def flat(sql: str) -> str:
        return " ".join(sql.replace("(", " ( ").replace(")", " ) ").split())

    for template in (store._DERIVED_SIGHTINGS, store._DERIVED_STATEMENTS):
        assert flat(template.format(**store._TABLES)) in flat(migration)


def test_migrating_a_0002_warehouse_backfills_what_the_write_path_writes(wh, tmp_path):
    """A warehouse written at schema 0002 migrates to the values batches would have written,
    and its views and queries return the same rows as before."""
    _with_articles(wh, ARTICLES)
    for batch in BATCHES:
        _write(wh, batch)
    written = _derived(wh)
    old = tmp_path / "old.duckdb"
    upto_0002 = [m for m in dbmod.migrations() if m[0] <= "0002_statement_epoch"]
    with duckdb.connect(str(old)) as con:
        dbmod.migrate(con, upto_0002)
        columns = {t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
                   for t in ("articles", "statements", "statement_sightings", "statement_facts")}
        con.execute(f"ATTACH '{wh.path}' AS cur (READ_ONLY)")
        for table, cols in columns.items():
            listed = ", ".join(cols)
            con.execute(f"INSERT INTO main.{table} ({listed})"
                        f" SELECT {listed} FROM cur.main.{table}")
        con.execute("DETACH cur")
        view_before = con.execute("SELECT * FROM new_statements ORDER BY ALL").fetchall()
        queries_before = _query_rows(con)
    migrated = Warehouse(str(old))
    assert "0003_denormalised_reads" in migrated.migrate()
    assert _derived(migrated) == written
    with migrated.connect(read_only=True) as con:
        assert con.execute("SELECT * FROM new_statements ORDER BY ALL").fetchall() == view_before
        assert _query_rows(con) == queries_before


def _query_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """run_* queries over the whole data set: they read the view at any schema."""
    window = {"since": _at(-100), "until": _at(100)}
    return {name: con.execute(queries.load(name), window).fetchall()
            for name in ("run_new_statements", "run_article_changes")}
