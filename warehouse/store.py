"""Batched, idempotent reads and writes of the warehouse tables, in rows of plain values."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

Row = Mapping[str, Any]

_TS = pa.timestamp("us", tz="UTC")
_STR = pa.string()
_INT = pa.int32()
_F64 = pa.float64()
_BOOL = pa.bool_()
_STRS = pa.list_(pa.string())

# Arrow schemas of the rows each writer takes; columns not listed keep their
# defaults. Inserting from Arrow is ~2,000x faster than executemany.
SCHEMAS: dict[str, pa.Schema] = {
    "sources": pa.schema(
        [("name", _STR), ("url", _STR), ("lang", _STR), ("tags", _STRS), ("etag", _STR),
         ("last_modified", _STR), ("body_hash", _STR), ("last_polled_at", _TS),
         ("last_ok_at", _TS)]
    ),
    "feed_polls": pa.schema(
        [("source", _STR), ("polled_at", _TS), ("http_status", _INT), ("entries_seen", _INT),
         ("entries_new", _INT), ("error", _STR), ("not_modified", _BOOL), ("bozo", _STR),
         ("run_id", _STR)]
    ),
    "feed_entries": pa.schema(
        [("source", _STR), ("entry_key", _STR), ("article_id", _STR), ("url", _STR),
         ("title", _STR), ("summary", _STR), ("published_at", _TS), ("updated_at", _TS),
         ("lang", _STR), ("first_seen_at", _TS), ("last_seen_at", _TS)]
    ),
    "article_versions": pa.schema(
        [("article_id", _STR), ("version", _INT), ("fetched_at", _TS), ("content_hash", _STR),
         ("text", _STR), ("title", _STR), ("lang", _STR), ("method", _STR)]
    ),
    "article_diffs": pa.schema(
        [("article_id", _STR), ("from_version", _INT), ("to_version", _INT),
         ("detected_at", _TS), ("added_sentences", _STRS), ("removed_sentences", _STRS),
         ("unified_diff", _STR)]
    ),
    "statements": pa.schema(
        [("statement_id", _STR), ("first_seen_at", _TS), ("speaker", _STR), ("stance", _STR),
         ("text", _STR), ("lang", _STR), ("score", _F64), ("profile", _STR),
         ("signature", _STR), ("answers_statement_id", _STR)]
    ),
    "statement_sightings": pa.schema(
        [("statement_id", _STR), ("article_id", _STR), ("version", _INT),
         ("sentence_index", _INT), ("sentence", _STR), ("seen_at", _TS), ("speaker", _STR),
         ("stance", _STR), ("score", _F64), ("lang", _STR), ("evidence", _STR)]
    ),
    "statement_facts": pa.schema(
        [("statement_id", _STR), ("fact_index", _INT), ("weapon", _STR), ("quantity", _F64),
         ("unit", _STR), ("direction", _STR), ("period", _STR)]
    ),
    "runs": pa.schema(
        [("run_id", _STR), ("flow", _STR), ("started_at", _TS), ("finished_at", _TS),
         ("counts", _STR)]
    ),
    "article_updates": pa.schema(
        [("article_id", _STR), ("status", _STR), ("title", _STR), ("published_at", _TS),
         ("lang", _STR), ("etag", _STR), ("last_modified", _STR), ("final_url", _STR),
         ("last_fetched_at", _TS), ("last_changed_at", _TS), ("next_check_at", _TS),
         ("failures", _INT), ("last_error", _STR), ("current_version", _INT)]
    ),
}

# The natural key of each table. Writers insert what is not there yet and
# merge what is, by these keys, instead of relying on ON CONFLICT: a DuckLake
# warehouse has no PRIMARY KEY constraints to conflict on.
KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("name",),
    "feed_polls": ("source", "polled_at"),
    "feed_entries": ("source", "entry_key"),
    "articles": ("article_id",),
    "article_versions": ("article_id", "version"),
    "article_diffs": ("article_id", "to_version"),
    "statements": ("statement_id",),
    "statement_sightings": ("article_id", "version", "sentence_index", "statement_id"),
    "statement_facts": ("statement_id", "fact_index"),
    "runs": ("run_id",),
}

_counter = itertools.count()


def article_id_for(canonical_url: str) -> str:
    """The article's key: a hash of its canonical URL, the same in every run."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:20]


def _arrow(kind: str, rows: Sequence[Row]) -> pa.Table:
    schema = SCHEMAS[kind]
    return pa.Table.from_pylist([{k: row.get(k) for k in schema.names} for row in rows], schema)


def _registered(con: duckdb.DuckDBPyConnection, kind: str, rows: Sequence[Row]) -> str:
    name = f"_batch_{kind}_{next(_counter)}"
    con.register(name, _arrow(kind, rows))
    return name


def _on(table: str, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in KEYS[table])


def insert_new(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Row]) -> int:
    """Insert rows whose key is not there yet (the first of a batch's duplicates wins)."""
    if not rows:
        return 0
    name = _registered(con, table, rows)
    try:
        cols = ", ".join(SCHEMAS[table].names)
        keys = ", ".join(KEYS[table])
        inserted = con.execute(
            f"""
            INSERT INTO {table} ({cols})
            SELECT {cols} FROM {name} AS b
            WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {_on(table, "t", "b")})
            QUALIFY row_number() OVER (PARTITION BY {keys}) = 1
            """
        ).fetchall()
        return int(inserted[0][0]) if inserted else 0
    finally:
        con.unregister(name)


# --- feeds ------------------------------------------------------------------


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, ...]]:
    """name -> (etag, last_modified, body_hash) from the previous poll of each source."""
    rows = con.execute("SELECT name, etag, last_modified, body_hash FROM sources").fetchall()
    return {name: (etag, modified, digest) for name, etag, modified, digest in rows}


def record_polls(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[Row],
    polls: Sequence[Row],
    entries: Sequence[Row],
) -> dict[str, int]:
    """Store one poll per source with its entries; queue new and feed-updated articles.

    Returns the number of new entries per source. Call inside a transaction.
    """
    if sources:
        name = _registered(con, "sources", sources)
        con.execute(
            f"""
            MERGE INTO sources USING {name} AS e ON sources.name = e.name
            WHEN MATCHED THEN UPDATE SET
                url = e.url, lang = e.lang, tags = e.tags,
                etag = coalesce(e.etag, sources.etag),
                last_modified = coalesce(e.last_modified, sources.last_modified),
                body_hash = coalesce(e.body_hash, sources.body_hash),
                last_polled_at = e.last_polled_at,
                last_ok_at = coalesce(e.last_ok_at, sources.last_ok_at)
            WHEN NOT MATCHED THEN INSERT BY NAME
            """
        )
        con.unregister(name)
    new_by_source: dict[str, int] = {}
    if entries:
        name = _registered(con, "feed_entries", entries)
        new_rows = con.execute(
            f"""
            SELECT e.source, count(DISTINCT e.entry_key) FROM {name} AS e
            ANTI JOIN feed_entries AS f USING (source, entry_key)
            GROUP BY e.source
            """
        ).fetchall()
        new_by_source = dict(new_rows)
        con.execute(
            f"""
            MERGE INTO feed_entries USING (
                SELECT * FROM {name} QUALIFY row_number() OVER (PARTITION BY source, entry_key) = 1
            ) AS e ON feed_entries.source = e.source AND feed_entries.entry_key = e.entry_key
            WHEN MATCHED THEN UPDATE SET
                url = e.url, article_id = e.article_id,
                title = coalesce(e.title, feed_entries.title),
                summary = coalesce(e.summary, feed_entries.summary),
                published_at = coalesce(e.published_at, feed_entries.published_at),
                updated_at = coalesce(e.updated_at, feed_entries.updated_at),
                last_seen_at = e.last_seen_at
            WHEN NOT MATCHED THEN INSERT BY NAME
            """
        )
        # One article per canonical URL, whichever source offered it first.
        con.execute(
            f"""
            MERGE INTO articles USING (
                SELECT article_id, arg_min(url, first_seen_at) AS canonical_url,
                       arg_min(source, first_seen_at) AS source,
                       arg_min(title, first_seen_at) AS title,
                       min(published_at) AS published_at, arg_min(lang, first_seen_at) AS lang,
                       min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at,
                       'pending' AS status,
                       max(coalesce(updated_at, published_at)) AS feed_updated_at,
                       min(first_seen_at) AS next_check_at
                FROM {name} GROUP BY article_id
            ) AS e ON articles.article_id = e.article_id
            WHEN MATCHED THEN UPDATE SET
                last_seen_at = greatest(articles.last_seen_at, e.last_seen_at),
                feed_updated_at = greatest(articles.feed_updated_at, e.feed_updated_at)
            WHEN NOT MATCHED THEN INSERT BY NAME
            """
        )
        con.unregister(name)
    for poll in polls:
        poll = dict(poll)
        poll["entries_new"] = new_by_source.get(poll["source"], 0)
        insert_new(con, "feed_polls", [poll])
    return new_by_source


# --- fetching ---------------------------------------------------------------


def due_articles(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    limit: int,
    recheck_all: bool = False,
    sources: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Articles to fetch now: never fetched, announced as changed by a feed, or due a re-check."""
    rows = con.execute(
        """
        SELECT a.article_id, a.canonical_url AS url, a.source, a.etag, a.last_modified,
               coalesce(e.title, a.title) AS feed_title, e.summary AS feed_summary,
               coalesce(e.published_at, a.published_at) AS feed_published_at,
               coalesce(e.lang, a.lang) AS lang
        FROM articles AS a
        LEFT JOIN (
            SELECT article_id, arg_max(title, last_seen_at) AS title,
                   arg_max(summary, last_seen_at) AS summary,
                   min(published_at) AS published_at, arg_max(lang, last_seen_at) AS lang
            FROM feed_entries GROUP BY article_id
        ) AS e USING (article_id)
        WHERE a.status IN ('pending', 'ok')
          AND ($all_sources OR list_contains($sources, a.source))
          AND ($recheck_all
               OR a.next_check_at <= $now
               OR a.feed_updated_at > coalesce(a.fetched_feed_updated_at, a.feed_updated_at))
        ORDER BY a.status = 'pending' DESC, a.next_check_at NULLS LAST, a.first_seen_at,
                 a.article_id
        LIMIT $limit
        """,
        {
            "now": now, "limit": limit, "recheck_all": recheck_all,
            "all_sources": sources is None, "sources": list(sources or []),
        },
    )
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def previous_versions(
    con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]
) -> dict[str, tuple[int, str, str, str]]:
    """article_id -> (version, content_hash, text, method) of its latest version."""
    if not article_ids:
        return {}
    rows = con.execute(
        """
        SELECT article_id, arg_max(version, version), arg_max(content_hash, version),
               arg_max(text, version), arg_max(method, version)
        FROM article_versions WHERE list_contains($ids, article_id)
        GROUP BY article_id
        """,
        {"ids": list(article_ids)},
    ).fetchall()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


class StaleStatements(Exception):
    """Another writer added statements since this batch's detector loaded what it knows."""


def statement_epoch(con: duckdb.DuckDBPyConnection) -> int:
    [(epoch,)] = con.execute("SELECT max(epoch) FROM statement_epoch").fetchall()
    return int(epoch or 0)


def record_batch(
    con: duckdb.DuckDBPyConnection,
    article_updates: Sequence[Row],
    versions: Sequence[Row],
    diffs: Sequence[Row],
    statements: Sequence[Row],
    sightings: Sequence[Row],
    facts: Sequence[Row],
    expected_epoch: int | None = None,
) -> dict[str, int]:
    """Store what one batch of fetches produced; call inside a transaction.

    With `expected_epoch`, a batch that brings statements first checks that
    no other writer added any since, and raises StaleStatements if one did.
    """
    epoch = statement_epoch(con)
    if statements and expected_epoch is not None:
        if epoch != expected_epoch:
            raise StaleStatements(f"statement epoch is {epoch}, the detector knew {expected_epoch}")
        con.execute("UPDATE statement_epoch SET epoch = epoch + 1")
        epoch += 1
    counts = {
        "versions": insert_new(con, "article_versions", versions),
        "diffs": insert_new(con, "article_diffs", diffs),
        "statements": insert_new(con, "statements", statements),
        "sightings": insert_new(con, "statement_sightings", sightings),
        "facts": insert_new(con, "statement_facts", facts),
        "epoch": epoch,
    }
    restamped: list[str] = []
    if article_updates:
        name = _registered(con, "article_updates", article_updates)
        # Articles whose date or language this fetch fills in or changes: the
        # sightings of earlier versions carry the old value in their copies.
        restamped = [
            row[0]
            for row in con.execute(
                f"""
                SELECT u.article_id FROM {name} AS u JOIN articles AS a USING (article_id)
                WHERE a.current_version > 0
                  AND ((a.published_at IS NULL AND u.published_at IS NOT NULL)
                       OR a.lang IS DISTINCT FROM coalesce(u.lang, a.lang))
                """
            ).fetchall()
        ]
        con.execute(
            f"""
            UPDATE articles SET
                status = u.status,
                title = coalesce(u.title, articles.title),
                published_at = coalesce(articles.published_at, u.published_at),
                lang = coalesce(u.lang, articles.lang),
                etag = coalesce(u.etag, articles.etag),
                last_modified = coalesce(u.last_modified, articles.last_modified),
                final_url = coalesce(u.final_url, articles.final_url),
                last_fetched_at = u.last_fetched_at,
                last_changed_at = coalesce(u.last_changed_at, articles.last_changed_at),
                next_check_at = u.next_check_at,
                failures = u.failures,
                last_error = u.last_error,
                current_version = greatest(articles.current_version, u.current_version),
                fetched_feed_updated_at = articles.feed_updated_at
            FROM {name} AS u
            WHERE articles.article_id = u.article_id
            """
        )
        con.unregister(name)
    touched = {row["statement_id"] for row in statements}
    touched.update(row["statement_id"] for row in sightings)
    refresh_derived(con, touched, restamped)
    return counts


# --- columns derived from other rows (migration 0003) -------------------------
#
# Sightings carry copies of their statement and article and mark which came
# first; statements carry their first sighting's article and aggregates over
# all their sightings; facts carry their statement's reported_at. The queries
# in warehouse/queries/ read these instead of the whole history. With the
# tables named in _TABLES, the SELECTs below are the backfill of
# warehouse/migrations/0003_denormalised_reads.sql (tests/test_warehouse.py
# checks they stay the same), so a migrated warehouse and one written batch by
# batch hold the same values.

_DERIVED_SIGHTINGS = """
SELECT g.article_id, g.version, g.sentence_index, g.statement_id,
       s.first_seen_at AS statement_first_seen_at,
       s.speaker AS statement_speaker, s.stance AS statement_stance,
       a.first_seen_at AS article_first_seen_at, a.canonical_url AS article_url,
       a.source AS article_source, a.lang AS article_lang,
       coalesce(a.published_at, g.seen_at) AS reported_at,
       row_number() OVER (PARTITION BY g.statement_id
                          ORDER BY g.seen_at, g.article_id, g.version, g.sentence_index) = 1
           AS first_sighting,
       row_number() OVER (PARTITION BY g.statement_id, g.article_id
                          ORDER BY g.seen_at, g.version, g.sentence_index) = 1
           AS first_in_article
FROM {sightings} AS g
LEFT JOIN {statements} AS s ON s.statement_id = g.statement_id
LEFT JOIN {articles} AS a ON a.article_id = g.article_id
"""
_SIGHTING_COLUMNS = (
    "statement_first_seen_at", "statement_speaker", "statement_stance", "article_first_seen_at",
    "article_url", "article_source", "article_lang", "reported_at", "first_sighting",
    "first_in_article",
)  # fmt: skip

_DERIVED_STATEMENTS = """
WITH sighted AS (
    SELECT statement_id, article_id, version, sentence_index, sentence, seen_at,
           article_first_seen_at IS NOT NULL AS has_article,
           coalesce(lang, article_lang) AS lang, article_source AS source, article_url AS url
    FROM {sightings}
),
in_article AS (
    SELECT statement_id, article_id,
           min((seen_at, article_id, version, sentence_index)) AS first_key,
           bool_or(has_article AND lang IS NOT NULL) AS with_language,
           max(seen_at) FILTER (WHERE has_article AND lang IS NOT NULL) AS language_last_seen_at
    FROM sighted
    GROUP BY statement_id, article_id
),
per_statement AS (
    SELECT statement_id, arg_min(article_id, first_key) AS first_article_id,
           count(*) AS article_count,
           count(*) FILTER (WHERE with_language) AS language_articles,
           max(language_last_seen_at) AS language_last_seen_at
    FROM in_article
    GROUP BY statement_id
),
in_language AS (
    SELECT statement_id, lang, article_id,
           arg_min({{'seen_at': seen_at, 'sentence': sentence, 'source': source, 'url': url}},
                   (seen_at, version, sentence_index)) AS first,
           min((seen_at, article_id, version, sentence_index)) AS first_key
    FROM sighted
    WHERE has_article AND lang IS NOT NULL
    GROUP BY statement_id, lang, article_id
),
per_language AS (
    SELECT statement_id, lang, count(*) AS articles, arg_min(first, first_key) AS first
    FROM in_language
    GROUP BY statement_id, lang
),
languages AS (
    SELECT statement_id, list_sort(list(lang)) AS languages,
           list_sort(list({{'lang': lang, 'seen_at': first.seen_at, 'sentence': first.sentence,
                           'source': first.source, 'url': first.url, 'articles': articles}}))
               AS language_firsts
    FROM per_language
    GROUP BY statement_id
)
SELECT s.statement_id, p.first_article_id,
       fa.canonical_url AS first_url, fa.source AS first_source,
       coalesce(fa.published_at, s.first_seen_at) AS reported_at,
       coalesce(p.article_count, 0) AS article_count,
       to_json(l.languages) AS languages, len(l.languages) AS language_count,
       coalesce(p.language_articles, 0) AS language_articles, p.language_last_seen_at,
       to_json(l.language_firsts) AS language_firsts,
       answered.speaker AS answers_speaker, answered.text AS answers_text
FROM {statements} AS s
LEFT JOIN per_statement AS p ON p.statement_id = s.statement_id
LEFT JOIN languages AS l ON l.statement_id = s.statement_id
LEFT JOIN {articles} AS fa ON fa.article_id = p.first_article_id
LEFT JOIN {answered} AS answered ON answered.statement_id = s.answers_statement_id
"""
_STATEMENT_COLUMNS = (
    "first_article_id", "first_url", "first_source", "reported_at", "article_count", "languages",
    "language_count", "language_articles", "language_last_seen_at", "language_firsts",
    "answers_speaker", "answers_text",
)  # fmt: skip

_TABLES = {
    "sightings": "statement_sightings", "statements": "statements", "articles": "articles",
    "answered": "statements",
}  # fmt: skip

# A batch's statements, their sightings and articles, found without reading
# the whole history: a list filter on a hash id reads one column, and every
# sighting of a statement already refreshed carries its first_seen_at, which
# prunes row groups (the batch's own new sightings have none yet).
_SCOPE = {
    "sightings": "(SELECT * FROM statement_sightings WHERE list_contains($ids, statement_id)"
                 " AND (statement_first_seen_at >= $first OR statement_first_seen_at IS NULL))",
    "statements": "(SELECT * FROM statements WHERE list_contains($ids, statement_id))",
    "articles": "(SELECT * FROM articles WHERE list_contains($articles, article_id))",
    "answered": "(SELECT * FROM statements WHERE list_contains($answered, statement_id))",
}  # fmt: skip


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]) -> pa.Table:
    return con.sql(sql, params={k: v for k, v in params.items() if f"${k}" in sql}).to_arrow_table()


def _update_changed(
    con: duckdb.DuckDBPyConnection, table: str, derived: pa.Table, keys: Sequence[str],
    columns: Sequence[str], where: str = "", params: Mapping[str, Any] | None = None,
) -> None:
    """Set `columns` of the rows of `table` (as t, narrowed by `where`) that match `derived`
    on `keys`, where they differ."""
    if derived.num_rows == 0:
        return
    name = f"_derived_{next(_counter)}"
    con.register(name, derived)
    try:
        changed = " OR ".join(f"t.{c} IS DISTINCT FROM d.{c}" for c in columns)
        sql = f"""
            UPDATE {table} AS t SET {", ".join(f"{c} = d.{c}" for c in columns)}
            FROM {name} AS d
            WHERE {" AND ".join(f"t.{k} = d.{k}" for k in keys)} AND ({changed})
              {f"AND {where}" if where else ""}
            """
        con.execute(sql, {k: v for k, v in (params or {}).items() if f"${k}" in sql})
    finally:
        con.unregister(name)


def refresh_derived(
    con: duckdb.DuckDBPyConnection,
    statement_ids: Iterable[str] | None = None,
    article_ids: Sequence[str] = (),
) -> None:
    """Recompute the derived columns of some statements, their sightings and facts.

    Every statement when `statement_ids` is None; else those, and those
    sighted in `article_ids`. Idempotent: only values that differ are written,
    so rerunning a batch repairs and never rewrites. Call inside the batch's
    transaction, after its rows and article updates are written.
    """
    if statement_ids is None:
        sources, params = _TABLES, {}
        narrow: dict[str, str] = {}
    else:
        ids = set(statement_ids)
        if article_ids:
            [(first,)] = con.execute(
                "SELECT min(first_seen_at) FROM articles WHERE list_contains($a, article_id)",
                {"a": list(article_ids)},
            ).fetchall()
            ids.update(
                row[0]
                for row in con.execute(
                    "SELECT DISTINCT statement_id FROM statement_sightings"
                    " WHERE list_contains($a, article_id) AND article_first_seen_at >= $first",
                    {"a": list(article_ids), "first": first},
                ).fetchall()
            )
        if not ids:
            return
        params = {"ids": sorted(ids)}
        [(params["first"], params["reported"], params["answered"])] = con.execute(
            "SELECT min(first_seen_at), min(reported_at),"
            " coalesce(list(DISTINCT answers_statement_id)"
            " FILTER (WHERE answers_statement_id IS NOT NULL), [])"
            " FROM statements WHERE list_contains($ids, statement_id)",
            params,
        ).fetchall()
        [(params["articles"],)] = con.execute(
            f"SELECT coalesce(list(DISTINCT article_id), []) FROM {_SCOPE['sightings']}",
            {k: params[k] for k in ("ids", "first")},
        ).fetchall()
        sources = _SCOPE
        narrow = {
            "statement_sightings": "list_contains($ids, t.statement_id)"
            " AND (t.statement_first_seen_at >= $first OR t.statement_first_seen_at IS NULL)",
            "statements": "list_contains($ids, t.statement_id)",
            # A fact holds its statement's reported_at from before this refresh, or none yet.
            "statement_facts": "list_contains($ids, t.statement_id)"
            " AND (t.reported_at >= $reported OR t.reported_at IS NULL)",
            "answers": "list_contains($ids, a.statement_id)",
        }
    sightings = _run(con, _DERIVED_SIGHTINGS.format(**sources), params)
    _update_changed(
        con, "statement_sightings", sightings, KEYS["statement_sightings"], _SIGHTING_COLUMNS,
        narrow.get("statement_sightings", ""), params,
    )
    # The statements' aggregates read the sightings' copies just written.
    statements = _run(con, _DERIVED_STATEMENTS.format(**sources), params)
    _update_changed(
        con, "statements", statements, ("statement_id",), _STATEMENT_COLUMNS,
        narrow.get("statements", ""), params,
    )
    _update_changed(
        con, "statement_facts", statements.select(["statement_id", "reported_at"]),
        ("statement_id",), ("reported_at",), narrow.get("statement_facts", ""), params,
    )
    # A statement written after one that answers it (in the same batch, or
    # by a rewrite of its profile) is named now.
    answers = narrow.get("answers")
    sql = f"""
        UPDATE statements AS t SET answers_speaker = a.speaker, answers_text = a.text
        FROM statements AS a
        WHERE a.statement_id = t.answers_statement_id {f"AND {answers}" if answers else ""}
          AND (t.answers_speaker IS DISTINCT FROM a.speaker
               OR t.answers_text IS DISTINCT FROM a.text)
        """
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def known_statements(con: duckdb.DuckDBPyConnection, profile: str) -> list[tuple[Any, ...]]:
    """(statement_id, speaker, stance, text, lang, signature) of every statement of a profile."""
    return con.execute(
        "SELECT statement_id, speaker, stance, text, lang, signature FROM statements"
        " WHERE profile = ? ORDER BY first_seen_at, statement_id",
        [profile],
    ).fetchall()


def article_states(
    con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The bookkeeping columns of some articles, keyed by article_id."""
    if not article_ids:
        return {}
    cur = con.execute(
        """
        SELECT article_id, first_seen_at, published_at, failures, current_version
        FROM articles WHERE list_contains($ids, article_id)
        """,
        {"ids": list(article_ids)},
    )
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def versions_in_order(
    con: duckdb.DuckDBPyConnection, after: tuple[Any, str, int] | None, limit: int
) -> list[tuple[Any, ...]]:
    """Versions in the order they were fetched, a page at a time (keyset pagination)."""
    where = "" if after is None else "WHERE (v.fetched_at, v.article_id, v.version) > (?, ?, ?)"
    return con.execute(
        f"""
        SELECT v.fetched_at, v.article_id, v.version, v.text, v.lang, v.title, v.content_hash,
               v.method
        FROM article_versions AS v {where}
        ORDER BY v.fetched_at, v.article_id, v.version
        LIMIT {int(limit)}
        """,
        list(after) if after is not None else [],
    ).fetchall()


def replace_detections(
    con: duckdb.DuckDBPyConnection,
    profile: str,
    statements: Sequence[Row],
    sightings: Sequence[Row],
    facts: Sequence[Row],
) -> dict[str, int]:
    """Swap every statement of a profile, with its sightings and facts, for new ones.

    Call inside a transaction: readers see either the old detections or the new.
    """
    old = "SELECT statement_id FROM statements WHERE profile = ?"
    con.execute(f"DELETE FROM statement_facts WHERE statement_id IN ({old})", [profile])
    con.execute(f"DELETE FROM statement_sightings WHERE statement_id IN ({old})", [profile])
    con.execute("DELETE FROM statements WHERE profile = ?", [profile])
    # Running monitors reload what they know before their next batch.
    con.execute("UPDATE statement_epoch SET epoch = epoch + 1")
    counts = {
        "statements": _insert_in_order(con, "statements", statements, "first_seen_at"),
        "sightings": _insert_in_order(con, "statement_sightings", sightings, "seen_at"),
        "facts": insert_new(con, "statement_facts", facts),
    }
    # Every statement: one of another profile may answer one just replaced.
    refresh_derived(con)
    return counts


def _insert_in_order(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Row], order_by: str
) -> int:
    """insert_new, appending in `order_by` order (the first of a batch's duplicates wins).

    The queries prune by time through each row group's min/max, which only
    works while the rows of a table stay in time order, as the monitor
    appends them; a whole history rewritten at once must be sorted first.
    """
    if not rows:
        return 0
    name = _registered(con, table, rows)
    try:
        cols = ", ".join(SCHEMAS[table].names)
        inserted = con.execute(
            f"""
            INSERT INTO {table} ({cols})
            SELECT {cols} FROM (
                SELECT *, row_number() OVER (PARTITION BY {", ".join(KEYS[table])}
                                             ORDER BY position) AS nth
                FROM (SELECT *, row_number() OVER () AS position FROM {name})
            ) AS b
            WHERE nth = 1
              AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {_on(table, "t", "b")})
            ORDER BY {order_by}, position
            """
        ).fetchall()
        return int(inserted[0][0]) if inserted else 0
    finally:
        con.unregister(name)
