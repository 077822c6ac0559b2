"""What the same stage functions do when arranged for two cores: a feasibility prototype.

Not the product: no Prefect, no run lock, no retries of stale batches. It calls
armswatch's own stage functions — feeds.poll_feeds, load.record_polls,
load.plan_fetches, fetch.fetch_pages, extract.extract_page, diff.make_version,
Detector.analyse / Detector.resolve, load.record_batch — but arranges them the way
bench/RESULTS.md recommends:

  * one pool of `--workers` processes for the whole run (not one a batch), each
    holding its own analyser (a Detector with an empty index: analysis is pure
    in the profile);
  * everything pure about an article runs in the worker, in one call:
    extract → make_version against the previous version → analyse;
  * the parent only fetches, resolves identities (sequential, cheap) and writes;
  * batch k+1 is fetched while the workers work on batch k.

With --fast, the workers call trafilatura with fast=True (no fallback
extractors); bench/extract_options.py shows its cost and quality.

    python bench/prototype_pipeline.py --sources bench/out/run-1000/sources.toml \
        --db /tmp/proto.duckdb [--workers 2] [--batch-size 200] [--fast]

(the sources file needs bench/serve.py running: bench/bench_pipeline.py --prototype does it all.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

_ANALYSER = None


def _init_worker(profile: str, fast: bool) -> None:
    global _ANALYSER
    from armswatch.tasks.detect import Detector

    _ANALYSER = Detector.from_profile(profile)
    if fast:
        import trafilatura

        import armswatch.tasks.extract as extract_module

        original = trafilatura.bare_extraction

        def bare_fast(*args, **kwargs):
            kwargs.setdefault("fast", True)
            return original(*args, **kwargs)

        extract_module.trafilatura = type("T", (), {"bare_extraction": staticmethod(bare_fast)})


def _work(items, now):
    """extract → version → analyse for a chunk of (page, request, previous)."""
    from armswatch.tasks.diff import make_version
    from armswatch.tasks.extract import extract_page
    from armswatch.tasks.models import VersionRecord

    out = []
    for page, request, previous in items:
        text = None
        if not page.not_modified and (page.body is not None or page.permanent):
            text = extract_page(page, request)
        outcome = make_version(text, previous, now) if text is not None else None
        analysis = None
        if isinstance(outcome, VersionRecord):
            analysis = _ANALYSER.analyse(
                outcome.article_id, outcome.text, outcome.lang, title=text.title
            )
        out.append((text, outcome, analysis))
    return out


def run(
    sources_path: str, db: str, workers: int, batch_size: int, fast: bool, profile: str
) -> dict:
    from armswatch.flows.config import load_sources
    from armswatch.flows.monitor import http_policy
    from armswatch.tasks import feeds, fetch, load
    from armswatch.tasks.detect import Detector
    from armswatch.tasks.diff import Skipped
    from armswatch.tasks.models import VersionRecord
    from armswatch.warehouse.db import Warehouse

    times: dict[str, float] = {}

    def timed(stage, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[stage] = times.get(stage, 0.0) + time.perf_counter() - t0

    started = time.perf_counter()
    config = load_sources(Path(sources_path))
    sources = config.sources()
    policy = http_policy(config)
    wh = Warehouse(db)
    wh.migrate()
    detector = Detector.from_profile(profile)
    known = load.load_known_statements(wh, detector.profile_name)
    known = known[0] if isinstance(known, tuple) else known
    detector.load_known(known)
    polls = timed("poll", feeds.poll_feeds, sources, load.read_feed_states(wh), policy)
    timed("poll", load.record_polls, wh, sources, polls, str(uuid.uuid4()))
    delays = {s.name: s.min_delay_seconds for s in sources}
    attempted: set[str] = set()
    totals = {"fetched": 0, "versions": 0, "statements": 0, "sightings": 0}
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(profile, fast))

    def plan_and_fetch():
        now = datetime.now(UTC)
        requests = timed("plan", load.plan_fetches, wh, now, batch_size, attempted, False, delays)
        if not requests:
            return None
        attempted.update(r.article_id for r in requests)
        pages = timed("fetch", fetch.fetch_pages, requests, policy)
        previous = timed("plan", load.previous_versions, wh, [r.article_id for r in requests])
        return now, requests, pages, previous

    def submit(batch):
        now, requests, pages, previous = batch
        by_id = {r.article_id: r for r in requests}
        items = [(p, by_id[p.article_id], previous.get(p.article_id)) for p in pages]
        size = max(1, -(-len(items) // (workers * 2)))
        return [pool.submit(_work, items[i : i + size], now) for i in range(0, len(items), size)]

    current = plan_and_fetch()
    futures = submit(current) if current else []
    while current is not None:
        nxt = plan_and_fetch()  # overlaps with the workers on `current`
        next_futures = submit(nxt) if nxt else []
        t0 = time.perf_counter()
        results = [r for f in futures for r in f.result()]
        times["wait for workers"] = times.get("wait for workers", 0.0) + time.perf_counter() - t0
        now, _requests, pages, _previous = current
        texts = [t for t, _, _ in results]
        versions = [o for _, o, _ in results if isinstance(o, VersionRecord)]
        skipped = [o for _, o, _ in results if isinstance(o, Skipped)]
        analyses = [a for _, _, a in results if a is not None]
        detections = timed(
            "resolve", lambda found=analyses: [d for a in found for d in detector.resolve(a)]
        )
        written = timed(
            "write",
            load.record_batch,
            wh,
            now,
            pages,
            texts,
            versions,
            skipped,
            detections,
            detector.profile_name,
        )
        totals["fetched"] += written.fetched
        totals["versions"] += written.versions
        totals["statements"] += written.statements
        totals["sightings"] += written.sightings
        current, futures = nxt, next_futures
    pool.shutdown()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "workers": workers,
        "fast": fast,
        "batch_size": batch_size,
        "stages": times,
        "counts": totals,
        "peak_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cpu_self": sum(os.times()[:2]),
        "cpu_children": sum(os.times()[2:4]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sources", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--profile", default="nk_russia")
    ap.add_argument("--result", type=Path)
    args = ap.parse_args(argv)
    for suffix in ("", ".wal"):
        Path(args.db + suffix).unlink(missing_ok=True)
    result = run(args.sources, args.db, args.workers, args.batch_size, args.fast, args.profile)
    print(json.dumps(result, indent=1))
    if args.result:
        args.result.write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
