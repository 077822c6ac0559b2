"""Typed configuration, read once: the sources file and the run settings."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from armswatch.tasks.models import Source
from armswatch.warehouse.db import Warehouse

DEFAULT_SOURCES = Path(__file__).resolve().parent.parent / "deploy" / "sources.toml"


class ConfigError(Exception):
    """The configuration is wrong; the message names the file and the problem."""


class SourceEntry(BaseModel):
    """One `[[source]]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    lang: str | None = None
    tags: list[str] = []
    min_delay_seconds: Annotated[float, Field(ge=0)] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port out of range or not a number
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {value!r} ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {value!r}")
        if not parts.hostname or any(c.isspace() for c in value) or port == 0:
            raise ValueError(f"not an http(s) URL with a host: {value!r}")
        return value


class SourcesFile(BaseModel):
    """The whole sources file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_private_hosts: bool = False
    min_delay_seconds: Annotated[float, Field(ge=0)] = 1.0
    per_host_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    user_agent: str | None = None
    source: list[SourceEntry] = []

    @field_validator("source")
    @classmethod
    def _unique_names(cls, value: list[SourceEntry]) -> list[SourceEntry]:
        seen: set[str] = set()
        for entry in value:
            if entry.name in seen:
                raise ValueError(f"two sources are named {entry.name!r}")
            seen.add(entry.name)
        return value

    def sources(self) -> list[Source]:
        return [
            Source(s.name, s.url, s.lang, tuple(s.tags), s.min_delay_seconds)
            for s in self.source
        ]


def load_sources(path: str | Path, substitutions: dict[str, str] | None = None) -> SourcesFile:
    """Read and validate a sources file; ConfigError says what is wrong and where."""
    path = Path(path)
    try:
        raw = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"sources file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc.strerror}") from None
    for token, value in (substitutions or {}).items():
        raw = raw.replace(token, value)
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    if not parsed.source:
        raise ConfigError(f"{path}: no [[source]] tables")
    return parsed


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment, or ConfigError naming each ARMSWATCH_* value at fault."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        # a value the environment holds that is not even of the right shape (bad JSON)
        raise ConfigError(
            f"bad setting: {exc}; lists are JSON, e.g. '[\"json://host/hook\"]'"
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"ARMSWATCH_{'.'.join(str(p) for p in err['loc']).upper()} "
            f"({'.'.join(str(p) for p in err['loc'])}): {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"bad setting: {problems}") from None


class Settings(BaseSettings):
    """Run settings; each can be set in the environment as ARMSWATCH_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="ARMSWATCH_", extra="ignore", populate_by_name=True
    )

    db: str = "armswatch.duckdb"
    sources: str = str(DEFAULT_SOURCES)
    profile: str = "nk_russia"
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 200
    # Processes that extract, version and analyse pages while the run's own
    # process fetches and writes; 0 means one per CPU core. The earlier name
    # ARMSWATCH_EXTRACT_WORKERS is still read.
    workers: Annotated[
        int,
        Field(ge=0, le=64, validation_alias=AliasChoices(
            "workers", "ARMSWATCH_WORKERS", "ARMSWATCH_EXTRACT_WORKERS")),
    ] = 0
    # Keep the bytes of the pages in flight (two batches at most) in a temporary
    # directory instead of this process's memory: about 50 MB less at the peak for
    # 200-page batches of 160 KB pages, for about 8 % more wall time (bench/RESULTS.md).
    spool_pages: bool = False
    max_articles_per_run: Annotated[int, Field(ge=0)] = 10_000
    on_busy: Literal["wait", "exit"] = "exit"
    max_lateness_minutes: Annotated[float, Field(gt=0)] = 10.0
    # "i/n": this worker polls the i-th of n shards of the sources (and fetches
    # only their articles), so n workers never poll one source in one cycle.
    shard: Annotated[str, Field(pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")] | None = None
    # Where a new DuckLake warehouse (ARMSWATCH_DB=ducklake:…) keeps its data files.
    lake_data_path: str | None = None
    # "dask" runs page processing (extraction, versions, analysis) on a Dask
    # cluster (prefect-dask): the one at dask_address, or a local cluster of
    # dask_workers processes; "threads" runs it on the run's own worker processes.
    task_runner: Literal["threads", "dask"] = "threads"
    dask_address: str | None = None
    dask_workers: Annotated[int, Field(ge=1, le=256)] = 2
    # Pieces each batch's page processing is cut into on Dask, each a task;
    # 0 means two per Dask worker.
    extract_chunks: Annotated[int, Field(ge=0, le=1024)] = 0

    def chunks(self) -> int:
        if self.extract_chunks:
            return self.extract_chunks
        return 2 * self.dask_workers if self.task_runner == "dask" else 1

    def worker_count(self) -> int:
        """How many worker processes a run starts."""
        from armswatch.tasks.process import default_workers

        return self.workers or default_workers()

    @field_validator("shard")
    @classmethod
    def _shard_in_range(cls, value: str | None) -> str | None:
        if value is not None:
            index, count = (int(x) for x in value.split("/"))
            if index > count:
                raise ValueError(f"shard {value}: the index cannot exceed the count")
        return value

    def warehouse(self, db: str | None = None) -> Warehouse:
        return Warehouse(db or self.db, data_path=self.lake_data_path)
    # Where each run writes the Atom feed of new statements; beside the
    # warehouse when unset, nowhere when "".
    statements_feed: str | None = None
    # Apprise URLs (webhook, Slack, email…) told about new statements. Keep
    # secrets out of files: set them in the environment, or name a Prefect
    # Secret block whose value holds the URLs, one a line.
    notify_urls: list[str] = []
    notify_secret_block: str | None = None
    emit_events: bool = True
    # Levels of the library loggers whose lines join the run's logs (Prefect
    # attaches them; their levels are ours to set). INFO on httpx logs every request.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    def feed_path(self, db: str) -> Path | None:
        if self.statements_feed == "":
            return None
        if self.statements_feed:
            return Path(self.statements_feed)
        if db == ":memory:" or db.startswith("ducklake:"):
            return None  # no file to sit beside: name one with ARMSWATCH_STATEMENTS_FEED
        base = Path(db)
        return base.with_name(f"{base.stem}-statements.atom")
