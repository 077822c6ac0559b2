"""Time every query in warehouse/queries/ on a warehouse with 1,000,000 statements.

Queries that take $since/$until (prepared parameters) or read the DuckDB
variables `since`/`until` run with windows ending at the warehouse's newest
statement: the last day (what a daily digest asks), the last 7 days, and the
last 30 days. The digest's queries (variable `day`) run for the day of the newest statement,
so that a warehouse built yesterday still has a "today"; any other query runs as it is, its
variables at their defaults. Each is run
on a fresh read-only connection, as `armswatch sql --file` does (first
execution reported apart), then --repeat more times on that connection; the
median is the figure. Target: under 100 ms.

    python bench/gen_warehouse.py                       # bench/out/warehouse-1m.duckdb
    python bench/bench_queries.py [--db PATH] [--repeat 7] [--explain]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import warnings
from datetime import UTC, timedelta
from importlib import resources
from pathlib import Path

import duckdb

warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

WINDOWS = {"1 day": timedelta(days=1), "7 days": timedelta(days=7), "30 days": timedelta(days=30)}
TARGET_MS = 100.0


def bundled_queries(folder=None) -> dict[str, str]:
    folder = folder or resources.files("armswatch.warehouse") / "queries"
    return {
        e.name.removesuffix(".sql"): e.read_text("utf-8")
        for e in sorted(folder.iterdir(), key=lambda e: e.name)
        if e.name.endswith(".sql")
    }


def params_of(sql: str) -> set[str]:
    """Prepared-statement parameters ($since) the query needs."""
    body = re.sub(r"--[^\n]*", "", sql)
    return set(re.findall(r"\$([A-Za-z_]\w*)", body))


def variables_of(sql: str) -> set[str]:
    """DuckDB variables (getvariable('since')) the query reads; unset ones take its defaults."""
    body = re.sub(r"--[^\n]*", "", sql)
    return set(re.findall(r"getvariable\('([A-Za-z_]\w*)'\)", body))


def time_query(
    db: Path, sql: str, params: dict | None, variables: dict | None, repeat: int
) -> dict:
    """First run on a fresh connection, then `repeat` runs: to Arrow (the query) and to
    Python tuples (what `armswatch sql` pays on top for big results)."""
    t0 = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    for name, value in (variables or {}).items():
        con.execute(f"SET VARIABLE {name} = ?", [value])
    t1 = time.perf_counter()
    rows = con.execute(sql, params or {}).to_arrow_table().num_rows
    first = time.perf_counter() - t1
    runs, tuples = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        con.execute(sql, params or {}).to_arrow_table()
        runs.append(time.perf_counter() - t)
    for _ in range(max(1, repeat // 3)):
        t = time.perf_counter()
        con.execute(sql, params or {}).fetchall()
        tuples.append(time.perf_counter() - t)
    con.close()
    return {
        "rows": rows,
        "connect_ms": 1000 * (t1 - t0),
        "first_ms": 1000 * first,
        "median_ms": 1000 * statistics.median(runs) if runs else 1000 * first,
        "max_ms": 1000 * max(runs) if runs else 1000 * first,
        "fetchall_ms": 1000 * statistics.median(tuples),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--db", type=Path, default=Path(__file__).resolve().parent / "out" / "warehouse-1m.duckdb"
    )
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of each query (1-day window)"
    )
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ap.add_argument(
        "--queries", type=Path, help="time the .sql files of this folder instead (e.g. an older"
        " revision's, for a before/after on one warehouse)"
    )
    ap.add_argument("--only", help="only queries whose name contains this")
    args = ap.parse_args(argv)
    if not args.db.exists():
        print(f"no warehouse at {args.db}: run bench/gen_warehouse.py first", file=sys.stderr)
        return 2
    con = duckdb.connect(str(args.db), read_only=True)
    n_statements = con.execute("SELECT count(*) FROM statements").fetchone()[0]
    n_sightings = con.execute("SELECT count(*) FROM statement_sightings").fetchone()[0]
    newest = con.execute("SELECT max(first_seen_at) FROM statements").fetchone()[0]
    con.close()
    print(f"{args.db}: {n_statements:,} statements, {n_sightings:,} sightings; newest {newest}")
    print(
        f"{'query':30} {'window':8} {'rows':>8} {'connect':>8} {'first':>9} {'median':>9} "
        f"{'max':>9} {'fetchall':>9}  <100 ms"
    )
    failed = 0
    results: list[dict] = []
    for name, sql in bundled_queries(args.queries).items():
        if args.only and args.only not in name:
            continue
        needed = params_of(sql)
        variables = variables_of(sql)
        cases: list[tuple[str, dict | None, dict | None]]
        if {"since", "until"} <= needed:
            cases = [(w, {"since": newest - d, "until": newest}, None) for w, d in WINDOWS.items()]
        elif needed:
            print(f"{name:30} skipped: parameters {sorted(needed)} have no default here")
            continue
        elif "since" in variables:
            cases = [
                (
                    w,
                    None,
                    {"since": newest - d} | ({"until": newest} if "until" in variables else {}),
                )
                for w, d in WINDOWS.items()
            ]
        elif "day" in variables:
            cases = [("default", None, {"day": newest.astimezone(UTC).date()})]
        else:
            cases = [("default", None, None)]
        for window, params, variables_set in cases:
            r = time_query(args.db, sql, params, variables_set, args.repeat)
            ok = r["median_ms"] < TARGET_MS
            failed += not ok
            results.append({"query": name, "window": window, **r})
            print(
                f"{name:30} {window:8} {r['rows']:8d} {r['connect_ms']:6.1f}ms "
                f"{r['first_ms']:7.1f}ms "
                f"{r['median_ms']:7.1f}ms {r['max_ms']:7.1f}ms {r['fetchall_ms']:7.1f}ms  "
                f"{'yes' if ok else 'NO'}"
            )
        if args.explain:
            con = duckdb.connect(str(args.db), read_only=True)
            for k, v in (cases[0][2] or {}).items():
                con.execute(f"SET VARIABLE {k} = ?", [v])
            plan = con.execute("EXPLAIN ANALYZE " + sql, cases[0][1] or {}).fetchall()
            con.close()
            print(plan[0][1])
    print(f"{failed} of {len(results)} query runs over {TARGET_MS:.0f} ms (median, to Arrow)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
