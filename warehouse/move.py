"""A one-way move of a DuckDB warehouse file into a DuckLake, all tables in one transaction."""

from __future__ import annotations

from pathlib import Path

import duckdb

from armswatch.warehouse.db import Warehouse

# Parents before children, so a reader of the lake never sees a sighting
# without its statement even if it looked mid-way (it cannot: one commit).
TABLES = (
    "sources", "feed_polls", "feed_entries", "articles", "article_versions", "article_diffs",
    "statements", "statement_sightings", "statement_facts", "runs",
)  # fmt: skip


class MoveRefused(Exception):
    """The move would mix two warehouses: the lake already holds data."""


def move_to_lake(source: Warehouse, target: Warehouse) -> dict[str, int]:
    """Copy every table of a warehouse file into an empty DuckLake; return rows per table.

    The file is migrated to the current schema first and left as it was
    otherwise; the lake gets the same tables, views and statement epoch.
    """
    if source.lake or not target.lake:
        raise ValueError("move_to_lake moves a DuckDB file into a DuckLake")
    if not Path(source.path).is_file():
        raise MoveRefused(f"no warehouse at {source.path}")
    source.migrate()
    target.migrate()
    copied: dict[str, int] = {}
    with target.connect() as con:
        path = source.path.replace("'", "''")
        try:
            con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        except duckdb.IOException as exc:
            raise MoveRefused(
                f"{source.path} cannot be read by DuckDB {duckdb.__version__}: {exc}. "
                "Files armswatch creates use the 1.5 storage format; an older file can be "
                "rewritten in it with `COPY FROM DATABASE` under DuckDB 2.x."
            ) from None
        try:
            busy = [t for t in TABLES if con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]]
            if busy:
                raise MoveRefused(f"the lake already holds rows in {', '.join(busy)}")
            con.execute("BEGIN TRANSACTION")
            try:
                for table in TABLES:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM src.main.{table}")
                    copied[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                con.execute(
                    "UPDATE statement_epoch"
                    " SET epoch = (SELECT max(epoch) FROM src.main.statement_epoch)"
                )
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.execute("DETACH src")
    return copied
