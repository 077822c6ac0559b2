"""What a run found, as an analyst reads it on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

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


STANCE_STYLE = {"assert": "cyan", "condemn": "red", "deny": "yellow", "demand": "magenta"}


def _indented(console: Console, text: str, style: str = "") -> None:
    """Web text wrapped under its heading; never read as markup."""
    console.print(Padding(Text(text, style=style), (0, 0, 0, 10)))


def _statement(console: Console, speaker: str | None, stance: str, text: str, where: str) -> None:
    style = STANCE_STYLE.get(stance, "white")
    who = escape(speaker or "(the outlet)")
    console.print(f"  [{style}]{stance:<7}[/{style}] [bold]{who}[/bold]")
    _indented(console, text)
    _indented(console, where, "dim")


def print_cycle(console: Console, db: str, result: CycleResult, title: str = "run") -> None:
    """New statements, sightings of known ones and changed articles of one run."""
    console.rule(f"[bold]{escape(title)}[/bold]")
    console.print(f"[dim]{escape(result.counts.line())}[/dim]")

    new = _rows(db, "run_new_statements", result)
    console.print(f"\n[bold underline]New statements ({len(new)})[/bold underline]")
    for row in new:
        _statement(console, row["speaker"], row["stance"], row["text"],
                   f"{row['source']} · {row['url']}")

    seen = _rows(db, "run_known_sightings", result)
    console.print(f"\n[bold underline]Known statements seen again ({len(seen)})[/bold underline]")
    for row in seen:
        _statement(console, row["speaker"], row["stance"], row["sentence"],
                   f"{row['source']} · {row['url']}")
        _indented(console, f"first seen {row['first_seen_at']:%Y-%m-%d %H:%M} as: "
                  f"{row['first_text']}", "dim")

    changes = _rows(db, "run_article_changes", result)
    console.print(f"\n[bold underline]Changed articles ({len(changes)})[/bold underline]")
    for row in changes:
        console.print(
            f"  [bold]{escape(row['title'] or row['url'])}[/bold] "
            f"v{row['from_version']}→v{row['to_version']}\n  [dim]{escape(row['url'])}[/dim]"
        )
        for sentence in row["added_sentences"]:
            console.print(Padding(Text(f"+ {sentence}", style="green"), (0, 0, 0, 4)))
        for sentence in row["removed_sentences"]:
            console.print(Padding(Text(f"- {sentence}", style="red"), (0, 0, 0, 4)))
