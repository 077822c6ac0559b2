"""Build a synthetic warehouse with 1,000,000 statements, for the query benchmark.

The schema is the project's own (the bundled migrations, applied by
armswatch.warehouse.db.migrate); rows are inserted from Arrow tables, which
DuckDB takes at millions of rows a second. Shape, by default:

    articles             300,000   over two years, 50 sources
    article_diffs        100,000   one in three articles changed once
    statements         1,000,000   first seen uniformly over two years
    statement_sightings 2,500,000  each statement seen 1–4 times (2.5 on average),
                                   the first sighting at first_seen_at, later ones
                                   up to 60 days after, in other articles
    statement_facts      500,000

article_versions, feed_entries and feed_polls are left empty: no bundled query reads them.

    python bench/gen_warehouse.py --out bench/out/warehouse-1m.duckdb [--statements 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from armswatch.warehouse.db import migrate

SPAN_DAYS = 730
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
TS = pa.timestamp("us", tz="UTC")


def _ts(base: datetime, seconds: np.ndarray) -> pa.Array:
    micros = int(base.timestamp()) * 1_000_000 + (seconds * 1_000_000).astype(np.int64)
    return pa.array(micros, type=pa.int64()).cast(TS)


def _ids(prefix: str, n: int) -> pa.Array:
    return pa.array([f"{prefix}{i:012x}" for i in range(n)])


def build(
    path: Path, n_statements: int, n_articles: int, seed: int = 7, end: datetime | None = None
) -> dict:
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=SPAN_DAYS)
    span = SPAN_DAYS * 86400
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    migrate(con)
    t0 = time.perf_counter()

    # articles
    a_seen = np.sort(rng.uniform(0, span, n_articles))
    article_ids = _ids("a", n_articles)
    sources = np.array([f"source-{i:02d}" for i in range(50)])
    articles = pa.table(
        {
            "article_id": article_ids,
            "canonical_url": pa.array(
                [f"https://news{i % 50}.example/a/{i}" for i in range(n_articles)]
            ),
            "source": pa.array(sources[rng.integers(0, 50, n_articles)]),
            "title": pa.array([f"Article {i}" for i in range(n_articles)]),
            "published_at": _ts(start, a_seen - 3600),
            "lang": pa.array(LANGS[rng.integers(0, len(LANGS), n_articles)]),
            "first_seen_at": _ts(start, a_seen),
            "last_seen_at": _ts(start, a_seen + 86400),
            "status": pa.array(["ok"] * n_articles),
            "current_version": pa.array(np.ones(n_articles, dtype=np.int32)),
        }
    )
    con.register("a_rows", articles)
    cols = ", ".join(articles.column_names)
    con.execute(f"INSERT INTO articles ({cols}) SELECT {cols} FROM a_rows")
    con.unregister("a_rows")

    # one diff for every third article
    changed = np.arange(0, n_articles, 3)
    detected = a_seen[changed] + rng.uniform(600, 5 * 86400, len(changed))
    diffs = pa.table(
        {
            "article_id": pa.array([f"a{i:012x}" for i in changed]),
            "from_version": pa.array(np.ones(len(changed), dtype=np.int32)),
            "to_version": pa.array(np.full(len(changed), 2, dtype=np.int32)),
            "detected_at": _ts(start, np.minimum(detected, span)),
            "added_sentences": pa.array([["An added sentence."]] * len(changed)),
            "removed_sentences": pa.array([["A removed sentence."]] * len(changed)),
            "unified_diff": pa.array(
                ["--- before\n+++ after\n-A removed sentence.\n+An added sentence."] * len(changed)
            ),
        }
    )
    con.register("d_rows", diffs)
    con.execute("INSERT INTO article_diffs SELECT * FROM d_rows")
    con.unregister("d_rows")

    # statements
    s_seen = np.sort(rng.uniform(0, span, n_statements))
    statement_ids = _ids("st_", n_statements)
    speakers = SPEAKERS[rng.integers(0, len(SPEAKERS), n_statements)]
    statements = pa.table(
        {
            "statement_id": statement_ids,
            "first_seen_at": _ts(start, s_seen),
            "speaker": pa.array(speakers.tolist()),
            "stance": pa.array(STANCES[rng.integers(0, 4, n_statements)]),
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
        }
    )
    con.register("s_rows", statements)
    cols = ", ".join(statements.column_names)
    con.execute(f"INSERT INTO statements ({cols}) SELECT {cols} FROM s_rows")
    con.unregister("s_rows")

    # sightings: the first in an article seen at about the same time, the rest later, elsewhere
    per = rng.choice([1, 2, 3, 4], n_statements, p=[0.2, 0.3, 0.3, 0.2])
    owner = np.repeat(np.arange(n_statements), per)
    nth = np.concatenate([np.arange(k) for k in per]) if n_statements else np.array([], int)
    seen = s_seen[owner] + np.where(nth == 0, 0.0, rng.uniform(3600, 60 * 86400, len(owner)))
    seen = np.minimum(seen, span)
    # the article whose first_seen_at is nearest before `seen`
    art = np.clip(
        np.searchsorted(a_seen, seen) - 1 - rng.integers(0, 3, len(owner)) * (nth > 0),
        0,
        n_articles - 1,
    )
    n_s = len(owner)
    sightings = pa.table(
        {
            "statement_id": pa.array([f"st_{i:012x}" for i in owner]),
            "article_id": pa.array([f"a{i:012x}" for i in art]),
            "version": pa.array(np.ones(n_s, dtype=np.int32)),
            "sentence_index": pa.array((nth * 7 + rng.integers(0, 5, n_s)).astype(np.int32)),
            "sentence": pa.array(
                ["North Korea shipped artillery shells to Russia, officials said."] * n_s
            ),
            "seen_at": _ts(start, seen),
            "speaker": pa.array(speakers[owner].tolist()),
            "stance": pa.array(STANCES[rng.integers(0, 4, n_s)]),
            "score": pa.array(rng.uniform(0.5, 0.99, n_s)),
            "lang": pa.array(["en"] * n_s),
            "evidence": pa.array(["{}"] * n_s),
        }
    )
    con.register("g_rows", sightings)
    cols = ", ".join(sightings.column_names)
    con.execute(
        f"INSERT INTO statement_sightings ({cols}) SELECT {cols} FROM g_rows ON CONFLICT DO NOTHING"
    )
    con.unregister("g_rows")

    n_f = n_statements // 2
    facts = pa.table(
        {
            "statement_id": pa.array([f"st_{i:012x}" for i in range(0, n_statements, 2)]),
            "fact_index": pa.array(np.zeros(n_f, dtype=np.int32)),
            "weapon": pa.array(["artillery shells"] * n_f),
            "quantity": pa.array(rng.integers(1000, 5_000_000, n_f).astype(float)),
            "unit": pa.array(["shells"] * n_f),
            "direction": pa.array(["nk_to_ru"] * n_f),
            "period": pa.array([None] * n_f, type=pa.string()),
        }
    )
    con.register("f_rows", facts)
    con.execute("INSERT INTO statement_facts SELECT * FROM f_rows")
    con.unregister("f_rows")
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
        "seconds": round(time.perf_counter() - t0, 1),
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
    args = ap.parse_args(argv)
    info = build(args.out, args.statements, args.articles)
    print(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
