"""Announcements: every statement is announced by a monitor run once it is stored, history never."""

from __future__ import annotations

from pathlib import Path

import pytest

from armswatch.demo.server import ReplayServer
from armswatch.flows.monitor import monitor
from armswatch.tasks import load
from armswatch.warehouse.db import Warehouse, migrate, migrations

SITE = Path(__file__).parent / "fixtures" / "site"


def test_statements_from_before_the_column_count_as_announced(tmp_path):
    wh = Warehouse(str(tmp_path / "w.duckdb"))
    with wh.connect() as con:
        migrate(con, [m for m in migrations() if m[0] < "0004"])
        con.execute(
            "INSERT INTO statements (statement_id, first_seen_at, stance, text, profile, "
            "signature) VALUES ('s1', TIMESTAMPTZ '2024-03-01 10:00:00+00', 'assert', "
            "'North Korea sent shells to Russia.', 'nk_russia', '{}')"
        )
    assert "0004_announced_at" in wh.migrate()
    with wh.connect(read_only=True) as con:
        [(announced, seen)] = con.execute(
            "SELECT announced_at, first_seen_at FROM statements"
        ).fetchall()
    assert announced == seen
    assert load.unannounced_statements(wh) == []


@pytest.mark.usefixtures("prefect_harness")
def test_a_statement_left_unannounced_is_announced_by_the_next_run(tmp_path):
    db = str(tmp_path / "w.duckdb")
    wh = Warehouse(db)
    with ReplayServer([SITE / "v1"]) as site:
        run = {"sources": str(SITE / "sources.toml"), "db": db,
               "substitutions": {"__BASE__": site.base_url}}
        first = monitor(**run)
        assert first.counts.new_statements > 0
        assert load.unannounced_statements(wh) == []
        # As a run that died between writing and publishing would leave it.
        with wh.transaction() as con:
            [(left,)] = con.execute(
                "UPDATE statements SET announced_at = NULL WHERE statement_id = "
                "(SELECT min(statement_id) FROM statements) RETURNING statement_id"
            ).fetchall()
        assert [r["statement_id"] for r in load.unannounced_statements(wh)] == [left]
        second = monitor(**run)
    assert second.counts.new_statements == 0
    assert load.unannounced_statements(wh) == []
    with wh.connect(read_only=True) as con:
        [(when,)] = con.execute(
            "SELECT announced_at FROM statements WHERE statement_id = ?", [left]
        ).fetchall()
    assert when >= second.started_at
