"""What a run found, as an analyst reads it on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from armswatch.flows.monitor import CycleResult
from armswatch.warehouse import queries
from armswatch.warehouse.db import Warehouse


def _rows(db: str, name: str, result: CycleResult) -> list[dict]:
    with Warehouse(db).connect(read_only=True) as con:
        cursor = con.execute(
            queries.load(name), {"since": result.started_at, "until": result.finished_at}
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def print_cycle(console: Console, db: str, result: CycleResult, title: str = "run") -> None:
    """New statements, sightings of known ones and changed articles of one run."""
    console.rule(f"[bold]{escape(title)}[/bold]  {escape(result.counts.line())}")

    new = _rows(db, "run_new_statements", result)
    table = Table(
        "speaker", "stance", "statement", "source / url", title=f"New statements ({len(new)})",
        show_lines=True, title_justify="left", expand=True,
    )
    for row in new:
        table.add_row(
            escape(row["speaker"] or "(outlet)"), row["stance"], escape(row["text"]),
            escape(f"{row['source']}\n{row['url']}"),
        )
    console.print(table)

    seen = _rows(db, "run_known_sightings", result)
    if seen:
        table = Table("speaker", "stance", "seen again as", "first seen as", "source / url",
                      title=f"Known statements seen again ({len(seen)})", show_lines=True,
                      title_justify="left", expand=True)
        for row in seen:
            table.add_row(
                escape(row["speaker"] or "(outlet)"), row["stance"], escape(row["sentence"]),
                escape(row["first_text"]), escape(f"{row['source']}\n{row['url']}"),
            )
        console.print(table)

    changes = _rows(db, "run_article_changes", result)
    for row in changes:
        console.print(
            f"[bold]Changed:[/bold] {escape(row['title'] or '')}  "
            f"v{row['from_version']}→v{row['to_version']}  {escape(row['url'])}"
        )
        for sentence in row["added_sentences"]:
            console.print(f"  [green]+ {escape(sentence)}[/green]")
        for sentence in row["removed_sentences"]:
            console.print(f"  [red]- {escape(sentence)}[/red]")
    if not changes:
        console.print("No article changed.")
