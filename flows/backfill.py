"""Ad-hoc flow: ingest articles listed by a sitemap, a URL list or a feed archive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from armswatch.flows.config import Settings, SourcesFile
from armswatch.flows.monitor import (
    CycleCounts,
    CycleResult,
    http_policy,
    open_warehouse,
    process_due,
)
from armswatch.tasks import backfill as listing
from armswatch.tasks import feeds, load
from armswatch.tasks.models import FeedPoll, Source
from armswatch.warehouse.db import Warehouse

Progress = Callable[[int, int, CycleCounts], None]

# The terminal's progress bar, set by the command line around the flow call;
# a callback is no flow parameter, since parameters are stored with the run.
PROGRESS: ContextVar[Progress | None] = ContextVar("armswatch_backfill_progress", default=None)


@task(name="list-urls", cache_policy=NO_CACHE)
def list_urls(
    sitemap: str | None, url_list: str | None, feed_archive: str | None, config: SourcesFile
) -> list[listing.ListedURL]:
    urls = listing.collect(sitemap, url_list, http_policy(config))
    if feed_archive:
        source = config.sources()[0]
        body = listing.read_location(feed_archive, http_policy(config))
        base = feed_archive if feed_archive.startswith(("http://", "https://")) else None
        entries, bozo = feeds.parse_feed(source, body, None, base)
        if bozo:
            get_run_logger().warning("feed archive %s is ill-formed: %s", feed_archive, bozo)
        urls += [
            listing.ListedURL(e.url, e.published_at or e.updated_at, e.title, e.summary)
            for e in entries
        ]
    return listing.dedupe(urls)


@task(name="queue-articles", cache_policy=NO_CACHE)
def queue_articles(
    wh: Warehouse, source: Source, urls: list[listing.ListedURL], run_id: str
) -> int:
    """Queue the listed URLs as entries of one backfill source; return how many were new."""
    now = datetime.now(UTC)
    entries = tuple(listing.as_entry(source.name, u) for u in urls)
    poll = FeedPoll(source.name, now, None, entries)
    return load.record_polls(wh, [source], [poll], run_id).get(source.name, 0)


@flow(name="backfill", log_prints=False)
def backfill(
    sitemap: str | None = None,
    url_list: str | None = None,
    feed_archive: str | None = None,
    name: str = "backfill",
    db: str | None = None,
    profile: str | None = None,
    allow_private_hosts: bool = False,
    min_delay_seconds: float = 1.0,
) -> CycleResult:
    """Fetch every article a sitemap, URL list or feed archive names, as the monitor would.

    `sitemap` and `feed_archive` are URLs (or local paths); `url_list` is a
    text file with one URL a line.
    """
    if not (sitemap or url_list or feed_archive):
        raise ValueError("give a sitemap, a URL list or a feed archive")
    settings = Settings()
    logger = get_run_logger()
    run_id = str(runtime.flow_run.id or uuid.uuid4())
    started = datetime.now(UTC)
    config = SourcesFile(
        allow_private_hosts=allow_private_hosts,
        min_delay_seconds=min_delay_seconds,
        source=[{"name": name, "url": next(
            (u for u in (sitemap, feed_archive) if u and u.startswith(("http://", "https://"))),
            "https://backfill.invalid/",
        )}],
    )
    wh = settings.warehouse(db)
    urls = list_urls(sitemap, url_list, feed_archive, config)
    total = len(urls)
    logger.info("backfill %s: %d URLs listed", name, total)
    artifact_id = create_progress_artifact(
        progress=0.0, key="armswatch-backfill-progress", description=f"backfill {name}"
    )

    progress = PROGRESS.get()

    def report(done: int, counts: CycleCounts) -> None:
        update_progress_artifact(artifact_id, progress=100.0 * min(done, total) / max(1, total))
        if progress is not None:
            progress(done, total, counts)

    counts = CycleCounts()
    with wh.run_lock(wait=True):
        identity = open_warehouse(wh, profile or settings.profile)
        source = config.sources()[0]
        counts.entries_new = queue_articles(wh, source, urls, run_id)
        process_due(wh, identity, settings, http_policy(config), counts, on_batch=report)
        # A backfill reads the past: its statements are history, not news to announce.
        load.settle_unannounced(wh, started, None)
    update_progress_artifact(artifact_id, progress=100.0)
    logger.info("%s", counts.line())
    return CycleResult(run_id, started, datetime.now(UTC), counts)


if __name__ == "__main__":
    backfill()
