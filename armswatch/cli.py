"""The `armswatch` command line."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="armswatch",
    help="Watch news feeds for statements about North Korea–Russia arms transfers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
# Errors print as plain text: whole lines (for grep and logs) and no markup, since
# messages quote user input such as "[[source]]".
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False, style="red")

DbOption = Annotated[
    str, typer.Option("--db", help="The DuckDB warehouse file.", envvar="ARMSWATCH_DB")
]


def prefect_defaults() -> None:
    """Settings that make Prefect behave on a machine with no internet; the user's own win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "armswatch,httpx,trafilatura")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: Format) -> None:
    """Rows to stdout as a table, CSV or JSON Lines."""
    if fmt is Format.json:
        for row in rows:
            record = {c: _jsonable(v) for c, v in zip(columns, row, strict=True)}
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        return
    if fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[_jsonable(v) for v in row] for row in rows])
        sys.stdout.write(buffer.getvalue())
        return
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(_jsonable(v)) for v in row))
    console.print(table)


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="A SQL query; read-only.")] = None,
    db: DbOption = "armswatch.duckdb",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Run the SQL in this file instead.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=VALUE, read by the query as getvariable('NAME')."),
    ] = None,
) -> None:
    """Run a read-only SQL query on the warehouse and print the result.

    Bundled queries are in warehouse/queries/; `--file` runs one, `--param`
    sets the variables it reads (the DuckDB CLI sets them with SET VARIABLE).
    """
    import duckdb

    from armswatch.warehouse.db import Warehouse, WarehouseBusy

    if (query is None) == (file is None):
        err.print("give either a query or --file")
        raise typer.Exit(2)
    text = query if query is not None else _query_text(file)
    variables = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            err.print(f"--param takes NAME=VALUE, not {item!r}")
            raise typer.Exit(2)
        variables[name] = value
    if not db.startswith("ducklake:") and not Path(db).exists():
        err.print(f"no warehouse at {db}: run `armswatch demo` or `armswatch run` first")
        raise typer.Exit(1)
    try:
        with Warehouse(db, wait_seconds=30).connect(read_only=True) as con:
            for name, value in variables.items():
                con.execute(f"SET VARIABLE {name} = ?", [value])
            cursor = con.execute(text)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall() if columns else []
    except WarehouseBusy as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    except duckdb.Error as exc:
        err.print(f"query failed: {exc}")
        raise typer.Exit(1) from None
    print_rows(columns, rows, fmt)


def _query_text(file: Path) -> str:
    """A query file's SQL; a bare name means the bundled query of that name."""
    from armswatch.warehouse import queries

    if not file.exists() and file.suffix in ("", ".sql") and "/" not in str(file):
        try:
            return queries.load(file.stem)
        except queries.UnknownQuery as exc:
            err.print(str(exc))
            raise typer.Exit(2) from None
    try:
        return file.read_text("utf-8")
    except OSError as exc:
        err.print(f"cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from None


@app.command()
def detect(
    file: Annotated[str, typer.Argument(help="JSON Lines documents; - for standard input.")] = "-",
    profile: Annotated[
        str, typer.Option(help="A bundled topic profile name or a path to a TOML profile.")
    ] = "nk_russia",
) -> None:
    """Find statements in JSON Lines documents {"id", "text", "lang"?}; one line a statement."""
    from armswatch.tasks.detect import Detector, detect_documents

    stream = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
    try:
        docs = _read_jsonl(stream, file)
        detector = Detector.from_profile(profile)
        for row in detect_documents(docs, detector):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if stream is not sys.stdin:
            stream.close()


def _read_jsonl(stream: io.TextIOBase, name: str):
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            err.print(f"{name}:{number}: not JSON: {exc.msg}")
            raise typer.Exit(1) from None
        if not isinstance(doc, dict) or "id" not in doc or not isinstance(doc.get("text"), str):
            err.print(f'{name}:{number}: each line needs "id" and a string "text"')
            raise typer.Exit(1)
        yield doc


def check_config(sources: Path | None) -> Path:
    """The sources file to use, once it, the ARMSWATCH_* settings and the profile all check out.

    Errors name the file, variable or profile at fault, and exit with code 2
    before Prefect or the warehouse is touched.
    """
    from armswatch.flows.config import ConfigError, load_settings, load_sources
    from armswatch.tasks.detect import Detector, ProfileError

    try:
        settings = load_settings()
        path = sources or Path(settings.sources)
        load_sources(path)
        Detector.from_profile(settings.profile)
    except (ConfigError, ProfileError) as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    return path


@app.command()
def run(
    sources: Annotated[
        Path | None, typer.Option(help="The sources file (TOML).", envvar="ARMSWATCH_SOURCES")
    ] = None,
    db: DbOption = "armswatch.duckdb",
    recheck_all: Annotated[
        bool, typer.Option(help="Re-check every known article now, due or not.")
    ] = False,
    wait: Annotated[
        bool | None,
        typer.Option(
            "--wait/--no-wait",
            help="Wait for a run already writing this warehouse, or exit at once "
            "[default: ARMSWATCH_ON_BUSY, else exit].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run one monitor cycle over a sources file."""
    path = check_config(sources)
    from armswatch import report
    from armswatch.flows.monitor import configured, monitor

    on_busy = None if wait is None else ("wait" if wait else "exit")
    state = configured(monitor)(
        sources=str(path), db=db, recheck_all=recheck_all, on_busy=on_busy, return_state=True
    )
    if state.is_cancelled():
        err.print(f"{state.message} (use --wait to queue behind it)")
        raise typer.Exit(3)
    if not state.is_completed():
        err.print(f"the run did not complete: {state.message}")
        raise typer.Exit(1)
    result = state.result()
    report.print_cycle(console, db, result)


@app.command()
def demo(
    db: DbOption = "armswatch.duckdb",
) -> None:
    """Replay the bundled demo corpus through the monitor flow, in two cycles."""
    from armswatch import demo as demo_module

    try:
        demo_module.run_demo(db, console)
    except demo_module.DemoRefused as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None


@app.command()
def backfill(
    sitemap: Annotated[
        str | None, typer.Option(help="A sitemap or sitemap index: URL or file.")
    ] = None,
    url_list: Annotated[
        Path | None, typer.Option(help="A text file with one article URL a line.")
    ] = None,
    feed_archive: Annotated[
        str | None, typer.Option(help="A feed (RSS/Atom/JSON) with past entries: URL or file.")
    ] = None,
    name: Annotated[str, typer.Option(help="The source name the articles are filed under.")] = (
        "backfill"
    ),
    db: DbOption = "armswatch.duckdb",
    min_delay_seconds: Annotated[float, typer.Option(help="Delay between requests to a host.")] = (
        1.0
    ),
    allow_private_hosts: Annotated[
        bool, typer.Option(help="Allow loopback and private addresses (local archives).")
    ] = False,
) -> None:
    """Ingest past articles from a sitemap, a URL list or a feed archive."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from armswatch import report
    from armswatch.flows import backfill as backfill_flow
    from armswatch.flows.monitor import configured

    if not (sitemap or url_list or feed_archive):
        err.print("give --sitemap, --url-list or --feed-archive")
        raise typer.Exit(2)
    with Progress(
        TextColumn("backfill"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), console=err,
    ) as bar:
        job = bar.add_task("backfill", total=None, info="")

        def progress(done, total, counts) -> None:
            bar.update(job, completed=done, total=total,
                       info=f"versions={counts.new_versions} statements={counts.new_statements}")

        token = backfill_flow.PROGRESS.set(progress)
        try:
            result = configured(backfill_flow.backfill)(
                sitemap=sitemap, url_list=str(url_list) if url_list else None,
                feed_archive=feed_archive, name=name, db=db,
                allow_private_hosts=allow_private_hosts, min_delay_seconds=min_delay_seconds,
            )
        finally:
            backfill_flow.PROGRESS.reset(token)
    report.print_cycle(console, db, result, "backfill")


@app.command()
def reprocess(
    db: DbOption = "armswatch.duckdb",
    profile: Annotated[
        str, typer.Option(help="A bundled topic profile name or a path to a TOML profile.")
    ] = "nk_russia",
) -> None:
    """Detect statements again over every stored version, after a topic profile changed."""
    from armswatch.flows.reprocess import reprocess as reprocess_flow

    counts = reprocess_flow(db=db, profile=profile)
    console.print(" ".join(f"{k}={v}" for k, v in counts.items()))


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="The folder to write into.")],
    db: DbOption = "armswatch.duckdb",
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write every public table and view to Parquet or CSV files, one a table."""
    from armswatch.warehouse.db import Warehouse
    from armswatch.warehouse.export import export_tables

    if fmt not in ("parquet", "csv"):
        err.print("--format is parquet or csv")
        raise typer.Exit(2)
    with Warehouse(db, wait_seconds=30).connect(read_only=True) as con:
        written = export_tables(con, out, fmt)
    for name, (path, rows) in written.items():
        console.print(f"{name:<22} {rows:>9} rows  {path}")


@app.command()
def serve(
    sources: Annotated[
        Path | None, typer.Option(help="The sources file (TOML).", envvar="ARMSWATCH_SOURCES")
    ] = None,
    db: DbOption = "armswatch.duckdb",
    every: Annotated[int, typer.Option(help="Minutes between monitor runs.")] = 15,
    digest_cron: Annotated[str, typer.Option(help="When the daily digest runs (cron, UTC).")] = (
        "0 6 * * *"
    ),
) -> None:
    """Run the monitor and digest schedules in this process, without a work pool."""
    from armswatch.flows.serve import serve_all

    path = check_config(sources)
    serve_all(str(path.resolve()), str(Path(db).resolve()), every, digest_cron)


@app.command("lake-move")
def lake_move(
    to: Annotated[str, typer.Option("--to", help="The DuckLake: ducklake:<catalog>.")],
    db: DbOption = "armswatch.duckdb",
    data_path: Annotated[
        str | None, typer.Option(help="Where the lake keeps its data files (folder or s3://…).")
    ] = None,
) -> None:
    """Move a DuckDB warehouse file into an empty DuckLake, all tables in one transaction."""
    from armswatch.warehouse.db import ExtensionUnavailable, Warehouse
    from armswatch.warehouse.move import MoveRefused, move_to_lake

    if not to.startswith("ducklake:"):
        err.print("--to takes a DuckLake: ducklake:<catalog>, e.g. ducklake:postgres:dbname=lake")
        raise typer.Exit(2)
    try:
        copied = move_to_lake(Warehouse(db), Warehouse(to, data_path=data_path))
    except (MoveRefused, ExtensionUnavailable) as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    for table, rows in copied.items():
        console.print(f"{table:<22} {rows:>9} rows")
    console.print(f"Moved {db} into {to}. Point ARMSWATCH_DB at the lake from now on.")


def main() -> None:
    prefect_defaults()
    app()


if __name__ == "__main__":
    main()
