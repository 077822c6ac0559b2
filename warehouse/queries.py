"""The named queries in warehouse/queries/, loaded by name: the same files users run."""

from __future__ import annotations

from importlib import resources


class UnknownQuery(Exception):
    """No query of that name is bundled."""


def names() -> list[str]:
    folder = resources.files("armswatch.warehouse") / "queries"
    return sorted(e.name.removesuffix(".sql") for e in folder.iterdir() if e.name.endswith(".sql"))


def load(name: str) -> str:
    """The SQL text of a bundled query."""
    path = resources.files("armswatch.warehouse") / "queries" / f"{name}.sql"
    if not path.is_file():
        raise UnknownQuery(f"no query named {name!r}; known: {', '.join(names())}")
    return path.read_text("utf-8")
