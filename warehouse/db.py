"""Connections to the DuckDB warehouse: migrations, short write transactions, patient readers."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

log = logging.getLogger("armswatch.warehouse")

MEMORY = ":memory:"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class WarehouseBusy(Exception):
    """Another process held the warehouse file for longer than we were willing to wait."""


class RunInProgress(Exception):
    """Another monitor run holds the run lock on this warehouse."""


class MigrationError(Exception):
    """A schema migration failed; the warehouse was left as it was before it."""


def migrations() -> list[tuple[str, str]]:
    """The bundled migrations as (name, sql), in the order they apply."""
    folder = resources.files("armswatch.warehouse") / "migrations"
    found = sorted(
        entry.name for entry in folder.iterdir() if _MIGRATION_NAME.match(entry.name)
    )
    return [(name.removesuffix(".sql"), (folder / name).read_text("utf-8")) for name in found]


def migrate(
    con: duckdb.DuckDBPyConnection, bundled: list[tuple[str, str]] | None = None
) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations; return the names applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in migrations() if bundled is None else bundled:
        if name in done:
            continue
        # DuckDB's DDL is transactional: a failing statement rolls back the
        # whole migration together with its record.
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"migration {name} failed: {exc}") from exc
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def _open(path: str, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open a connection, retrying with backoff while another process holds the file."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise WarehouseBusy(
                        f"{path} stayed locked by another process for {wait_seconds:.0f}s"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@dataclass
class Warehouse:
    """A warehouse file (or `:memory:`), opened only for as long as each batch needs it.

    DuckDB lets one process write a file and then locks out every other
    process, readers included; so writers hold the file only for one batch and
    readers retry. `:memory:` keeps one connection, since closing it would
    drop the data.
    """

    path: str = "armswatch.duckdb"
    wait_seconds: float = 60.0
    _memory: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = str(self.path)
        if self.path == MEMORY:
            self._memory = duckdb.connect(MEMORY)
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with no transaction open; closed on exit."""
        if self._memory is not None:
            yield self._memory.cursor()
            return
        con = _open(self.path, read_only, self.wait_seconds)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection inside one transaction, committed on success, rolled back on error."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def migrate(self) -> list[str]:
        with self.connect() as con:
            return migrate(con)

    @contextlib.contextmanager
    def run_lock(self, wait: bool = False, wait_seconds: float = 3600.0) -> Iterator[None]:
        """Keep a second monitor run off this warehouse: wait for the first, or refuse at once."""
        if self._memory is not None:
            yield
            return
        lock_path = f"{self.path}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + (wait_seconds if wait else 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
                        raise RunInProgress(
                            f"another run is writing {self.path}"
                            + (f" (pid {holder})" if holder else "")
                        ) from None
                    time.sleep(0.5)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            # The kernel drops a flock when its holder dies, so a SIGKILLed
            # run never leaves the warehouse locked.
            os.close(fd)
