"""The scheduled flow: poll the sources, fetch what is new or due, store versions and statements."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.assets import Asset, AssetProperties, add_asset_metadata, materialize
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.futures import PrefectFuture
from prefect.states import Cancelled, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from armswatch.flows.config import Settings, SourcesFile, load_sources
from armswatch.tasks import diff, feeds, fetch, load, process, publish
from armswatch.tasks.analysis import DocumentAnalysis
from armswatch.tasks.detect import Detector
from armswatch.tasks.http import HostMemory, HttpPolicy
from armswatch.tasks.models import (
    Detection,
    ExtractedText,
    FeedPoll,
    FetchedPage,
    FetchRequest,
    Source,
    VersionRecord,
)
from armswatch.warehouse.db import RunInProgress, Warehouse
from armswatch.warehouse.store import StaleStatements


@dataclass
class CycleCounts:
    """The one line of counts each run ends with."""

    feeds: int = 0
    feeds_failed: int = 0
    entries_new: int = 0
    fetched: int = 0
    failed: int = 0
    new_articles: int = 0
    new_versions: int = 0
    changed_articles: int = 0
    new_statements: int = 0
    sightings: int = 0

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in dataclasses.asdict(self).items())


@dataclass
class CycleResult:
    """What a run did, for the caller to report; the warehouse holds the details."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    counts: CycleCounts = field(default_factory=CycleCounts)


def http_policy(config: SourcesFile) -> HttpPolicy:
    """The HTTP client settings a sources file asks for."""
    overrides: dict[str, object] = {
        "allow_private_hosts": config.allow_private_hosts,
        "min_delay_seconds": config.min_delay_seconds,
        "per_host_concurrency": config.per_host_concurrency,
    }
    if config.user_agent:
        overrides["user_agent"] = config.user_agent
    return HttpPolicy(**overrides)


# Prefect visits every element of a task's parameters looking for futures and
# states: 1.4 ms of CPU a page for the batches of records passed here, none of
# which holds one. Those parameters are passed quoted, which Prefect leaves unvisited.


@task(name="poll-feeds", cache_policy=NO_CACHE)
def poll_feeds(
    sources: list[Source], wh: Warehouse, policy: HttpPolicy, memory: HostMemory | None = None
) -> list[FeedPoll]:
    return feeds.poll_feeds(sources, load.read_feed_states(wh), policy, memory=memory)


@task(name="record-polls", cache_policy=NO_CACHE)
def record_polls(
    wh: Warehouse, sources: list[Source], polls: list[FeedPoll], run_id: str
) -> dict[str, int]:
    return load.record_polls(wh, sources, polls, run_id)


@task(name="fetch-articles", task_run_name="fetch-batch-{batch}", cache_policy=NO_CACHE)
def fetch_articles(
    requests: list[FetchRequest], policy: HttpPolicy, batch: int,
    memory: HostMemory | None = None,
) -> list[FetchedPage]:
    return fetch.fetch_pages(requests, policy, memory=memory)


@task(name="process-pages", task_run_name="process-batch-{batch}", cache_policy=NO_CACHE)
def process_pages(
    works: list[process.Work], workers: process.WorkerPool | Detector, batch: int
) -> list[process.Outcome]:
    """Extract, version and analyse pages: on the run's worker processes, or here on Dask."""
    if isinstance(workers, process.WorkerPool):
        return workers.submit(works).result()
    return process.process_pages(works, workers)


def task_runner(settings: Settings):
    """The task runner the settings ask for: Prefect's thread pool, or a Dask cluster."""
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": settings.dask_workers, "threads_per_worker": 1,
                            "processes": True, "host": "127.0.0.1"}
        )
    return ThreadPoolTaskRunner()


def configured(flow_object):
    """A flow with the task runner the environment's settings ask for."""
    return flow_object.with_options(task_runner=task_runner(Settings()))


@task(name="resolve-statements", task_run_name="resolve-batch-{batch}", cache_policy=NO_CACHE)
def resolve_statements(
    analyses: list[DocumentAnalysis], detector: Detector, batch: int
) -> list[Detection]:
    """Statement identity, in arrival order, against everything the detector knows."""
    return [d for analysis in analyses for d in detector.resolve(analysis)]


@task(name="write-batch", task_run_name="write-batch-{batch}", cache_policy=NO_CACHE)
def write_batch(
    wh: Warehouse,
    now: datetime,
    pages: list[FetchedPage],
    texts: list[ExtractedText | None],
    versions: list[VersionRecord],
    skipped: list[diff.Skipped],
    detections: list[Detection],
    profile: str,
    batch: int,
    epoch: int | None = None,
) -> load.BatchCounts:
    return load.record_batch(
        wh, now, pages, texts, versions, skipped, detections, profile, epoch
    )


def in_shard(name: str, shard: str | None) -> bool:
    """Whether a source belongs to shard "i/n" (1-based); every source does without shards."""
    if not shard:
        return True
    index, count = (int(x) for x in shard.split("/"))
    return zlib.crc32(name.encode("utf-8")) % count == index - 1


def asset_key(db: str, table: str) -> str:
    """The Prefect asset key of a warehouse table: the DuckDB file and the table."""
    if db.startswith("ducklake:"):
        # The catalog's connection string, less anything secret in it.
        catalog = re.sub(r"password=\S*", "", db.removeprefix("ducklake:"))
        return "ducklake://" + re.sub(r"[^A-Za-z0-9._/-]+", "-", f"{catalog}/{table}")
    where = "memory" if db == ":memory:" else str(Path(db).resolve()).lstrip("/")
    return "duckdb://" + re.sub(r"[^A-Za-z0-9._/-]", "-", f"{where}/{table}")


MAX_SOURCE_ASSETS = 50


def source_asset(source: Source) -> Asset:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", source.name)
    return Asset(key=f"feed://{name}", properties=AssetProperties(name=source.name))


def _materialize_lineage(wh: Warehouse, sources: list[Source], counts: CycleCounts) -> None:
    """Record sources → articles → versions → statements as Prefect assets, with row counts.

    The writes themselves happen batch by batch in write-batch; these three
    task runs mark what the run materialized once every batch has committed.
    """
    articles = Asset(key=asset_key(wh.path, "articles"))
    versions = Asset(key=asset_key(wh.path, "article_versions"))
    statements = Asset(key=asset_key(wh.path, "statements"))
    rows = load.table_rows(wh, ["articles", "article_versions", "statements"])
    # Prefect takes at most 100 related resources an event: past that many
    # sources, the lineage names them as one group.
    feeds = (
        [source_asset(s) for s in sources] if len(sources) <= MAX_SOURCE_ASSETS
        else [Asset(key=f"feed://{len(sources)}-sources")]
    )
    steps = [
        (articles, feeds, {"new_rows": counts.new_articles}),
        (versions, [articles], {"new_rows": counts.new_versions,
                                "changed_articles": counts.changed_articles}),
        (statements, [versions], {"new_rows": counts.new_statements,
                                  "sightings": counts.sightings}),
    ]
    for asset, upstream, metadata in steps:
        table = asset.key.rsplit("/", 1)[-1]

        def record(asset=asset, metadata=metadata, table=table) -> None:
            add_asset_metadata(asset, {"rows": rows[table], **metadata})

        materialize(
            asset, asset_deps=upstream, cache_policy=NO_CACHE, name=f"materialize-{table}"
        )(record)()


@task(name="publish-run", cache_policy=NO_CACHE)
def publish_run(
    wh: Warehouse, settings: Settings, started: datetime, finished: datetime, counts: CycleCounts
) -> publish.RunReport:
    """Artifacts, events, the statements feed and notices for what this run stored."""
    logger = get_run_logger()
    window = load.run_report(wh, started, finished, counts.line())
    # Announced are the statements no run has announced yet: this run's, and
    # any a run that died before publishing left behind (at least once).
    report = dataclasses.replace(window, new_statements=load.unannounced_statements(wh))
    create_markdown_artifact(
        key="armswatch-monitor-summary",
        markdown=publish.summary_markdown(report),
        description="New statements and changed articles of this monitor run",
    )
    create_table_artifact(
        key="armswatch-new-statements",
        table=publish.statements_table(report.new_statements),
        description=f"{len(report.new_statements)} new statements",
    )
    if settings.emit_events:
        for row in report.new_statements:
            emit_event(**publish.statement_event(row))
        for row in report.changes:
            emit_event(**publish.article_event(row))
    feed = settings.feed_path(wh.path)
    if feed is not None:
        publish.write_statements_feed(
            feed, load.latest_statements(wh), f"urn:armswatch:{wh.path}", finished
        )
        logger.info("statements feed written to %s", feed)
    if report.new_statements:
        urls = list(settings.notify_urls)
        if settings.notify_secret_block:
            from prefect.blocks.system import Secret

            secret = Secret.load(settings.notify_secret_block).get()
            urls += secret if isinstance(secret, list) else str(secret).split()
        if urls:
            publish.notify(urls, *publish.notice_text(report))
    load.mark_announced(wh, [row["statement_id"] for row in report.new_statements], finished)
    return report


@dataclass
class Identity:
    """The detector with the statements it knows, and the statement epoch it knows them at."""

    detector: Detector
    epoch: int
    profile: str
    # The same profile with an empty index: cheap to ship to Dask workers,
    # since analysis never looks at known statements.
    analyser: Detector

    @classmethod
    def load(cls, wh: Warehouse, profile: str) -> Identity:
        detector = Detector.from_profile(profile)
        known, epoch = load.load_known_statements(wh, detector.profile_name)
        detector.load_known(known)
        return cls(detector, epoch, profile, Detector.from_profile(profile))


# A batch whose statements lost a race with another writer is detected again
# with what is known now; a few rounds settle any race between two workers.
MAX_WRITE_ATTEMPTS = 5


@dataclass
class InFlight:
    """A fetched batch whose pages are being processed."""

    batch: int
    now: datetime
    pages: list[FetchedPage]
    futures: list[PrefectFuture]

    def outcomes(self) -> list[process.Outcome]:
        return [outcome for future in self.futures for outcome in future.result()]


def start_batch(
    wh: Warehouse,
    requests: list[FetchRequest],
    policy: HttpPolicy,
    workers: process.WorkerPool | Detector,
    pieces: int,
    batch: int,
    memory: HostMemory | None = None,
    spool: bool = False,
) -> InFlight:
    """Fetch a batch and hand its pages to the workers; returns while they work.

    On Dask the batch goes out as `pieces` task runs, so the stage scales with
    the cluster; on the run's own workers it is one task run.
    """
    now = datetime.now(UTC)
    pages = fetch_articles(quote(requests), policy, batch, memory)
    # The writer needs no page bodies: let each go as soon as its worker has it.
    kept = [dataclasses.replace(p, body=None) for p in pages]
    usable = process.usable(pages)
    previous = load.previous_versions(wh, [p.article_id for p in usable])
    by_id = {r.article_id: r for r in requests}
    works = [process.Work(p, by_id.get(p.article_id), previous.get(p.article_id)) for p in usable]
    if spool and isinstance(workers, process.WorkerPool):
        # The bytes wait in files, not in this process, until a worker reads them.
        works = workers.spool(works)
    del pages, usable
    local = isinstance(workers, process.WorkerPool)
    pieces = 1 if local else min(pieces, max(1, len(works)))
    size = max(1, -(-len(works) // pieces))
    # A Dask worker receives the annotation as a plain tuple, so only a local run quotes.
    wrap = quote if local else list
    futures = [
        process_pages.with_options(
            task_run_name=f"process-batch-{batch}" + (f"-{n}" if pieces > 1 else "")
        ).submit(wrap(works[i : i + size]), workers, batch)
        for n, i in enumerate(range(0, max(1, len(works)), size), 1)
    ]
    return InFlight(batch, now, kept, futures)


@contextlib.contextmanager
def page_workers(settings: Settings, identity: Identity):
    """The run's worker processes; on Dask, the analyser the cluster's tasks take instead."""
    if settings.task_runner == "dask":
        yield identity.analyser
        return
    with process.WorkerPool(identity.analyser, settings.worker_count()) as pool:
        yield pool


def process_due(
    wh: Warehouse,
    identity: Identity,
    settings: Settings,
    policy: HttpPolicy,
    counts: CycleCounts,
    delays: dict[str, float | None] | None = None,
    recheck_all: bool = False,
    on_batch: Callable[[int, CycleCounts], None] | None = None,
    sources: list[str] | None = None,
    memory: HostMemory | None = None,
) -> CycleCounts:
    """Fetch, extract, diff, detect and write every due article, one bounded batch at a time.

    The run is planned once; batches then overlap: while the workers process
    batch k, this process fetches batch k+1 and then writes batch k. At most two
    batches are in memory at once.
    """
    logger = get_run_logger()
    memory = memory if memory is not None else HostMemory()
    planned = load.plan_fetches(
        wh, datetime.now(UTC), settings.max_articles_per_run, recheck_all, delays, sources
    )
    if not planned:
        return counts
    size = settings.batch_size
    batches = [planned[i : i + size] for i in range(0, len(planned), size)]
    done = 0
    seconds = [0.0] * len(process.STAGES)
    with page_workers(settings, identity) as workers:
        spool = settings.spool_pages
        ahead = start_batch(wh, batches[0], policy, workers, settings.chunks(), 1, memory, spool)
        for number in range(1, len(batches) + 1):
            current = ahead
            if number < len(batches):
                ahead = start_batch(
                    wh, batches[number], policy, workers, settings.chunks(), number + 1, memory,
                    spool,
                )
            identity = write_processed(wh, identity, current, counts, seconds, logger)
            done += len(current.pages)
            del current
            process.trim_heap()
            if on_batch is not None:
                on_batch(done, counts)
    logger.info(
        "%d pages in %d batches; CPU seconds on the workers: %s", done, len(batches),
        " ".join(f"{stage}={s:.2f}" for stage, s in zip(process.STAGES, seconds, strict=True)),
    )
    return counts


def write_processed(
    wh: Warehouse,
    identity: Identity,
    flight: InFlight,
    counts: CycleCounts,
    seconds: list[float],
    logger: logging.Logger | logging.LoggerAdapter,
) -> Identity:
    """Resolve a processed batch's statements in arrival order and write the batch at once."""
    outcomes = process.Processed.of(flight.outcomes())
    for i, spent in enumerate(outcomes.seconds):
        seconds[i] += spent
    texts = [outcomes.texts.get(p.article_id) for p in flight.pages]
    batch = flight.batch
    for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
        detections = resolve_statements(quote(outcomes.analyses), identity.detector, batch)
        try:
            written = write_batch(
                wh, flight.now, quote(flight.pages), quote(texts), quote(outcomes.versions),
                quote(outcomes.skipped), quote(detections), identity.detector.profile_name,
                batch, identity.epoch,
            )
            break
        except (StaleStatements, duckdb.TransactionException) as exc:
            if attempt == MAX_WRITE_ATTEMPTS:
                raise
            logger.info("batch %d: %s; detecting it again (attempt %d)", batch, exc, attempt)
            identity = Identity.load(wh, identity.profile)
    identity.epoch = written.epoch
    counts.fetched += written.fetched
    counts.failed += written.failed
    counts.new_articles += written.new_articles
    counts.new_versions += written.versions
    counts.changed_articles += written.changed_articles
    counts.new_statements += written.statements
    counts.sightings += written.sightings
    return identity


def open_warehouse(wh: Warehouse, profile: str) -> Identity:
    """Migrate the warehouse and load the detector with the statements it already knows."""
    applied = wh.migrate()
    if applied:
        get_run_logger().info("warehouse %s: applied migrations %s", wh.path, ", ".join(applied))
    return Identity.load(wh, profile)


def run_cycle(
    config: SourcesFile,
    wh: Warehouse,
    identity: Identity,
    settings: Settings,
    run_id: str,
    recheck_all: bool = False,
) -> CycleCounts:
    """One monitor cycle over this worker's shard of the sources, under the caller's run lock."""
    logger = get_run_logger()
    counts = CycleCounts()
    sources = [s for s in config.sources() if in_shard(s.name, settings.shard)]
    policy = http_policy(config)
    # Politeness is owed per host across the whole run: polls and every batch.
    memory = HostMemory()
    polls = poll_feeds(sources, wh, policy, memory)
    new_entries = record_polls(wh, quote(sources), quote(polls), run_id)
    counts.feeds = len(polls)
    counts.feeds_failed = sum(1 for p in polls if p.error)
    counts.entries_new = sum(new_entries.values())
    for poll in polls:
        if poll.error:
            logger.warning("source %s failed: %s", poll.source, poll.error)
    # Every entry is recorded; the feeds' parsed entries need not wait through the batches.
    del polls

    delays = {s.name: s.min_delay_seconds for s in sources}
    # Articles go with their source, so two shards never fetch the same one.
    mine = [s.name for s in sources] if settings.shard else None
    process_due(
        wh, identity, settings, policy, counts, delays, recheck_all, sources=mine, memory=memory
    )
    return counts


def library_logging(settings: Settings) -> None:
    """Let armswatch's, httpx's and trafilatura's own lines reach the run's logs."""
    logging.getLogger("armswatch").setLevel(settings.log_level)
    logging.getLogger("httpx").setLevel(settings.http_log_level)
    logging.getLogger("trafilatura").setLevel(max(logging.WARNING, logging.getLevelName(
        settings.log_level)))


def lateness() -> timedelta | None:
    """How late a scheduled deployment run started; None for runs started by hand."""
    scheduled = runtime.flow_run.scheduled_start_time
    if runtime.deployment.id is None or scheduled is None:
        return None
    return datetime.now(UTC) - scheduled


def _run_name() -> str:
    return f"monitor-{datetime.now(UTC):%Y%m%d-%H%M%S}"


@flow(name="monitor", flow_run_name=_run_name, log_prints=False)
def monitor(
    sources: str | None = None,
    db: str | None = None,
    profile: str | None = None,
    recheck_all: bool = False,
    substitutions: dict[str, str] | None = None,
    on_busy: str | None = None,
) -> CycleResult | State:
    """Poll every source once and store what is new: articles, versions, diffs and statements."""
    if process.IN_WORKER:
        # A page worker importing a script that starts a run at import: stop
        # before anything is polled or written.
        raise RuntimeError(process.UNGUARDED_SCRIPT)
    settings = Settings()
    library_logging(settings)
    late = lateness()
    if late is not None and late > timedelta(minutes=settings.max_lateness_minutes):
        # After a pause the scheduler leaves a queue of late runs; one on-time
        # run catches up on everything (the warehouse is the queue), so the
        # late ones stand down instead of running back to back.
        message = f"skipped: started {late} after its scheduled time; the next run catches up"
        get_run_logger().warning(message)
        return Cancelled(message=message)
    sources = sources or settings.sources
    wh = settings.warehouse(db)
    config = load_sources(Path(sources), substitutions)
    logger = get_run_logger()
    run_id = str(runtime.flow_run.id or uuid.uuid4())
    started = datetime.now(UTC)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(wh.run_lock(wait=(on_busy or settings.on_busy) == "wait"))
        except RunInProgress as exc:
            # Standing aside for a run in progress is no failure: no alert should fire.
            message = f"{exc}; not starting a second run"
            logger.warning(message)
            return Cancelled(message=message)
        identity = open_warehouse(wh, profile or settings.profile)
        counts = run_cycle(config, wh, identity, settings, run_id, recheck_all)
        finished = datetime.now(UTC)
        load.record_run(wh, run_id, "monitor", started, finished, dataclasses.asdict(counts))
        _materialize_lineage(wh, config.sources(), counts)
        publish_run(wh, settings, started, finished, counts)
    logger.info("%s", counts.line())
    return CycleResult(run_id, started, finished, counts)


if __name__ == "__main__":
    monitor()
