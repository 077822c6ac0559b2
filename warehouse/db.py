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
# New warehouse files use the 1.5 storage format, which DuckDB 2.x writes and
# 1.5.x reads: the `lake` install (DuckDB 1.5.5, for offline extensions) can
# then open a file made by the default install, e.g. to move it into a lake.
FILE_CONFIG = {"storage_compatibility_version": "v1.5.0"}
LAKE_PREFIX = "ducklake:"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# DuckLake keeps no PRIMARY KEY or UNIQUE constraints; the writers enforce the
# natural keys themselves (warehouse/store.py KEYS), so a lake drops them.
_TABLE_KEY = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)", re.IGNORECASE)
_COLUMN_KEY = re.compile(r"\s+(?:PRIMARY KEY|UNIQUE)\b", re.IGNORECASE)


class WarehouseBusy(Exception):
    """Another process held the warehouse file for longer than we were willing to wait."""


class RunInProgress(Exception):
    """Another monitor run holds the run lock on this warehouse."""


class MigrationError(Exception):
    """A schema migration failed; the warehouse was left as it was before it."""


class ExtensionUnavailable(Exception):
    """A DuckDB extension the warehouse needs could not be loaded."""


def for_lake(sql: str) -> str:
    """A migration's DDL without the key constraints DuckLake does not support."""
    return _COLUMN_KEY.sub("", _TABLE_KEY.sub("", sql))


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension: its registry package (offline) if installed, else DuckDB's own."""
    try:
        from duckdb_extensions import import_extension
    except ImportError:
        import_extension = None
    try:
        if import_extension is not None:
            import_extension(name, con=con)
        else:
            con.execute(f"INSTALL {name}")
        con.execute(f"LOAD {name}")
    except (duckdb.Error, ModuleNotFoundError) as exc:
        raise ExtensionUnavailable(
            f"DuckDB extension {name!r} is unavailable ({exc}); install armswatch[lake] "
            "or let DuckDB reach its extension repository"
        ) from None


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
    lake = is_lake(con)
    ddl = (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    con.execute(for_lake(ddl) if lake else ddl)
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in migrations() if bundled is None else bundled:
        if name in done:
            continue
        # DuckDB's DDL is transactional: a failing statement rolls back the
        # whole migration together with its record.
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(for_lake(sql) if lake else sql)
            con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"migration {name} failed: {exc}") from exc
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's current catalog is a DuckLake."""
    rows = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return bool(rows) and rows[0][0] == "ducklake"


def _is_race(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(
        word in text for word in ("conflict", "duplicate key", "already exists", "concurrent")
    )


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def _open(path: str, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open a connection, retrying with backoff while another process holds the file."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            # Only a new file needs the setting; passing it for an existing one
            # would clash with other connections to it in this process.
            config = {} if os.path.exists(path) else FILE_CONFIG
            return duckdb.connect(path, read_only=read_only, config=config)
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
    # Where a new DuckLake puts its Parquet files (a folder or s3://…); an
    # existing lake remembers its own.
    data_path: str | None = None
    _memory: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = str(self.path)
        if self.path == MEMORY:
            self._memory = duckdb.connect(MEMORY)
        elif not self.lake:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    @property
    def lake(self) -> bool:
        """A DuckLake (`ducklake:<catalog>`): several processes may write it at once."""
        return self.path.startswith(LAKE_PREFIX)

    def _attach_lake(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        try:
            load_extension(con, "ducklake")
            if self.path.startswith(f"{LAKE_PREFIX}postgres:"):
                load_extension(con, "postgres_scanner")
            options = []
            if self.data_path:
                options.append(f"DATA_PATH '{self.data_path.replace(chr(39), chr(39) * 2)}'")
            if read_only:
                options.append("READ_ONLY")
            target = self.path.replace("'", "''")
            suffix = f" ({', '.join(options)})" if options else ""
            con.execute(f"ATTACH '{target}' AS lake{suffix}")
            con.execute("USE lake")
        except BaseException:
            con.close()
            raise
        return con

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with no transaction open; closed on exit."""
        if self._memory is not None:
            yield self._memory.cursor()
            return
        con = self._attach_lake(read_only) if self.lake else _open(
            self.path, read_only, self.wait_seconds
        )
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
        if not self.lake:
            with self.connect() as con:
                return migrate(con)
        # Workers that start together on a new lake race to create its catalog
        # and tables; the losers find the work done when they try again.
        return self.retrying(lambda: self._migrate_once())

    def _migrate_once(self) -> list[str]:
        with self.connect() as con:
            return migrate(con)

    def retrying(self, work, attempts: int = 6):
        """Run `work` again after a write conflict with another writer of a lake.

        `work` must be idempotent (every armswatch write is); a file warehouse
        has one writer at a time, so it runs once.
        """
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                return work()
            except (duckdb.Error, MigrationError) as exc:
                if not self.lake or attempt == attempts or not _is_race(exc):
                    raise
                log.info("write conflict on %s (%s); trying again", self.path, exc)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def run_lock(self, wait: bool = False, wait_seconds: float = 3600.0) -> Iterator[None]:
        """Keep a second monitor run off this warehouse: wait for the first, or refuse at once."""
        if self._memory is not None or self.lake:
            # A lake takes several writers; sharding keeps them off each other's sources.
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
