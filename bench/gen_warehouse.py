"""Build a synthetic warehouse with 1,000,000 statements, for the query benchmark.

The schema is the project's own. The rows are loaded from Arrow tables (DuckDB
takes millions of rows a second that way) into a warehouse at schema 0002,
the last one whose columns the write path fills from the detector alone; the
later migrations then run as they would on a user's warehouse, so the
denormalised columns come from the very SQL that backfills them. Finally the
last hours are written batch by batch through `store.record_batch`, the
monitor's own write path, which times it at this size and leaves its rows in
place for the queries. Shape, by default:

    articles             300,000   over two years, 50 sources; ids are hashes of
                                   the URL, as `store.article_id_for` makes them
    article_diffs        ~98,000   one in three articles changed once, within 5 days
    statements         1,000,000   first seen uniformly over two years; a third of
                                   the denials answer an earlier statement
    statement_sightings ~3,000,000 each statement seen 1–4 times, the first at its
                                   first_seen_at, later ones up to 60 days after in
                                   other articles, none after the end; a changed
                                   article sights its statements again in version 2
    statement_facts      500,000   four weapons

Rows go in the order the monitor appends them: by first_seen_at, seen_at,
detected_at. article_versions, feed_entries and feed_polls are left empty: no
bundled query reads them.

    python bench/gen_warehouse.py --out bench/out/warehouse-1m.duckdb [--statements 1000000]
    python bench/gen_warehouse.py --base-only --out bench/out/warehouse-1m-0002.duckdb
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from armswatch.warehouse import store
from armswatch.warehouse.db import migrate, migrations

SPAN_DAYS = 730
BASE_SCHEMA = "0002_statement_epoch"
STANCES = np.array(["assert", "condemn", "deny", "demand"])
SPEAKERS = np.array(
    [
        "Kim Yo Jong",
        "G7 foreign ministers",
        "Defense Intelligence Agency",
        "John Kirby",
        "Shin Won-sik",
        "Dmitry Peskov",
        "NATO",
        "UN panel of experts",
        None,
        None,
    ]
)
LANGS = np.array(["en", "en", "en", "de", "ru", "ko"])
WEAPONS = [
    ("artillery shells", "shells"),
    ("artillery shells", "containers"),
    ("ballistic missiles", "missiles"),
    ("troops", "soldiers"),
]
TS = pa.timestamp("us", tz="UTC")


def _ts(base: datetime, seconds: np.ndarray) -> pa.Array:
    micros = int(base.timestamp()) * 1_000_000 + (seconds * 1_000_000).astype(np.int64)
    return pa.array(micros, type=pa.int64()).cast(TS)


def _hash_ids(prefix: str, keys: list[str]) -> np.ndarray:
    # Real ids are hashes (store.article_id_for, identity.statement_id_for): no
    # order to them, so min/max pruning on an id column finds nothing, as in use.
    return np.array(
        [prefix + hashlib.sha256(k.encode()).hexdigest()[:20] for k in keys], dtype=object
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("_rows", rows)
    cols = ", ".join(rows.column_names)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
    con.unregister("_rows")


def build(
    path: Path,
    n_statements: int,
    n_articles: int,
    seed: int = 7,
    end: datetime | None = None,
    live_hours: float = 6.0,
    batch_minutes: float = 15.0,
    base_only: bool = False,
) -> dict:
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=SPAN_DAYS)
    span = SPAN_DAYS * 86400
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    names = [name for name, _ in migrations()]
    migrate(con, migrations()[: names.index(BASE_SCHEMA) + 1])
    t0 = time.perf_counter()

    # articles
    a_seen = np.sort(rng.uniform(0, span, n_articles))
    urls = [f"https://news{i % 50}.example/a/{i}" for i in range(n_articles)]
    article_ids = np.array([store.article_id_for(u) for u in urls], dtype=object)
    a_lang = LANGS[rng.integers(0, len(LANGS), n_articles)]
    published = _ts(start, a_seen - rng.uniform(600, 6 * 3600, n_articles))
    # Some pages carry no date.
    published = pa.array(
        [None if m else v for v, m in zip(published.to_pylist(), rng.random(n_articles) < 0.1,
                                          strict=True)],
        type=TS,
    )
    articles = pa.table(
        {
            "article_id": pa.array(article_ids, pa.string()),
            "canonical_url": pa.array(urls),
            "source": pa.array(np.array([f"source-{i:02d}" for i in range(50)])[
                rng.integers(0, 50, n_articles)]),
            "title": pa.array([f"Article {i}" for i in range(n_articles)]),
            "published_at": published,
            "lang": pa.array(a_lang),
            "first_seen_at": _ts(start, a_seen),
            "last_seen_at": _ts(start, a_seen + 86400),
            "status": pa.array(["ok"] * n_articles),
            "current_version": pa.array(np.ones(n_articles, dtype=np.int32)),
        }
    )
    _insert(con, "articles", articles)

    # one diff for every third article, within five days of its first sighting
    detected_at = np.full(n_articles, np.inf)
    changed = np.arange(0, n_articles, 3)
    detected_at[changed] = a_seen[changed] + rng.uniform(600, 5 * 86400, len(changed))
    changed = changed[detected_at[changed] <= span]
    changed = changed[np.argsort(detected_at[changed], kind="stable")]
    detected_at[detected_at > span] = np.inf
    diffs = pa.table(
        {
            "article_id": pa.array(article_ids[changed], pa.string()),
            "from_version": pa.array(np.ones(len(changed), dtype=np.int32)),
            "to_version": pa.array(np.full(len(changed), 2, dtype=np.int32)),
            "detected_at": _ts(start, detected_at[changed]),
            "added_sentences": pa.array([["An added sentence."]] * len(changed)),
            "removed_sentences": pa.array([["A removed sentence."]] * len(changed)),
            "unified_diff": pa.array(
                ["--- before\n+++ after\n-A removed sentence.\n+An added sentence."] * len(changed)
            ),
        }
    )
    _insert(con, "article_diffs", diffs)

    # statements
    s_seen = np.sort(rng.uniform(0, span, n_statements))
    statement_ids = _hash_ids("st_", [f"statement {i}" for i in range(n_statements)])
    speakers = SPEAKERS[rng.integers(0, len(SPEAKERS), n_statements)]
    stances = STANCES[rng.integers(0, 4, n_statements)]
    # A third of the denials answer a claim seen in the 90 days before.
    answers = np.full(n_statements, None, dtype=object)
    deny = np.flatnonzero((stances == "deny") & (rng.random(n_statements) < 1 / 3))
    lo = np.searchsorted(s_seen, s_seen[deny] - 90 * 86400)
    pick = lo + (rng.random(len(deny)) * (deny - lo)).astype(np.int64)
    ok = pick < deny
    answers[deny[ok]] = statement_ids[pick[ok]]

    # sightings: the first in an article seen at about the same time, the rest
    # later, elsewhere; none after the end (they have not happened yet)
    per = rng.choice([1, 2, 3, 4], n_statements, p=[0.2, 0.3, 0.3, 0.2])
    owner = np.repeat(np.arange(n_statements), per)
    nth = np.concatenate([np.arange(k) for k in per]) if n_statements else np.array([], int)
    seen = s_seen[owner] + np.where(nth == 0, 0.0, rng.uniform(3600, 60 * 86400, len(owner)))
    keep = seen <= span
    owner, nth, seen = owner[keep], nth[keep], seen[keep]
    # the article whose first_seen_at is nearest before `seen`
    art = np.clip(
        np.searchsorted(a_seen, seen) - 1 - rng.integers(0, 3, len(owner)) * (nth > 0),
        0,
        n_articles - 1,
    )
    index = (nth * 7 + rng.integers(0, 5, len(owner))).astype(np.int32)
    # In a changed article a statement seen before the edit is seen again in
    # version 2 when the edit is found; one seen after it is in version 2.
    version = np.where(seen >= detected_at[art], 2, 1).astype(np.int32)
    again = np.flatnonzero(version == 1)
    again = again[np.isfinite(detected_at[art[again]])]
    owner = np.concatenate([owner, owner[again]])
    art = np.concatenate([art, art[again]])
    seen = np.concatenate([seen, detected_at[art[again]]])
    version = np.concatenate([version, np.full(len(again), 2, np.int32)])
    index = np.concatenate([index, index[again]])
    order = np.lexsort((index, version, art, seen))
    owner, art, seen, version, index = (
        owner[order], art[order], seen[order], version[order], index[order]
    )
    # Sightings mostly carry the language the detector found, else the article's.
    g_lang = np.where(rng.random(len(owner)) < 0.05, None, a_lang[art]).astype(object)
    n_s = len(owner)
    sightings = pa.table(
        {
            "statement_id": pa.array(statement_ids[owner], pa.string()),
            "article_id": pa.array(article_ids[art], pa.string()),
            "version": pa.array(version),
            "sentence_index": pa.array(index),
            "sentence": pa.array(
                ["North Korea shipped artillery shells to Russia, officials said."] * n_s
            ),
            "seen_at": _ts(start, seen),
            "speaker": pa.array(speakers[owner].tolist()),
            "stance": pa.array(STANCES[rng.integers(0, 4, n_s)]),
            "score": pa.array(rng.uniform(0.5, 0.99, n_s)),
            "lang": pa.array(g_lang, pa.string()),
            "evidence": pa.array(["{}"] * n_s),
        }
    )
    f_owner = np.arange(0, n_statements, 2)
    weapon = rng.integers(0, len(WEAPONS), len(f_owner))
    facts = pa.table(
        {
            "statement_id": pa.array(statement_ids[f_owner], pa.string()),
            "fact_index": pa.array(np.zeros(len(f_owner), dtype=np.int32)),
            "weapon": pa.array([WEAPONS[w][0] for w in weapon]),
            "quantity": pa.array(rng.integers(1000, 5_000_000, len(f_owner)).astype(float)),
            "unit": pa.array([WEAPONS[w][1] for w in weapon]),
            "direction": pa.array(["nk_to_ru"] * len(f_owner)),
            "period": pa.array([None] * len(f_owner), type=pa.string()),
        }
    )
    statements = pa.table(
        {
            "statement_id": pa.array(statement_ids, pa.string()),
            "first_seen_at": _ts(start, s_seen),
            "speaker": pa.array(speakers.tolist()),
            "stance": pa.array(stances),
            "text": pa.array(
                [
                    f"Statement {i}: North Korea shipped artillery shells to Russia."
                    for i in range(n_statements)
                ]
            ),
            "lang": pa.array(LANGS[rng.integers(0, len(LANGS), n_statements)]),
            "score": pa.array(rng.uniform(0.5, 0.99, n_statements)),
            "profile": pa.array(["nk_russia"] * n_statements),
            "signature": pa.array(["{}"] * n_statements),
            "answers_statement_id": pa.array(answers, pa.string()),
        }
    )

    # Everything before the live hours goes in at once; the rest batch by batch.
    live_from = span if base_only else span - live_hours * 3600
    s_cut = int(np.searchsorted(s_seen, live_from, side="right"))
    g_cut = int(np.searchsorted(seen, live_from, side="right"))
    f_cut = int(np.searchsorted(f_owner, s_cut))
    _insert(con, "statements", statements.slice(0, s_cut))
    _insert(con, "statement_sightings", sightings.slice(0, g_cut))
    _insert(con, "statement_facts", facts.slice(0, f_cut))
    loaded = time.perf_counter()
    applied = [] if base_only else migrate(con)
    con.execute("CHECKPOINT")
    migrated = time.perf_counter()

    # The live hours through the monitor's write path, one batch every batch_minutes.
    batch_seconds = []
    step = batch_minutes * 60
    s_at, g_at, f_at = s_cut, g_cut, f_cut
    t = live_from
    while t < span:
        t = min(t + step, span)
        s_to = int(np.searchsorted(s_seen, t, side="right"))
        g_to = int(np.searchsorted(seen, t, side="right"))
        f_to = int(np.searchsorted(f_owner, s_to))
        b0 = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        store.record_batch(
            con, [], [], [],
            statements.slice(s_at, s_to - s_at).to_pylist(),
            sightings.slice(g_at, g_to - g_at).to_pylist(),
            facts.slice(f_at, f_to - f_at).to_pylist(),
        )
        con.execute("COMMIT")
        batch_seconds.append(time.perf_counter() - b0)
        s_at, g_at, f_at = s_to, g_to, f_to
    con.execute("CHECKPOINT")
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in (
            "articles",
            "article_diffs",
            "statements",
            "statement_sightings",
            "statement_facts",
        )
    }
    con.close()
    return {
        "path": str(path),
        "end": end.isoformat(),
        "load_s": round(loaded - t0, 1),
        "migrations": applied,
        "migrate_s": round(migrated - loaded, 1),
        "live_batches": len(batch_seconds),
        "record_batch_ms_median": round(1000 * statistics.median(batch_seconds))
        if batch_seconds else None,
        "record_batch_ms_max": round(1000 * max(batch_seconds)) if batch_seconds else None,
        "counts": counts,
        "mb": round(path.stat().st_size / 1e6),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "out" / "warehouse-1m.duckdb"
    )
    ap.add_argument("--statements", type=int, default=1_000_000)
    ap.add_argument("--articles", type=int, default=300_000)
    ap.add_argument("--live-hours", type=float, default=6.0,
                    help="the last hours, written through store.record_batch")
    ap.add_argument("--base-only", action="store_true",
                    help=f"stop at schema {BASE_SCHEMA}, every row loaded at once: the warehouse"
                    " the queries of that schema ran on, for a before/after")
    args = ap.parse_args(argv)
    info = build(args.out, args.statements, args.articles, live_hours=args.live_hours,
                 base_only=args.base_only)
    print(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
