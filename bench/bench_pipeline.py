"""armswatch against the extraction floor, trafilatura's CLI and a naive Prefect flow.

One invocation, one corpus (bench/gen_corpus.py), one local server
(bench/serve.py, 127.0.0.1 only), one Prefect server started first as in
production (`prefect server start`, its start-up timed and reported apart):

  (a) floor      trafilatura over the same HTML in one process, no network:
                 `extract(html)` with defaults (the issue's floor), and (a')
                 armswatch's own `extract_page` (its trafilatura call, decoding
                 and language identification) as a like-for-like floor
  (b) cli        `trafilatura -i urls.txt -o DIR` over the same URLs, its
                 SLEEP_TIME set to 0 and loopback allowed by a config file
  (c) naive      a Prefect flow with one task a feed and one task an article
                 (GET, the same extraction and detection as armswatch), one
                 write at the end; run at --naive-n articles
  (d) cold       `armswatch run` on an empty warehouse
  (e) rerun      `armswatch run` again, nothing changed
  (f) empty      `armswatch run` over one empty feed: Prefect's fixed start-up

(d)–(f) run the real console entry point in a child process, with timers
wrapped around the stage functions (bench/_stagetimer.py logic below) so that
each stage's time, calls and RSS are known without Prefect; the Prefect
task-run durations are read back from the API as well. Peak RSS is the
child's own (wait4) and the sampled sum over its process tree (psutil).

    python bench/bench_pipeline.py --n 1000 --repeat 3
    python bench/bench_pipeline.py --n 10000 --naive-n 1000 --floor-modes default
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import gen_corpus  # noqa: E402

BIN = Path(sys.executable).parent

# ---------------------------------------------------------------------------
# process helpers
# ---------------------------------------------------------------------------

try:
    import psutil
except ImportError:  # optional: tree RSS and CPU sampling need it
    psutil = None


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for children: no proxies (traffic stays on 127.0.0.1), no outside calls."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("PREFECT_", "ARMSWATCH_"))
    }
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants, and their CPU time."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_tree_rss = 0
        self.peak_tree_pss = 0
        self.peak_main_rss = 0
        self.cpu: dict[int, float] = {}  # last seen user + system seconds of each process
        self.peak_by_pid: dict[int, tuple[str, float, float]] = {}  # name, RSS MB, PSS MB
        self._stop = threading.Event()

    def run(self) -> None:
        if psutil is None:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                total = pss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        times = p.cpu_times()
                        self.cpu[p.pid] = times.user + times.system
                        rss = p.memory_info().rss
                        total += rss
                        if p.pid == self.pid:
                            self.peak_main_rss = max(self.peak_main_rss, rss)
                        own = p.memory_full_info().pss if len(procs) > 1 else rss
                        # forked workers share pages: PSS counts them once
                        pss += own
                        name, top_rss, top_pss = self.peak_by_pid.get(p.pid, ("", 0.0, 0.0))
                        if not name:
                            name = " ".join(p.cmdline())[-60:]
                        self.peak_by_pid[p.pid] = (
                            name, max(top_rss, rss / 2**20), max(top_pss, own / 2**20)
                        )
                self.peak_tree_rss = max(self.peak_tree_rss, total)
                self.peak_tree_pss = max(self.peak_tree_pss, pss)
            except psutil.Error:
                return
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def run_measured(cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> dict:
    """Run a command to completion: wall time, exit code, CPU, peak RSS (wait4 and sampled)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "rc": proc.returncode,
        "cpu_user": usage.ru_utime,
        "cpu_sys": usage.ru_stime,
        # The workers' CPU reaches wait4 only through processes that reaped them;
        # the sampler saw each process of the tree until just before it ended.
        "tree_cpu": max(usage.ru_utime + usage.ru_stime, sum(sampler.cpu.values())),
        "maxrss_mb": usage.ru_maxrss / 1024,  # the largest single process of the tree
        "tree_rss_mb": sampler.peak_tree_rss / 2**20 if psutil else None,
        "tree_pss_mb": sampler.peak_tree_pss / 2**20 if psutil else None,
        "peak_by_process": [
            {"pid": pid, "cmd": name, "rss_mb": round(r, 1), "pss_mb": round(q, 1)}
            for pid, (name, r, q) in sampler.peak_by_pid.items()
        ],
        "log": str(log),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(pids: list[int], quiet_cpu: float = 0.15, timeout: float = 90.0) -> float:
    """Wait until background processes (the Prefect server ingesting events) go quiet."""
    started = time.perf_counter()
    if psutil is None:
        time.sleep(3)
        return 3.0
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            procs.append(p)
            procs.extend(p.children(recursive=True))
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)  # primes the counters
    calm = 0
    while time.perf_counter() - started < timeout:
        time.sleep(1.0)
        busy = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                busy += p.cpu_percent(None) / 100
        calm = calm + 1 if busy < quiet_cpu else 0
        if calm >= 2:
            break
    return time.perf_counter() - started


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------


class CorpusServer:
    """bench/serve.py in its own process."""

    def __init__(self, roots: list[Path], out: Path) -> None:
        self.ready = out / f"serve-{os.getpid()}-{id(self)}.url"
        self.ready.unlink(missing_ok=True)
        self.log = open(out / "serve.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "serve.py"),
                *map(str, roots),
                "--ready-file",
                str(self.ready),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=clean_env(),
        )
        deadline = time.monotonic() + 300
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bench/serve.py did not start; see serve.log")
            time.sleep(0.1)
        time.sleep(0.05)
        self.base = self.ready.read_text("utf-8").strip()
        assert self.base.startswith("http://127.0.0.1:"), self.base

    def stats(self, reset: bool = False) -> dict:
        import urllib.request

        path = "/__bench/reset" if reset else "/__bench/stats"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        self.ready.unlink(missing_ok=True)


class PrefectServer:
    """`prefect server start` on 127.0.0.1, with its own PREFECT_HOME; start-up timed."""

    def __init__(self, home: Path, port: int, log: Path) -> None:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        self.home = home
        self.port = port
        self.api = f"http://127.0.0.1:{port}/api"
        self.env = clean_env(PREFECT_HOME=str(home), PREFECT_API_URL=self.api)
        self.log = open(log, "wb")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=clean_env(PREFECT_HOME=str(home)),
            start_new_session=True,
        )
        import httpx

        self.http = httpx.Client(base_url=self.api, timeout=30, trust_env=False)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/health").status_code == 200:
                    break
            if time.perf_counter() - started > 180:
                raise RuntimeError("prefect server not healthy after 180 s")
            time.sleep(0.2)
        self.startup = time.perf_counter() - started

    def latest_flow_run(self, name: str | None = None) -> dict | None:
        body: dict = {"sort": "EXPECTED_START_TIME_DESC", "limit": 1}
        if name:
            body["flows"] = {"name": {"any_": [name]}}
        runs = self.http.post("/flow_runs/filter", json=body).json()
        return runs[0] if runs else None

    def task_runs(self, flow_run_id: str) -> list[dict]:
        out: list[dict] = []
        while True:
            page = self.http.post(
                "/task_runs/filter",
                json={
                    "flow_runs": {"id": {"any_": [flow_run_id]}},
                    "limit": 200,
                    "offset": len(out),
                    "sort": "EXPECTED_START_TIME_ASC",
                },
            ).json()
            out.extend(page)
            if len(page) < 200:
                return out

    def count_task_runs(self, flow_run_id: str) -> int:
        r = self.http.post("/task_runs/count", json={"flow_runs": {"id": {"any_": [flow_run_id]}}})
        return int(r.json())

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        self.http.close()


def task_stage_times(runs: list[dict]) -> dict[str, dict]:
    """Task-run durations from the API, summed per task (task_key less its hash)."""
    stages: dict[str, dict] = {}
    for r in runs:
        key = r["task_key"].rsplit("-", 1)[0]
        s = stages.setdefault(key, {"runs": 0, "seconds": 0.0})
        s["runs"] += 1
        s["seconds"] += float(r.get("total_run_time") or 0.0)
    return stages


# ---------------------------------------------------------------------------
# child modes (run in their own process)
# ---------------------------------------------------------------------------

# The stage functions timed inside `armswatch run`: (module, attribute, stage).
# Missing ones are skipped, so the list survives refactors; nested calls of
# timed functions count once, for the outermost.
STAGE_FUNCTIONS = [
    ("armswatch.tasks.load", "read_feed_states", "poll"),
    ("armswatch.tasks.feeds", "poll_feeds", "poll"),
    ("armswatch.tasks.load", "record_polls", "poll"),
    ("armswatch.tasks.load", "plan_fetches", "plan"),
    ("armswatch.tasks.fetch", "fetch_pages", "fetch"),
    ("armswatch.tasks.load", "previous_versions", "diff"),
    ("armswatch.flows.monitor", "InFlight.outcomes", "wait"),
    ("armswatch.tasks.detect", "Detector.detect", "detect"),
    ("armswatch.tasks.detect", "Detector.analyse", "detect"),
    ("armswatch.tasks.detect", "Detector.resolve", "detect"),
    ("armswatch.tasks.load", "record_batch", "write"),
    ("armswatch.tasks.detect", "Detector.from_profile", "setup"),
    ("armswatch.tasks.detect", "Detector.load_known", "setup"),
    ("armswatch.tasks.load", "load_known_statements", "setup"),
    ("armswatch.warehouse.db", "Warehouse.migrate", "setup"),
    ("armswatch.tasks.load", "table_rows", "publish"),
    ("armswatch.tasks.load", "run_report", "publish"),
    ("armswatch.tasks.load", "latest_statements", "publish"),
    ("armswatch.tasks.publish", "write_statements_feed", "publish"),
    ("armswatch.tasks.publish", "notify", "publish"),
]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def install_stage_timers(record: dict) -> None:
    import importlib

    local = threading.local()
    record.setdefault("functions", {})

    def wrap(qual: str, stage: str, fn):
        def timed(*args, **kwargs):
            depth = getattr(local, "depth", 0)
            if depth:
                return fn(*args, **kwargs)
            local.depth = 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                local.depth = 0
                f = record["functions"].setdefault(
                    qual, {"stage": stage, "calls": 0, "seconds": 0.0, "max_rss_mb": 0.0}
                )
                f["calls"] += 1
                f["seconds"] += dt
                f["max_rss_mb"] = max(f["max_rss_mb"], _rss_bytes() / 2**20)
                record.setdefault("first_call", t0)
                record["last_return"] = t0 + dt
                if stage != "detect" or f["calls"] % 200 == 1:
                    record.setdefault("trace", []).append(
                        (
                            qual,
                            round(t0 - record["process_start"], 3),
                            round(dt, 4),
                            round(_rss_bytes() / 2**20, 1),
                        )
                    )

        timed.__wrapped__ = fn
        timed.__name__ = getattr(fn, "__name__", "timed")
        timed.__qualname__ = getattr(fn, "__qualname__", "timed")
        return timed

    for module_name, attr, stage in STAGE_FUNCTIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner, _, name = attr.rpartition(".")
        holder = getattr(module, owner, None) if owner else module
        if holder is None or not hasattr(holder, name):
            continue
        setattr(
            holder,
            name,
            wrap(f"{module_name.rsplit('.', 1)[-1]}.{attr}", stage, getattr(holder, name)),
        )


def child_armswatch(args: list[str], timings: Path, profile: str | None) -> int:
    """`armswatch <args>` in this process, with stage timers; timings JSON written at the end."""
    record: dict = {"process_start": time.perf_counter()}
    import armswatch.cli as cli

    record["imported_cli"] = time.perf_counter()
    install_stage_timers(record)
    record["timers_installed"] = time.perf_counter()
    sys.argv = ["armswatch", *args]
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    rc = 0
    try:
        cli.main()
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        record["end"] = time.perf_counter()
        record["rc"] = rc
        record["peak_rss_self_mb"] = _peak_self_mb()
        if profiler is not None:
            profiler.stop()
            Path(profile + ".txt").write_text(
                profiler.output_text(unicode=False, color=False, show_all=False), "utf-8"
            )
            Path(profile + ".html").write_text(profiler.output_html(), "utf-8")
            profiler.last_session.save(profile + ".pyisession")
        timings.write_text(json.dumps(record), "utf-8")
    return rc


def _peak_self_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_html(corpus: Path, path: str, base: str = "http://127.0.0.1:8") -> str:
    return (corpus / "site" / path.lstrip("/")).read_text("utf-8").replace("__BASE__", base)


def child_floor(corpus: Path, mode: str, limit: int | None, out: Path) -> int:
    """(a) trafilatura over the corpus HTML in this process, no network."""
    from datetime import UTC, datetime

    import trafilatura

    from armswatch.tasks.extract import extract_page
    from armswatch.tasks.models import FetchedPage

    fetched_at = datetime.now(UTC)
    manifest = json.loads((corpus / "manifest.json").read_text("utf-8"))
    pages = manifest["pages"][:limit] if limit else manifest["pages"]
    extract_seconds = 0.0
    extract_cpu = 0.0
    nonempty = 0
    started = time.perf_counter()
    for page in pages:
        html = page_html(corpus, page["path"])
        t0, c0 = time.perf_counter(), time.process_time()
        if mode == "default":
            text = trafilatura.extract(html)
        else:  # armswatch's own extract_page, whatever options it calls trafilatura with
            extracted = extract_page(
                FetchedPage(
                    article_id="floor",
                    url=page["path"],
                    fetched_at=fetched_at,
                    status=200,
                    body=html.encode("utf-8"),
                    content_type="text/html",
                    encoding="utf-8",
                ),
                None,
            )
            text = extracted.text if extracted is not None else None
        extract_seconds += time.perf_counter() - t0
        extract_cpu += time.process_time() - c0
        nonempty += bool(text and text.strip())
    wall = time.perf_counter() - started
    out.write_text(
        json.dumps(
            {
                "mode": mode,
                "pages": len(pages),
                "nonempty": nonempty,
                "extract_seconds": extract_seconds,
                "extract_cpu": extract_cpu,
                "wall": wall,
                "peak_rss_self_mb": _peak_self_mb(),
            }
        ),
        "utf-8",
    )
    return 0


def child_naive(base: str, corpus: Path, n: int, db: Path, out: Path) -> int:
    """(c) one Prefect task a feed and one task an article; one write at the end."""
    import threading as _threading

    import duckdb
    import feedparser
    import httpx
    import pyarrow as pa
    import trafilatura
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from armswatch.tasks.detect import Detector

    manifest = json.loads((corpus / "manifest.json").read_text("utf-8"))
    feeds = [base + f for f in manifest["feeds"]][: -(-n // manifest["per_feed"])]
    client = httpx.Client(trust_env=False, timeout=60)
    detector = Detector.from_profile("nk_russia")
    lock = _threading.Lock()
    work = {"poll": 0.0, "article": 0.0}

    @task(cache_policy=NO_CACHE)
    def poll_feed(url: str) -> list[str]:
        t0 = time.thread_time()  # CPU of this thread: threads overlap in wall time
        body = client.get(url).content
        if body.lstrip()[:1] == b"{":  # JSON Feed: feedparser reads only XML feeds
            links = [item["url"] for item in json.loads(body).get("items", [])]
        else:
            links = [e.link for e in feedparser.parse(body).entries]
        with lock:
            work["poll"] += time.thread_time() - t0
        return links

    @task(cache_policy=NO_CACHE)
    def process_article(url: str) -> dict:
        t0 = time.thread_time()
        r = client.get(url)
        doc = trafilatura.bare_extraction(
            r.text, url=url, include_comments=False, with_metadata=True
        )
        text = (doc.text or "") if doc is not None else ""
        with lock:
            found = detector.detect(
                url, text, doc.language if doc else None, title=doc.title if doc else None
            )
        with lock:
            work["article"] += time.thread_time() - t0
        return {
            "url": url,
            "title": doc.title if doc else None,
            "text": text,
            "statements": len(found),
        }

    @flow(name="naive-per-article")
    def naive_flow(feed_urls: list[str], limit: int) -> int:
        links = [link for links in poll_feed.map(feed_urls).result() for link in links][:limit]
        rows = process_article.map(links).result()
        con = duckdb.connect(str(db))
        con.execute(
            "CREATE TABLE IF NOT EXISTS texts"
            " (url VARCHAR, title VARCHAR, text VARCHAR, statements INT)"
        )
        arrow_rows = pa.Table.from_pylist(rows)  # noqa: F841 (read by DuckDB by name)
        con.execute("INSERT INTO texts SELECT * FROM arrow_rows")
        con.close()
        return len(rows)

    t0 = time.perf_counter()
    count = naive_flow(feeds, n)
    wall = time.perf_counter() - t0
    out.write_text(
        json.dumps(
            {
                "articles": count,
                "flow_wall": wall,
                "work": work,
                "peak_rss_self_mb": _peak_self_mb(),
            }
        ),
        "utf-8",
    )
    return 0


# ---------------------------------------------------------------------------
# the benchmark
# ---------------------------------------------------------------------------


def trafilatura_config(path: Path) -> Path:
    import trafilatura

    default = (Path(trafilatura.__file__).parent / "settings.cfg").read_text("utf-8")
    text = re.sub(r"(?m)^SLEEP_TIME = .*$", "SLEEP_TIME = 0", default)
    text = re.sub(r"(?m)^SSRF_PROTECTION = .*$", "SSRF_PROTECTION = off", text)
    assert "SLEEP_TIME = 0" in text and "SSRF_PROTECTION = off" in text
    path.write_text(text, "utf-8")
    return path


def armswatch_stage_table(timings: dict) -> dict[str, float]:
    stages: dict[str, float] = {}
    for f in timings.get("functions", {}).values():
        stages[f["stage"]] = stages.get(f["stage"], 0.0) + f["seconds"]
    return stages


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.corpus = args.corpus or (REPO / "bench" / "out" / f"corpus-{args.n}")
        self.results: dict = {"n": args.n, "runs": {}}

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
        self.save()

    def save(self) -> None:
        """Everything measured so far, so that a failure later loses nothing."""
        path = self.out / "results-partial.json"
        path.write_text(json.dumps(self.results, indent=1, default=str), "utf-8")

    def child_cmd(self, *args: str) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--child", *args]

    def armswatch_env(self, **extra: str) -> dict[str, str]:
        env = dict(self.prefect.env)
        if self.args.workers:
            env["ARMSWATCH_WORKERS"] = str(self.args.workers)
        if self.args.batch_size:
            env["ARMSWATCH_BATCH_SIZE"] = str(self.args.batch_size)
        env["ARMSWATCH_MAX_ARTICLES_PER_RUN"] = str(max(10_000, self.args.n))
        env.update(extra)
        return env

    def run_armswatch(
        self, label: str, sources: Path, db: Path, profile: str | None = None
    ) -> dict:
        timings = self.out / f"timings-{label}.json"
        timings.unlink(missing_ok=True)
        args = ["run", "--sources", str(sources), "--db", str(db)]
        if self.args.plain_cli:
            cmd = [str(BIN / "armswatch"), *args]
        else:
            cmd = self.child_cmd("armswatch", "--timings", str(timings))
            if profile:
                cmd += ["--profile", profile]
            cmd += ["--", *args]
        if self.args.py_spy and label.startswith("cold"):
            cmd = [
                str(BIN / "py-spy"),
                "record",
                "--rate",
                "50",
                "--subprocesses",
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(self.out / f"pyspy-{label}.txt"),
                "--",
                *cmd,
            ]
        self.server.stats(reset=True)
        m = run_measured(cmd, self.armswatch_env(), self.out / f"log-{label}.txt")
        m["http"] = self.server.stats()
        if m["rc"] != 0:
            raise RuntimeError(f"armswatch {label} failed (rc {m['rc']}); see {m['log']}")
        if timings.exists():
            t = json.loads(timings.read_text("utf-8"))
            m["stages"] = armswatch_stage_table(t)
            m["functions"] = t.get("functions", {})
            m["startup_to_first_stage"] = t.get("first_call", t["end"]) - t["process_start"]
            m["import_cli"] = t["imported_cli"] - t["process_start"]
            m["in_process"] = t["end"] - t["process_start"]
        flow_run = self.prefect.latest_flow_run("monitor")
        if flow_run is not None:
            settle([self.prefect.proc.pid])
            runs = self.prefect.task_runs(flow_run["id"])
            m["flow_run_seconds"] = flow_run.get("total_run_time")
            m["task_runs"] = task_stage_times(runs)
        counts = re.search(
            r"feeds=\d+.*?sightings=\d+",
            Path(m["log"]).read_text("utf-8", "replace").replace("\n", " "),
        )
        m["counts"] = counts.group(0) if counts else None
        on_workers = re.search(
            r"CPU seconds on the workers: extract=([\d.]+) version=([\d.]+) analyse=([\d.]+)",
            Path(m["log"]).read_text("utf-8", "replace"),
        )
        if on_workers:
            m["worker_stages"] = dict(
                zip(("extract", "version", "analyse"), map(float, on_workers.groups()), strict=True)
            )
        self.log(
            f"{label}: wall {m['wall']:.2f} s, maxrss {m['maxrss_mb']:.0f} MB, "
            f"tree {m['tree_rss_mb'] or 0:.0f} MB; {m['counts']}"
        )
        return m

    def run(self) -> dict:
        a = self.args
        t0 = time.perf_counter()
        manifest = gen_corpus.ensure(a.n, self.corpus, a.per_feed, a.concurrency)
        self.results["corpus"] = {
            k: manifest[k] for k in ("n", "per_feed", "templates", "bytes") if k in manifest
        } | {"feeds": len(manifest["feeds"]), "path": str(self.corpus)}
        self.log(f"corpus ready ({time.perf_counter() - t0:.1f} s): {self.results['corpus']}")
        self.server = CorpusServer([self.corpus / "site", self.corpus / "empty" / "site"], self.out)
        base = self.server.base
        sources = self.out / "sources.toml"
        sources.write_text(
            (self.corpus / "sources.template.toml").read_text("utf-8").replace("__BASE__", base)
        )
        empty_sources = self.out / "sources-empty.toml"
        empty_sources.write_text(
            (self.corpus / "empty" / "sources.template.toml")
            .read_text("utf-8")
            .replace("__BASE__", base)
        )
        urls = self.out / "urls.txt"
        urls.write_text("".join(base + p["path"] + "\n" for p in manifest["pages"]), "utf-8")
        try:
            self.prefect = PrefectServer(
                self.out / "prefect-home", a.port or free_port(), self.out / "prefect-server.log"
            )
            self.results["prefect_server_startup"] = self.prefect.startup
            self.log(
                f"prefect server healthy after {self.prefect.startup:.1f} s at {self.prefect.api}"
            )
            settle([self.prefect.proc.pid])
            try:
                self._all(sources, empty_sources, urls)
            finally:
                self.prefect.close()
            if a.ephemeral:
                self._ephemeral(empty_sources)
        finally:
            self.server.close()
        return self.results

    def _all(self, sources: Path, empty_sources: Path, urls: Path) -> None:
        a = self.args
        R = self.results["runs"]
        for rep in range(a.repeat):
            tag = f"r{rep + 1}"
            # (f) Prefect's fixed cost: one empty feed, twice (the second is the steady state)
            if not a.skip_armswatch:
                db_empty = self.out / f"empty-{tag}.duckdb"
                _rm_db(db_empty)
                R.setdefault("empty_first", []).append(
                    self.run_armswatch(f"empty1-{tag}", empty_sources, db_empty)
                )
                R.setdefault("empty", []).append(
                    self.run_armswatch(f"empty2-{tag}", empty_sources, db_empty)
                )
                # (d) cold, (e) rerun
                db = self.out / f"warehouse-{tag}.duckdb"
                _rm_db(db)
                profile = (
                    str(self.out / f"pyinstrument-cold-{tag}")
                    if a.pyinstrument and rep == 0
                    else None
                )
                R.setdefault("cold", []).append(
                    self.run_armswatch(f"cold-{tag}", sources, db, profile)
                )
                R.setdefault("rerun", []).append(self.run_armswatch(f"rerun-{tag}", sources, db))
            # (a) floor
            for mode in a.floor_modes:
                if mode == "none":
                    continue
                res = self.out / f"floor-{mode}-{tag}.json"
                m = run_measured(
                    self.child_cmd(
                        "floor", "--corpus", str(self.corpus), "--mode", mode, "--result", str(res)
                    )
                    + (["--limit", str(a.floor_limit)] if a.floor_limit else []),
                    clean_env(),
                    self.out / f"log-floor-{mode}-{tag}.txt",
                )
                m |= json.loads(res.read_text("utf-8"))
                if a.floor_limit and a.floor_limit < a.n:
                    m["extrapolated_from"] = m["pages"]
                    for k in ("extract_seconds", "extract_cpu", "wall"):
                        if m.get(k) is not None:
                            m[k] *= a.n / m["pages"]
                R.setdefault(f"floor_{mode}", []).append(m)
                self.log(
                    f"floor ({mode}): extract {m['extract_seconds']:.1f} s over {m['pages']} pages "
                    f"({m['nonempty']} non-empty), maxrss {m['maxrss_mb']:.0f} MB"
                )
            # (b) trafilatura's CLI
            if not a.skip_cli:
                outdir = self.out / f"cli-out-{tag}"
                shutil.rmtree(outdir, ignore_errors=True)
                cfg = trafilatura_config(self.out / "trafilatura.cfg")
                self.server.stats(reset=True)
                cmd = [
                    str(BIN / "trafilatura"),
                    "-i",
                    str(urls),
                    "-o",
                    str(outdir),
                    "--config-file",
                    str(cfg),
                ]
                if a.cli_parallel:
                    cmd += ["--parallel", str(a.cli_parallel)]
                m = run_measured(cmd, clean_env(), self.out / f"log-cli-{tag}.txt")
                m["http"] = self.server.stats()
                m["outputs"] = (
                    sum(1 for p in outdir.rglob("*") if p.is_file()) if outdir.exists() else 0
                )
                R.setdefault("cli", []).append(m)
                self.log(
                    f"trafilatura CLI: wall {m['wall']:.1f} s, {m['outputs']} files, rc {m['rc']}, "
                    f"http {m['http']['status']}"
                )
        # (g) the prototype arrangement of the same stage functions (bench/prototype_pipeline.py)
        for variant in a.prototype:
            workers = int(variant.rstrip("fast") or 2)
            fast = variant.endswith("fast")
            for rep in range(a.repeat):
                res = self.out / f"prototype-{variant}-r{rep + 1}.json"
                db = self.out / f"prototype-{variant}.duckdb"
                _rm_db(db)
                cmd = [
                    sys.executable,
                    str(HERE / "prototype_pipeline.py"),
                    "--sources",
                    str(sources),
                    "--db",
                    str(db),
                    "--workers",
                    str(workers),
                    "--result",
                    str(res),
                ]
                if a.batch_size:
                    cmd += ["--batch-size", str(a.batch_size)]
                if fast:
                    cmd.append("--fast")
                self.server.stats(reset=True)
                m = run_measured(
                    cmd, clean_env(), self.out / f"log-prototype-{variant}-r{rep + 1}.txt"
                )
                if m["rc"] == 0 and res.exists():
                    m |= json.loads(res.read_text("utf-8"))
                R.setdefault(f"prototype_{variant}", []).append(m)
                self.log(
                    f"prototype {variant}: wall {m['wall']:.1f} s, rc {m['rc']}, tree RSS "
                    f"{m['tree_rss_mb'] or 0:.0f} MB, PSS {m.get('tree_pss_mb') or 0:.0f} MB, "
                    f"{m.get('counts')}"
                )
        # (c) naive flow, once, at naive_n
        if not a.skip_naive:
            res = self.out / "naive.json"
            db = self.out / "naive.duckdb"
            _rm_db(db)
            settle([self.prefect.proc.pid])
            self.server.stats(reset=True)
            m = run_measured(
                self.child_cmd(
                    "naive",
                    "--base",
                    self.server.base,
                    "--corpus",
                    str(self.corpus),
                    "--n",
                    str(a.naive_n),
                    "--db",
                    str(db),
                    "--result",
                    str(res),
                ),
                self.prefect.env,
                self.out / "log-naive.txt",
            )
            if m["rc"] != 0 or not res.exists():
                self.results["naive_error"] = f"naive flow exited {m['rc']}; see {m['log']}"
                self.log(self.results["naive_error"])
                return
            m |= json.loads(res.read_text("utf-8"))
            m["http"] = self.server.stats()
            fr = self.prefect.latest_flow_run("naive-per-article")
            if fr is not None:
                m["task_runs_recorded_at_exit"] = self.prefect.count_task_runs(fr["id"])
                m["settle_seconds"] = settle([self.prefect.proc.pid], timeout=300)
                m["task_runs_recorded"] = self.prefect.count_task_runs(fr["id"])
            R["naive"] = [m]
            self.log(
                f"naive: wall {m['wall']:.1f} s for {m['articles']} articles; work {m['work']}"
            )

    def _ephemeral(self, empty_sources: Path) -> None:
        """The temporary server's start-up: an empty-feed run with no PREFECT_API_URL."""
        home = self.out / "prefect-home-ephemeral"
        shutil.rmtree(home, ignore_errors=True)
        db = self.out / "empty-ephemeral.duckdb"
        _rm_db(db)
        env = clean_env(PREFECT_HOME=str(home))
        for i in (1, 2):
            m = run_measured(
                [str(BIN / "armswatch"), "run", "--sources", str(empty_sources), "--db", str(db)],
                env,
                self.out / f"log-ephemeral-{i}.txt",
            )
            self.results["runs"].setdefault("empty_ephemeral", []).append(m)
            self.log(f"empty feed, temporary server ({i}): wall {m['wall']:.1f} s")


def _rm_db(db: Path) -> None:
    for suffix in ("", ".wal", ".lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    for extra in db.parent.glob(db.stem + "-statements.atom"):
        extra.unlink()


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarise(results: dict) -> dict:
    R = results["runs"]
    n = results["n"]
    s: dict = {"n": n, "prefect_server_startup": results.get("prefect_server_startup")}

    def mwall(key: str) -> float | None:
        return med([r["wall"] for r in R.get(key, [])])

    for key in ("floor_default", "floor_armswatch"):
        if key in R:
            s[key] = med([r["extract_seconds"] for r in R[key]])
            s[key + "_wall"] = mwall(key)
            s[key + "_extract_cpu"] = med([r.get("extract_cpu") for r in R[key]])
    for key in ("floor_default", "floor_armswatch", "cli", "cold", "rerun", "empty", "naive"):
        if key in R:
            s[key + "_cpu"] = med(
                [r.get("tree_cpu") or r["cpu_user"] + r["cpu_sys"] for r in R[key]]
            )
    for key in (
        "cli",
        "cold",
        "rerun",
        "empty",
        "empty_first",
        "empty_ephemeral",
        *[k for k in R if k.startswith("prototype_")],
    ):
        if key in R:
            s[key] = mwall(key)
            s[key + "_runs"] = [round(r["wall"], 2) for r in R[key]]
    if "naive" in R:
        nv = R["naive"][0]
        s["naive_n"] = nv["articles"]
        s["naive_wall"] = nv["wall"]
        s["naive_per_article"] = nv["wall"] / max(nv["articles"], 1)
        s["naive_extrapolated"] = s["naive_per_article"] * n
        work = sum(nv["work"].values())
        s["naive_prefect_overhead_per_article"] = (nv["flow_wall"] - work) / max(nv["articles"], 1)
    if "cold" in R:
        cold = R["cold"]
        s["cold_maxrss_mb"] = max(r["maxrss_mb"] for r in cold)
        s["cold_tree_rss_mb"] = max((r["tree_rss_mb"] or 0) for r in cold)
        s["cold_tree_pss_mb"] = max((r.get("tree_pss_mb") or 0) for r in cold)
        stages = {}
        for st in {k for r in cold for k in r.get("stages", {})}:
            stages[st] = med([r.get("stages", {}).get(st) for r in cold])
        s["cold_stages"] = stages
        s["cold_worker_stages"] = {
            st: med([r.get("worker_stages", {}).get(st) for r in cold])
            for st in ("extract", "version", "analyse")
        }
        tr = {}
        for key in {k for r in cold for k in r.get("task_runs", {})}:
            tr[key] = med([r.get("task_runs", {}).get(key, {}).get("seconds") for r in cold])
        s["cold_task_runs"] = tr
        if s.get("empty") is not None:
            work = sum(v for v in stages.values() if v)
            s["cold_prefect_overhead_per_article"] = (s["cold"] - s["empty"] - work) / n
            s["cold_startup_of_empty"] = med([r.get("startup_to_first_stage") for r in R["empty"]])
    # targets
    t: dict = {}
    if s.get("cold") and s.get("floor_default"):
        t["cold/floor (≤ 0.6)"] = s["cold"] / s["floor_default"]
    if s.get("cold") and s.get("floor_armswatch"):
        t["cold/floor with armswatch's options (info)"] = s["cold"] / s["floor_armswatch"]
    if s.get("cold") and s.get("cli"):
        t["cli/cold (≥ 3)"] = s["cli"] / s["cold"]
    if s.get("cold") and s.get("naive_extrapolated"):
        t["naive/cold (≥ 10)"] = s["naive_extrapolated"] / s["cold"]
    if s.get("cold") and s.get("rerun") is not None and s.get("empty") is not None:
        t["(rerun − empty)/cold (≤ 0.03)"] = (s["rerun"] - s["empty"]) / s["cold"]
    if s.get("cold_maxrss_mb"):
        t["peak RSS MB, largest process (≤ 500)"] = s["cold_maxrss_mb"]
        t["peak RSS MB, process tree sum (info)"] = s["cold_tree_rss_mb"]
        t["peak PSS MB, process tree sum (info)"] = s["cold_tree_pss_mb"]
    s["targets"] = t
    return s


def fmt(v: float | None, unit: str = "s", digits: int = 2) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f} {unit}".strip()


def print_report(results: dict, s: dict) -> None:
    n = s["n"]
    R = results["runs"]
    print()
    print(
        f"== armswatch benchmark, N = {n} ({results.get('corpus', {}).get('feeds')} feeds), "
        f"medians of {len(R.get('cold', R.get('cli', [1])))} =="
    )
    print(f"prefect server start-up (real server):  {fmt(s.get('prefect_server_startup'))}")
    if s.get("empty_ephemeral"):
        print(
            f"empty-feed run on the temporary server: {s['empty_ephemeral_runs']} s "
            f"(vs {fmt(s.get('empty'))} with the server up)"
        )
    naive_scale = n / s["naive_n"] if s.get("naive_n") else None
    rows = [
        (
            "(a) floor: trafilatura.extract, defaults",
            s.get("floor_default"),
            s.get("floor_default_extract_cpu"),
        ),
        (
            "(a') floor: armswatch's extract_page",
            s.get("floor_armswatch"),
            s.get("floor_armswatch_extract_cpu"),
        ),
        ("(b) trafilatura CLI (download+extract)", s.get("cli"), s.get("cli_cpu")),
        (
            f"(c) naive Prefect flow (×{n}/{s.get('naive_n')})",
            s.get("naive_extrapolated"),
            s["naive_cpu"] * naive_scale if s.get("naive_cpu") and naive_scale else None,
        ),
        ("(d) armswatch run, cold", s.get("cold"), s.get("cold_cpu")),
        ("(e) armswatch run, nothing changed", s.get("rerun"), s.get("rerun_cpu")),
        ("(f) armswatch run, one empty feed", s.get("empty"), s.get("empty_cpu")),
        *[
            (
                f"(g) prototype {k.removeprefix('prototype_')} (no Prefect)",
                s.get(k),
                med([r["cpu_user"] + r["cpu_sys"] for r in R[k]]),
            )
            for k in R
            if k.startswith("prototype_")
        ],
    ]
    print(
        "(a) is the time (and CPU) inside the extract calls; the rest are process wall times"
        " and the CPU of the process tree."
    )
    print(f"{'run':44} {'wall':>10} {'pages/s':>9} {'CPU s':>9}")
    for name, v, cpu in rows:
        if v is None:
            continue
        rate = f"{n / v:9.1f}" if name[1] in "abcdg" and v else " " * 9
        print(f"{name:44} {fmt(v):>10} {rate} {fmt(cpu, ''):>9}")
    if "cold_stages" in s:
        print("\nstages of (d), timed around the stage functions (median):")
        print(f"{'stage':10} {'seconds':>9} {'share':>7} {'pages/s':>9} {'ms/page':>8}")
        total = s["cold"]
        for st in (
            "poll",
            "plan",
            "fetch",
            "extract",
            "diff",
            "detect",
            "wait",
            "write",
            "setup",
            "publish",
        ):
            v = s["cold_stages"].get(st)
            if v is None:
                continue
            print(f"{st:10} {v:9.2f} {v / total:7.1%} {n / v if v else 0:9.1f} {1000 * v / n:8.2f}")
        work = sum(x for x in s["cold_stages"].values() if x)
        print(f"{'(sum)':10} {work:9.2f} {work / total:7.1%}")
        print(
            f"{'other':10} {total - work:9.2f} {(total - work) / total:7.1%}"
            "  (start-up, Prefect, flow body)"
        )
        print("  (wait: the flow's thread waiting for the workers; fetch and write overlap them)")
        ws = s.get("cold_worker_stages", {})
        if any(ws.values()):
            print("\nCPU on the worker processes during (d) (median):")
            for st, v in ws.items():
                if v is not None:
                    print(f"  {st:10} {v:9.2f} s  {1000 * v / n:8.2f} ms/page")
        print("\nPrefect task-run durations of (d) from the API (median, summed per task):")
        for key, v in sorted(s["cold_task_runs"].items(), key=lambda kv: -(kv[1] or 0)):
            print(f"  {key:28} {fmt(v)}")
    if s.get("cold_prefect_overhead_per_article") is not None:
        print(
            "\nPrefect overhead per article, armswatch: "
            f"{1000 * s['cold_prefect_overhead_per_article']:.2f} ms "
            f"((cold − empty − Σ stages) / N); fixed start-up: {fmt(s.get('empty'))}"
        )
    if s.get("naive_prefect_overhead_per_article") is not None:
        print(
            "Prefect overhead per article, naive flow: "
            f"{1000 * s['naive_prefect_overhead_per_article']:.2f} ms "
            f"((flow wall − Σ task work) / N at N = {s['naive_n']})"
        )
    print("\ntargets:")
    for k, v in s["targets"].items():
        print(f"  {k:45} {v:8.3f}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        return child_main(argv[1:])
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="articles in the corpus")
    ap.add_argument("--per-feed", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16, help="per_host_concurrency (≤ 16)")
    ap.add_argument("--corpus", type=Path, help="default bench/out/corpus-N")
    ap.add_argument("--out", type=Path, default=None, help="default bench/out/run-N")
    ap.add_argument(
        "--repeat", type=int, default=1, help="repeat (a), (b), (d)–(f); medians are reported"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="ARMSWATCH_WORKERS (default: one per core)",
    )
    ap.add_argument(
        "--batch-size", type=int, default=None, help="ARMSWATCH_BATCH_SIZE (default: the project's)"
    )
    ap.add_argument("--floor-modes", type=lambda s: s.split(","), default=["default", "armswatch"])
    ap.add_argument(
        "--floor-limit", type=int, default=None, help="extract only this many pages, extrapolate"
    )
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument(
        "--naive-n", type=int, default=None, help="articles for (c); default min(N, 1000)"
    )
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--cli-parallel", type=int, default=None)
    ap.add_argument("--skip-armswatch", action="store_true")
    ap.add_argument(
        "--ephemeral",
        action="store_true",
        help="also time the empty-feed run on the temporary server",
    )
    ap.add_argument(
        "--pyinstrument", action="store_true", help="profile the first cold run with pyinstrument"
    )
    ap.add_argument(
        "--py-spy", action="store_true", help="record the cold runs with py-spy (raw stacks)"
    )
    ap.add_argument(
        "--prototype",
        type=lambda v: v.split(","),
        default=[],
        help="also run bench/prototype_pipeline.py: e.g. 2,2fast (workers, fast extraction)",
    )
    ap.add_argument(
        "--plain-cli", action="store_true", help="run the armswatch script itself, no stage timers"
    )
    ap.add_argument(
        "--port", type=int, default=None, help="Prefect server port (default: a free one)"
    )
    args = ap.parse_args(argv)
    args.out = args.out or REPO / "bench" / "out" / f"run-{args.n}"
    args.naive_n = args.naive_n or min(args.n, 1000)
    bench = Bench(args)
    results = bench.run()
    s = summarise(results)
    results["summary"] = s
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = args.out / f"results-{stamp}.json"
    path.write_text(json.dumps(results, indent=1, default=str), "utf-8")
    print_report(results, s)
    print(f"\nfull results: {path}")
    return 0


def child_main(argv: list[str]) -> int:
    mode = argv[0]
    ap = argparse.ArgumentParser(prog=f"bench_pipeline --child {mode}")
    if mode == "armswatch":
        ap.add_argument("--timings", type=Path, required=True)
        ap.add_argument("--profile", default=None)
        ap.add_argument("rest", nargs=argparse.REMAINDER)
        a = ap.parse_args(argv[1:])
        rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
        return child_armswatch(rest, a.timings, a.profile)
    if mode == "floor":
        ap.add_argument("--corpus", type=Path, required=True)
        ap.add_argument("--mode", choices=["default", "armswatch"], default="default")
        ap.add_argument("--limit", type=int, default=None)
        ap.add_argument("--result", type=Path, required=True)
        a = ap.parse_args(argv[1:])
        return child_floor(a.corpus, a.mode, a.limit, a.result)
    if mode == "naive":
        ap.add_argument("--base", required=True)
        ap.add_argument("--corpus", type=Path, required=True)
        ap.add_argument("--n", type=int, required=True)
        ap.add_argument("--db", type=Path, required=True)
        ap.add_argument("--result", type=Path, required=True)
        a = ap.parse_args(argv[1:])
        assert a.base.startswith("http://127.0.0.1:")
        return child_naive(a.base, a.corpus, a.n, a.db, a.result)
    raise SystemExit(f"unknown child mode {mode}")


if __name__ == "__main__":
    sys.exit(main())
