"""The command line: sql, export, detect and the errors a user can make."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from armswatch.cli import app
from armswatch.warehouse.db import Warehouse

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    wh = Warehouse(str(path))
    wh.migrate()
    with wh.transaction() as con:
        con.execute(
            "INSERT INTO statements (statement_id, first_seen_at, speaker, stance, text, lang,"
            " profile, signature) VALUES "
            "('s1', TIMESTAMPTZ '2024-01-04 18:00:00+00', 'John Kirby', 'assert',"
            " 'North Korea has provided Russia with ballistic missiles.', 'en', 'nk_russia', '{}'),"
            "('s2', TIMESTAMPTZ '2024-05-17 08:00:00+00', 'Kim Yo Jong', 'deny',"
            " 'Kim Yo Jong dismissed the claims as absurd.', 'en', 'nk_russia', '{}')"
        )
    return str(path)


def test_sql_prints_table_csv_and_json(db):
    table = runner.invoke(app, ["sql", "SELECT speaker FROM statements ORDER BY 1", "--db", db])
    assert table.exit_code == 0 and "John Kirby" in table.stdout
    out = runner.invoke(app, ["sql", "SELECT speaker, stance FROM statements ORDER BY 1",
                              "--db", db, "--format", "csv"])
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["speaker", "stance"], ["John Kirby", "assert"], ["Kim Yo Jong", "deny"]]
    out = runner.invoke(app, ["sql", "SELECT statement_id, first_seen_at FROM statements "
                              "ORDER BY 1", "--db", db, "--format", "json"])
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0] == {"statement_id": "s1", "first_seen_at": "2024-01-04T18:00:00+00:00"}


def test_sql_is_read_only(db):
    out = runner.invoke(app, ["sql", "DELETE FROM statements", "--db", db])
    assert out.exit_code == 1 and "read-only" in out.stderr.lower()
    with Warehouse(db).connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM statements").fetchone()[0] == 2


def test_sql_params_bind_variables(db, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text("SELECT speaker FROM statements WHERE first_seen_at > "
                     "CAST(getvariable('since') AS TIMESTAMPTZ)")
    out = runner.invoke(app, ["sql", "--file", str(query), "--param", "since=2024-03-01",
                              "--db", db, "--format", "csv"])
    assert out.exit_code == 0, out.stderr
    assert out.stdout.splitlines() == ["speaker", "Kim Yo Jong"]
    bad = runner.invoke(app, ["sql", "--file", str(query), "--param", "nonsense", "--db", db])
    assert bad.exit_code == 2


def test_sql_on_a_missing_warehouse_says_so(tmp_path):
    out = runner.invoke(app, ["sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb")])
    assert out.exit_code == 1 and "no warehouse" in out.stderr


def test_export_writes_every_public_table(db, tmp_path):
    out = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", db])
    assert out.exit_code == 0, out.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out" / "statements.parquet")
    assert table.num_rows == 2
    assert (tmp_path / "out" / "new_statements.parquet").exists()
    out = runner.invoke(app, ["export", str(tmp_path / "csv"), "--db", db, "--format", "csv"])
    assert (tmp_path / "csv" / "article_changes.csv").read_text().startswith("url,title")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[source]]\nname='a'\nurl='ftp://x.example/feed'\n", "not an http(s) URL"),
        ("allow_private = true\n[[source]]\nname='a'\nurl='https://x.example/f'\n",
         "allow_private"),
        ("[[source]]\nname='a'\nurl='https://x.example/f'\n[[source]]\nname='a'\n"
         "url='https://y.example/f'\n", "two sources are named 'a'"),
        ("[[source]\n", "not valid TOML"),
        ("min_delay_seconds = 1\n", "no [[source]] tables"),
    ],
)
def test_bad_sources_file_is_refused_before_anything_runs(tmp_path, content, message):
    sources = tmp_path / "sources.toml"
    sources.write_text(content)
    out = runner.invoke(app, ["run", "--sources", str(sources), "--db", str(tmp_path / "w.db")])
    assert out.exit_code == 2
    assert message in out.stderr.replace("\n", " ")
    assert not (tmp_path / "w.db").exists()


def test_missing_sources_file_is_named(tmp_path):
    out = runner.invoke(app, ["run", "--sources", str(tmp_path / "nope.toml")])
    assert out.exit_code == 2 and "sources file not found" in out.stderr


def test_detect_reads_jsonl_and_rejects_bad_lines(tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({
        "id": "d1", "lang": "en",
        "text": "North Korea has provided Russia with ballistic missiles and launchers, "
                "White House spokesman John Kirby said on Thursday.",
    }) + "\n" + json.dumps({"id": "d2", "text": "The weather in Seoul was mild."}) + "\n")
    done = subprocess.run([sys.executable, "-m", "armswatch.cli", "detect", str(docs)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["doc_id"] for r in rows] == ["d1"]
    assert set(rows[0]) >= {"doc_id", "text", "speaker", "stance", "score", "statement_id",
                            "is_new"}
    assert "Kirby" in rows[0]["speaker"] and rows[0]["is_new"] is True
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    out = runner.invoke(app, ["detect", str(bad)])
    assert out.exit_code == 1 and 'needs "id" and a string "text"' in out.stderr
