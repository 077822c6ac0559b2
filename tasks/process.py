"""The per-page CPU work — extract, version, analyse — in worker processes kept for a run.

Extraction and statement analysis are pure Python and hold the GIL, so threads
cannot spread them over cores. A run keeps one pool of worker processes, each
of which takes a page from its fetched bytes to its analysed version in one
call; the flow's process meanwhile fetches the next batch, resolves statement
identities in arrival order and writes. A page travels once each way: its bytes
and the previous version in, the text, version and candidates out.

Workers start from a fork server that has already imported the work's code and
loaded its language model (`armswatch.tasks.preload`), so a pool costs a fork,
not an interpreter start, and the workers share that memory with the server.
"""

from __future__ import annotations

import ctypes
import logging
import math
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

from armswatch.tasks.analysis import DocumentAnalysis
from armswatch.tasks.detect import Detector
from armswatch.tasks.diff import Skipped, make_version
from armswatch.tasks.models import (
    ExtractedText,
    FetchedPage,
    FetchRequest,
    PreviousVersion,
    VersionRecord,
)

log = logging.getLogger("armswatch.process")

# Pages a worker takes per call: enough to make the round trip cheap, few
# enough that two workers finish a batch together.
CHUNK_PAGES = 8


@dataclass(frozen=True, slots=True)
class Work:
    """One fetched page and what its article already has."""

    page: FetchedPage
    request: FetchRequest | None
    previous: PreviousVersion | None
    # Where the page's bytes wait while the workers have the batch (`WorkerPool.spool`);
    # None when they travel in `page.body`.
    body_file: str | None = None

    def with_body(self) -> Work:
        """The work with its page's bytes in hand, read back from its spool file."""
        if self.body_file is None:
            return self
        page = replace(self.page, body=Path(self.body_file).read_bytes())
        return replace(self, page=page, body_file=None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the CPU stages made of one page; `text` is None when it had no text at all."""

    article_id: str
    text: ExtractedText | None = None
    version: VersionRecord | None = None
    skipped: Skipped | None = None
    analysis: DocumentAnalysis | None = None
    # CPU seconds of each stage on this page: extract, version, analyse.
    seconds: tuple[float, float, float] = (0.0, 0.0, 0.0)


STAGES = ("extract", "version", "analyse")


@dataclass
class Processed:
    """A batch's outcomes, in the stage shapes the writer takes."""

    texts: dict[str, ExtractedText] = field(default_factory=dict)
    versions: list[VersionRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    analyses: list[DocumentAnalysis] = field(default_factory=list)
    seconds: list[float] = field(default_factory=lambda: [0.0] * len(STAGES))

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Processed:
        done = cls()
        for outcome in outcomes:
            if outcome.text is not None:
                done.texts[outcome.article_id] = outcome.text
            if outcome.version is not None:
                done.versions.append(outcome.version)
            if outcome.skipped is not None:
                done.skipped.append(outcome.skipped)
            if outcome.analysis is not None:
                done.analyses.append(outcome.analysis)
            for i, seconds in enumerate(outcome.seconds):
                done.seconds[i] += seconds
        return done


def process_page(work: Work, analyser: Detector) -> Outcome:
    """One page from its bytes to its analysed new version, or to why it made none."""
    # Imported here: the flow's process never extracts, and trafilatura is
    # tens of megabytes it need not hold.
    from armswatch.tasks.extract import extract_page

    work = work.with_body()
    article = work.page.article_id
    started = time.process_time()
    text = extract_page(work.page, work.request)
    extracted = time.process_time()
    if text is None:
        return Outcome(article, seconds=(extracted - started, 0.0, 0.0))
    made = make_version(text, work.previous, work.page.fetched_at)
    versioned = time.process_time()
    if isinstance(made, Skipped):
        return Outcome(
            article, text, skipped=made, seconds=(extracted - started, versioned - extracted, 0.0)
        )
    analysis = analyser.analyse(made.article_id, made.text, made.lang, title=text.title)
    seconds = (extracted - started, versioned - extracted, time.process_time() - versioned)
    return Outcome(article, text, made, analysis=analysis, seconds=seconds)


def process_pages(works: Sequence[Work], analyser: Detector) -> list[Outcome]:
    """process_page over pages, in this process."""
    return [process_page(work, analyser) for work in works]


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc only
    except (OSError, AttributeError, TypeError):
        return None


_MALLOC_TRIM = _find_malloc_trim()


def trim_heap() -> None:
    """Give the C heap's free pages back to the system.

    Parsing a page leaves lxml's and the decoders' freed buffers in glibc's
    arenas, which keeps them as the process's own: a worker settled near 95 MB
    of private memory on the benchmark pages, 50 MB with a trim after each
    chunk. A trim costs well under a millisecond.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def usable(pages: Sequence[FetchedPage]) -> list[FetchedPage]:
    """Pages worth extracting: a 304 is unchanged and a transient failure will be retried;
    a page gone for good still leaves the feed's summary to keep."""
    return [p for p in pages if not p.not_modified and (p.body is not None or p.permanent)]


def default_workers(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """One worker per core this process may use: its CPU affinity, less a container's CPU quota.

    A container limited to 2 CPUs on a 32-core host sees all 32 in its
    affinity; 32 workers there would share 2 CPUs and hold 32 copies of their
    memory.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpus(cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def _cgroup_cpus(root: Path) -> float | None:
    """The CPUs a cgroup quota allows (cgroup v2 `cpu.max`, or v1's CFS files), if any."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


# The worker's analyser, from the profile the pool was started with.
_ANALYSER: Detector | None = None

# True in the fork server and every worker it forks (set by armswatch.tasks.preload).
IN_WORKER = False

UNGUARDED_SCRIPT = (
    "armswatch's page workers start by importing the script that started the run, as "
    "every Python multiprocessing program does, and this script starts a run when it is "
    'imported: put the code that starts it under `if __name__ == "__main__":`'
)

# How starting a worker fails when it dies before it has read its orders.
_STARTS_FAILED = (BrokenPipeError, ConnectionResetError, EOFError)

# A pool whose workers die this many times in a row before any page went through
# is not meeting hostile pages: its workers cannot start.
MAX_DEATHS_BEFORE_ANY_PAGE = 3


class _Keep(logging.Handler):
    """Log records a worker makes while it works, to be sent back with the results."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Made picklable: arguments and tracebacks become text here.
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


_KEPT = _Keep()


def _start_worker(analyser: Detector, levels: dict[str, int]) -> None:
    global _ANALYSER
    _ANALYSER = analyser
    logging.getLogger().addHandler(_KEPT)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _work_chunk(works: Sequence[Work]) -> tuple[list[Outcome], list[logging.LogRecord]]:
    assert _ANALYSER is not None, "worker started without an analyser"
    _KEPT.records = []
    outcomes = process_pages(works, _ANALYSER)
    trim_heap()
    return outcomes, _KEPT.records


def _collected(result: tuple[list[Outcome], list[logging.LogRecord]]) -> list[Outcome]:
    """A chunk's outcomes; its log lines go to this process's loggers, run logs included."""
    outcomes, records = result
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
    return outcomes


# Loggers whose levels the workers take from this process.
WORKER_LOGGERS = ("armswatch", "trafilatura", "htmldate", "courlan")


def _context() -> multiprocessing.context.BaseContext:
    # Forking the flow's process would copy Prefect's threads' locks mid-use;
    # the fork server is a clean, single-threaded parent with the work code loaded.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["armswatch.tasks.preload"])
    return context


class WorkerPool:
    """Worker processes for one run, each holding the run's analyser.

    `submit` hands a batch to the workers and returns at once; `Pending.result`
    waits for it. A worker that dies on a page (a crash in a C extension, the
    kernel's OOM killer) costs that page only: the pool is rebuilt and the
    batch's pages are retried one at a time, and a page that kills a worker
    again is kept as having no text.
    """

    def __init__(self, analyser: Detector, workers: int | None = None) -> None:
        if IN_WORKER:
            # Left alone, each worker would start a run with its own workers, and so on.
            raise RuntimeError(UNGUARDED_SCRIPT)
        self.analyser = analyser
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        self._pages_done = 0
        self._recovering = threading.Lock()
        self._spool: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._spool is not None:
            self._spool.cleanup()
            self._spool = None

    def spool(self, works: Sequence[Work]) -> list[Work]:
        """The works with their pages' bytes moved to files until the workers are done.

        A batch waits in this process while the workers have the one before it,
        and a batch's works are kept until its outcomes are in (a worker that
        dies costs only its page: the others are retried). With the bytes in
        files, what waits is a few hundred bytes a page instead of the page
        (about 160 KB on the benchmark pages), and the kernel's page cache, not
        this process, holds the bytes until a worker reads them once.
        """
        if self._spool is None:
            self._spool = tempfile.TemporaryDirectory(prefix="armswatch-pages-")
        spooled = []
        for work in works:
            body = work.page.body
            if body is None or work.body_file is not None:
                spooled.append(work)
                continue
            fd, path = tempfile.mkstemp(dir=self._spool.name, suffix=".html")
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            spooled.append(replace(work, page=replace(work.page, body=None), body_file=path))
        return spooled

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_context(),
                initializer=_start_worker,
                initargs=(
                    self.analyser,
                    {n: logging.getLogger(n).getEffectiveLevel() for n in WORKER_LOGGERS},
                ),
            )
        return self._pool

    def submit(self, works: Sequence[Work]) -> Pending:
        """Start a batch on the workers."""
        chunks = [works[i : i + CHUNK_PAGES] for i in range(0, len(works), CHUNK_PAGES)]
        futures: list[Future] = []
        for chunk in chunks:
            try:
                futures.append(self._executor().submit(_work_chunk, chunk))
            except _STARTS_FAILED:
                # A worker that died while it started: the rest goes page by page.
                broken: Future = Future()
                broken.set_exception(BrokenProcessPool("a worker died as it started"))
                futures.append(broken)
        return Pending(self, chunks, futures)

    def _recover(self, chunks: list[Sequence[Work]]) -> list[Outcome]:
        # Two batches may find the pool broken at once: one rebuilds it at a time.
        with self._recovering:
            return self._retry_one_by_one(chunks)

    def _retry_one_by_one(self, chunks: list[Sequence[Work]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        deaths = 1
        for work in (w for chunk in chunks for w in chunk):
            self._abandon()
            try:
                outcomes += _collected(self._executor().submit(_work_chunk, [work]).result())
                self._pages_done += 1
            except (BrokenProcessPool, *_STARTS_FAILED):
                deaths += 1
                if not self._pages_done and deaths >= MAX_DEATHS_BEFORE_ANY_PAGE:
                    raise RuntimeError(
                        "armswatch's page workers die as they start; their own error output "
                        "says why (if it names this script: " + UNGUARDED_SCRIPT + ")"
                    ) from None
                log.warning("a worker died on %s; the page is kept without text", work.page.url)
                outcomes.append(Outcome(work.page.article_id))
        return outcomes

    def _abandon(self) -> None:
        if self._pool is not None and getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass
class Pending:
    """A batch on the workers."""

    pool: WorkerPool
    chunks: list[Sequence[Work]]
    futures: list[Future]

    def result(self) -> list[Outcome]:
        try:
            return self._outcomes()
        finally:
            for work in (w for chunk in self.chunks for w in chunk):
                if work.body_file is not None:
                    Path(work.body_file).unlink(missing_ok=True)

    def _outcomes(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for n, future in enumerate(self.futures):
            try:
                outcomes += _collected(future.result())
                self.pool._pages_done += len(self.chunks[n])
            except BrokenProcessPool:
                log.warning(
                    "a worker died; retrying the batch's last %d chunks page by page",
                    len(self.chunks) - n,
                )
                return outcomes + self.pool._recover(self.chunks[n:])
        return outcomes
