"""The demo: the bundled corpus served on 127.0.0.1 and replayed through the monitor flow twice."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
from rich.console import Console


class DemoRefused(Exception):
    """The demo will not write into a warehouse that holds other data."""


def corpus_dir() -> Path:
    return Path(str(resources.files("armswatch.demo") / "corpus"))


def demo_source_names() -> set[str]:
    from armswatch.flows.config import load_sources

    placeholder = {"__BASE__": "http://127.0.0.1:1"}
    return {s.name for s in load_sources(corpus_dir() / "sources.toml", placeholder).source}


def _reset(db: str) -> None:
    """Start from an empty warehouse, but only if it is a demo warehouse.

    The demo's pages are served on a new port each time, so their URLs change
    between demos; replaying into an old demo warehouse would store every
    article twice.
    """
    path = Path(db)
    if db == ":memory:" or not path.exists():
        return
    try:
        con = duckdb.connect(db, read_only=True)
    except duckdb.Error as exc:
        raise DemoRefused(f"{db} exists and is not a demo warehouse: {exc}") from None
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sources").fetchall()}
    except duckdb.Error:
        names = set()
    finally:
        con.close()
    if not names <= demo_source_names():
        raise DemoRefused(
            f"{db} holds sources the demo did not write ({', '.join(sorted(names))}); "
            "pass --db with another file"
        )
    path.unlink()
    Path(f"{db}.wal").unlink(missing_ok=True)


def run_demo(db: str, console: Console) -> None:
    """Serve the corpus, run cycle 1 on it, switch to the cycle-2 overlay, run again; print both."""
    from armswatch import report
    from armswatch.demo.server import ReplayServer
    from armswatch.flows.monitor import monitor

    corpus = corpus_dir()
    _reset(db)
    sources = str(corpus / "sources.toml")
    with ReplayServer([corpus / "base"]) as server:
        substitutions = {"__BASE__": server.base_url}
        console.print(f"Serving the demo corpus at {server.base_url}; warehouse: {db}")
        first = monitor(sources=sources, db=db, substitutions=substitutions)
        report.print_cycle(console, db, first, "cycle 1")
        server.set_layers([corpus / "cycle2", corpus / "base"])
        # Cycle 2 stands for the hours after cycle 1: every known article is
        # due a re-check, as the schedule would make it later that day.
        second = monitor(sources=sources, db=db, substitutions=substitutions, recheck_all=True)
        report.print_cycle(console, db, second, "cycle 2")
    console.print(
        f"\nThe warehouse is {db}. Try: armswatch sql \"SELECT speaker, stance, text "
        f"FROM new_statements\" --db {db}"
    )
