"""The public tables and views as Parquet or CSV files, for tools that do not speak DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

PUBLIC = (
    "articles", "article_versions", "article_diffs", "statements", "statement_sightings",
    "statement_facts", "feed_polls", "new_statements", "article_changes",
)


def export_tables(
    con: duckdb.DuckDBPyConnection, out: Path, fmt: str = "parquet"
) -> dict[str, tuple[Path, int]]:
    """Write each public table and view to `out/<name>.<fmt>`; return path and row count of each."""
    out.mkdir(parents=True, exist_ok=True)
    options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER)"
    written = {}
    for name in PUBLIC:
        path = out / f"{name}.{fmt}"
        partial = path.with_name(path.name + ".partial")
        con.execute(f"COPY (SELECT * FROM {name}) TO '{_quoted(partial)}' {options}")
        partial.replace(path)
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        written[name] = (path, rows)
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
