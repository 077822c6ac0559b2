"""Crash trials: SIGKILL `armswatch run` at random points of a cycle, rerun it, check the warehouse.

Each trial starts `python -m armswatch.cli run` in a child process (its own
session, so its whole process group can be killed), sends SIGKILL after a
random delay, reruns the same command to completion and then checks, with SQL:

  * no duplicate keys: (article_id, version), sightings, statements, diffs,
    facts, feed entries, canonical URLs;
  * no orphans: every sighting has its statement and its article version, every
    statement a sighting, every fact its statement, every diff both versions,
    every version its article, every feed entry its article;
  * versions numbered 1..n without gaps, every version after the first with
    its diff, `articles.current_version` the latest version;
  * every article the feeds offered processed (ok/gone/failed, none pending);
  * the Atom feed of statements beside the warehouse absent or whole;
  * the final warehouse equal to one made by an uninterrupted run: the same
    rows, compared on their content (content hashes, statement ids, sentences,
    diffs, feed entries), times aside. Rows of the baseline missing from the
    final warehouse are the "rows lost".

The warehouse left by the killed run is checked too (before the rerun): every
write is one transaction, so it must already satisfy every structural
invariant (only "none pending" may fail there).

The corpus is the demo corpus (armswatch/demo/corpus) copied `--copies` times
under /c0/, /c1/, … so that one cycle has several batches (`--batch-size`) and
kills land in polling, fetching, extraction, detection and writing alike.
It is served by armswatch.demo.server.ReplayServer on 127.0.0.1. Half the trials
(at random) kill cycle 1 on an empty warehouse; the others kill cycle 2 (the
demo's second cycle: the cycle2/ overlay, `--recheck-all`) on a copy of the
baseline's cycle-1 warehouse, so that new versions and diffs are written while
the process dies. One kill in five comes a random time after the process
started, within the baseline's start-up (imports, Prefect, the run lock,
migrations); the others a random time after the flow's first log line
("Beginning flow run"), within the baseline's flow duration of that cycle. So
the kills spread over the cycle itself even when start-up is slow.

Prefect: by default one `prefect server start --host 127.0.0.1 --port P` (its
own PREFECT_HOME in the work folder) serves every run, through PREFECT_API_URL;
a temporary server per run would add ~10 s to each of the 60+ runs. With
`--ephemeral` each run starts Prefect's temporary server instead, as a cron job
without PREFECT_API_URL would; the temporary server is a child of the killed
process, so killing the process group (and any descendant psutil saw) cleans
it up. The summary counts the child processes killed with the runs (one
temporary server per killed run with `--ephemeral`, none with the shared
server), the processes a run that exited by itself left in its group, and the
leftovers: processes still alive 15 s after they were SIGKILLed (must be 0).

    python bench/crash_trials.py --trials 30 --seed 1
    python bench/crash_trials.py --trials 4 --ephemeral

Code: the package is copied at the start (pyproject's package-dir mapping) and
every run imports that copy (PYTHONPATH), so that the baseline and all trials
run one version of the code even when the working tree is edited meanwhile;
`--live-code` runs the installed tree instead.

Exit status 0 when every trial passed, 1 otherwise. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEMO = REPO / "armswatch" / "demo" / "corpus"
TEXT_SUFFIXES = {".html", ".htm", ".xml", ".rss", ".atom", ".json", ".toml", ".txt"}

try:
    import psutil
except ImportError:  # pragma: no cover - psutil comes with the test environment
    psutil = None


# ---------------------------------------------------------------------------
# invariants and fingerprints: plain SQL over a warehouse file
# ---------------------------------------------------------------------------

# name -> SQL counting the rows that break the invariant. All must be 0.
STRUCTURAL: dict[str, str] = {
    "duplicate article versions": """
        SELECT count(*) FROM (SELECT article_id, version FROM article_versions
                              GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate sightings": """
        SELECT count(*) FROM (SELECT article_id, version, sentence_index, statement_id
                              FROM statement_sightings GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate statements": """
        SELECT count(*) FROM (SELECT statement_id FROM statements
                              GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate diffs": """
        SELECT count(*) FROM (SELECT article_id, to_version FROM article_diffs
                              GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate facts": """
        SELECT count(*) FROM (SELECT statement_id, fact_index FROM statement_facts
                              GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate feed entries": """
        SELECT count(*) FROM (SELECT source, entry_key FROM feed_entries
                              GROUP BY ALL HAVING count(*) > 1)""",
    "duplicate articles for one URL": """
        SELECT count(*) FROM (SELECT canonical_url FROM articles
                              GROUP BY ALL HAVING count(*) > 1)""",
    "sighting without its statement": """
        SELECT count(*) FROM statement_sightings g
        ANTI JOIN statements s USING (statement_id)""",
    "sighting without its article version": """
        SELECT count(*) FROM statement_sightings g
        ANTI JOIN article_versions v USING (article_id, version)""",
    "statement without a sighting": """
        SELECT count(*) FROM statements s ANTI JOIN statement_sightings g USING (statement_id)""",
    "fact without its statement": """
        SELECT count(*) FROM statement_facts f ANTI JOIN statements s USING (statement_id)""",
    "diff without its from-version": """
        SELECT count(*) FROM article_diffs d ANTI JOIN article_versions v
        ON v.article_id = d.article_id AND v.version = d.from_version""",
    "diff without its to-version": """
        SELECT count(*) FROM article_diffs d ANTI JOIN article_versions v
        ON v.article_id = d.article_id AND v.version = d.to_version""",
    "diff not between consecutive versions": """
        SELECT count(*) FROM article_diffs WHERE to_version <> from_version + 1""",
    "version without its article": """
        SELECT count(*) FROM article_versions v ANTI JOIN articles a USING (article_id)""",
    "version after the first without its diff": """
        SELECT count(*) FROM article_versions v ANTI JOIN article_diffs d
        ON d.article_id = v.article_id AND d.to_version = v.version
        WHERE v.version > 1""",
    "versions not numbered 1..n": """
        SELECT count(*) FROM (SELECT article_id FROM article_versions GROUP BY article_id
                              HAVING min(version) <> 1 OR max(version) <> count(*))""",
    "current_version is not the latest version": """
        SELECT count(*) FROM articles a LEFT JOIN (
            SELECT article_id, max(version) AS latest FROM article_versions GROUP BY 1
        ) v USING (article_id) WHERE a.current_version <> coalesce(v.latest, 0)""",
    "feed entry without its article": """
        SELECT count(*) FROM feed_entries e ANTI JOIN articles a USING (article_id)""",
    "article with an unknown status": """
        SELECT count(*) FROM articles WHERE status NOT IN ('pending', 'ok', 'failed', 'gone')""",
    "feed poll of an unknown source": """
        SELECT count(*) FROM feed_polls p ANTI JOIN sources s ON s.name = p.source""",
}
# Only after a run that finished: the queue is empty.
FINISHED: dict[str, str] = {
    "article left pending": "SELECT count(*) FROM articles WHERE status = 'pending'",
    "ok article never fetched": """
        SELECT count(*) FROM articles WHERE status = 'ok' AND last_fetched_at IS NULL""",
}

# table -> SELECT of its rows' content, times left out (they differ from run to run).
FINGERPRINT: dict[str, str] = {
    "articles": """SELECT article_id, canonical_url, source, title, published_at, lang,
                          status, current_version, final_url FROM articles""",
    "article_versions": """SELECT article_id, version, content_hash, text, title, lang, method
                           FROM article_versions""",
    "article_diffs": """SELECT article_id, from_version, to_version, added_sentences,
                               removed_sentences, unified_diff FROM article_diffs""",
    "statements": """SELECT statement_id, speaker, stance, text, lang, round(score, 6), profile,
                            signature, answers_statement_id FROM statements""",
    "statement_sightings": """SELECT statement_id, article_id, version, sentence_index, sentence,
                                     speaker, stance, round(score, 6), lang
                              FROM statement_sightings""",
    "statement_facts": """SELECT statement_id, fact_index, weapon, quantity, unit, direction,
                                 period FROM statement_facts""",
    "feed_entries": """SELECT source, entry_key, article_id, url, title, summary, published_at,
                              updated_at, lang FROM feed_entries""",
    "sources": "SELECT name, url, lang, etag, last_modified, body_hash FROM sources",
}


def _hashable(value: object) -> object:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


@contextlib.contextmanager
def _read(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        yield con
    finally:
        con.close()


def violations(db: str | Path, finished: bool = True) -> dict[str, int]:
    """The invariants the warehouse breaks, with how many rows break each; {} when sound."""
    checks = {**STRUCTURAL, **(FINISHED if finished else {})}
    with _read(db) as con:
        counts = {name: con.execute(sql).fetchone()[0] for name, sql in checks.items()}
    return {name: n for name, n in counts.items() if n}


def fingerprint(db: str | Path) -> dict[str, set[tuple]]:
    """Every row of the content tables, as sets of tuples without times."""
    with _read(db) as con:
        return {
            table: {tuple(_hashable(v) for v in row) for row in con.execute(sql).fetchall()}
            for table, sql in FINGERPRINT.items()
        }


def counts(db: str | Path) -> dict[str, int]:
    with _read(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in FINGERPRINT}


@dataclass
class Comparison:
    lost: dict[str, int]  # rows of the baseline missing from the final warehouse
    extra: dict[str, int]  # rows of the final warehouse the baseline has not

    @property
    def rows_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def rows_extra(self) -> int:
        return sum(self.extra.values())

    @property
    def equal(self) -> bool:
        return not self.rows_lost and not self.rows_extra

    def describe(self) -> str:
        parts = [f"-{n} {t}" for t, n in self.lost.items() if n]
        parts += [f"+{n} {t}" for t, n in self.extra.items() if n]
        return ", ".join(parts) or "equal"


def compare(baseline: dict[str, set[tuple]], final: dict[str, set[tuple]]) -> Comparison:
    return Comparison(
        lost={t: len(baseline[t] - final.get(t, set())) for t in baseline},
        extra={t: len(final.get(t, set()) - baseline[t]) for t in baseline},
    )


def statements_feed_whole(db: str | Path) -> bool:
    """The Atom feed of statements beside the warehouse is absent or whole (written atomically)."""
    import feedparser

    path = Path(db).with_name(f"{Path(db).stem}-statements.atom")
    return not path.exists() or not feedparser.parse(path.read_bytes()).bozo


def progress(db: str | Path, since: datetime) -> str:
    """What a run started at `since` had committed: its polls, and the articles it fetched."""
    if not Path(db).exists():
        return "no warehouse yet"
    try:
        with _read(db) as con:
            tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
            if "articles" not in tables:
                return "not migrated"
            polls = con.execute(
                "SELECT count(*) FROM feed_polls WHERE polled_at >= ?", [since]
            ).fetchone()[0]
            fetched, total = con.execute(
                "SELECT count(*) FILTER (WHERE last_fetched_at >= ?), count(*) FROM articles",
                [since],
            ).fetchone()
    except duckdb.Error as exc:
        return f"unreadable: {exc}"
    if not polls:
        return "nothing"
    return f"polls, {fetched}/{total} fetched"


# ---------------------------------------------------------------------------
# the corpus: the demo corpus, copied
# ---------------------------------------------------------------------------


def make_corpus(out: Path, copies: int) -> tuple[Path, list[Path], list[Path]]:
    """Write `copies` copies of the demo corpus; return (sources template, layers 1, layers 2)."""
    base, cycle2 = out / "base", out / "cycle2"
    for layer in (base, cycle2):
        if layer.exists():
            shutil.rmtree(layer)
        layer.mkdir(parents=True)
    shutil.copy(DEMO / "base" / "robots.txt", base / "robots.txt")
    demo_sources = tomllib.loads((DEMO / "sources.toml").read_text("utf-8"))
    lines = ["allow_private_hosts = true", "min_delay_seconds = 0", "per_host_concurrency = 8", ""]
    for k in range(copies):
        prefix = f"/c{k}"
        for src_layer, dst_layer in ((DEMO / "base", base), (DEMO / "cycle2", cycle2)):
            for path in src_layer.rglob("*"):
                if not path.is_file() or path.name == "robots.txt":
                    continue
                target = dst_layer / prefix.lstrip("/") / path.relative_to(src_layer)
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix.lower() in TEXT_SUFFIXES:
                    text = path.read_text("utf-8").replace("__BASE__/", f"__BASE__{prefix}/")
                    target.write_text(text, "utf-8")
                else:
                    shutil.copy(path, target)
        for s in demo_sources["source"]:
            lines += [
                "[[source]]",
                f'name = "{s["name"]}-c{k}"',
                f'url = "{s["url"].replace("__BASE__/", f"__BASE__{prefix}/")}"',
                f'lang = "{s["lang"]}"',
                "",
            ]
    template = out / "sources.template.toml"
    template.write_text("\n".join(lines), "utf-8")
    return template, [base], [cycle2, base]


def snapshot_code(dest: Path) -> str:
    """Copy the package, laid out as installed, into `dest`; return a description of it."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    if dest.exists():
        shutil.rmtree(dest)
    for package, folder in sorted(setup["package-dir"].items()):  # "armswatch" first
        shutil.copytree(REPO / folder, dest / package.replace(".", "/"), ignore=ignore,
                        dirs_exist_ok=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                            *sorted(set(setup["package-dir"].values()))],
                           capture_output=True, text=True).stdout.strip()
    return f"a copy of the working tree (git {head or '?'}{'+edits' if dirty else ''})"


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    if psutil is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int) -> set[int]:
    """The live processes of a process group (a session's leader group here)."""
    if psutil is None:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return set()
        return {pgid}
    members = set()
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and _alive(proc.pid):
                members.add(proc.pid)
    return members


def descendants(pid: int) -> set[int]:
    if psutil is None:
        return set()
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return set()


def kill_and_wait(pgid: int, pids: set[int], seconds: float = 15.0) -> set[int]:
    """SIGKILL a process group and some processes; return those still alive after `seconds`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in pids:  # a descendant that moved to a session of its own
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + seconds
    while True:
        left = {pid for pid in pids if _alive(pid)} | group_members(pgid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@dataclass
class RunOutcome:
    rc: int | None  # None when killed
    killed: bool
    seconds: float
    flow_began: float | None  # seconds from the start to "Beginning flow run" in the log
    after: str  # the last step the run logged as finished
    log: str
    children: int = 0  # processes the run had started, killed with it (a temporary server)
    left_behind: int = 0  # processes of a run that exited by itself, still alive after it
    leftovers: int = 0  # processes still alive after they were killed: a cleanup failure


STEP = re.compile(r"Task run '([a-z_]+(?:-[a-z_]+)*?(?:-batch-\d+)?)(?:-[0-9a-f]{3})?' - Finished")
FLOW_BEGAN = "Beginning flow run"


def last_step(log: str) -> str:
    step = "start-up"
    for line in log.splitlines():
        if FLOW_BEGAN in line and step == "start-up":
            step = "flow start"
        elif "applied migrations" in line:
            step = "migrate"
        else:
            m = STEP.search(line)
            if m:
                step = m.group(1)
        if re.search(r"Flow run '.*' - Finished in state", line):
            step = "flow end"
    return step


def run_cli(
    args: list[str], env: dict[str, str], log: Path,
    kill: tuple[str, float] | None = None, timeout: float = 900.0,
) -> RunOutcome:
    """Run `armswatch ARGS`; with kill=(anchor, seconds), SIGKILL it that long after the anchor.

    The anchor is "start" (the process start) or "flow" (the line "Beginning flow
    run" in its log: Python and Prefect start-up are behind it).
    """
    cmd = [sys.executable, "-m", "armswatch.cli", *args]
    started = time.monotonic()
    flow_began = None
    killed = False
    seen: set[int] = set()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if flow_began is None and FLOW_BEGAN in log.read_text(errors="replace"):
                    flow_began = now - started
                if kill is not None:
                    anchor, delay = kill
                    base = 0.0 if anchor == "start" else flow_began
                    if base is not None and now - started >= base + delay:
                        seen = descendants(proc.pid)
                        killed = True
                        break
                if now - started > timeout:
                    seen = descendants(proc.pid)
                    break
                time.sleep(0.02)
        finally:
            # A run that exited by itself may still have left processes in its group.
            behind = set() if killed or proc.poll() is None else group_members(proc.pid)
            leftovers = kill_and_wait(proc.pid, seen | behind | {proc.pid})
            proc.wait(30)
        rc = None if killed else proc.returncode
        seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    if flow_began is None and FLOW_BEGAN in text:
        flow_began = seconds
    return RunOutcome(rc, killed, seconds, flow_began, last_step(text), text,
                      children=len(seen), left_behind=len(behind), leftovers=len(leftovers))


@contextlib.contextmanager
def prefect_server(home: Path, env: dict[str, str]) -> Iterator[str]:
    """`prefect server start` on a free loopback port; yields its API URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**env, "PREFECT_UI_ENABLED": "false"},
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not become healthy in 180 s")
            time.sleep(0.5)
        yield api
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            kill_and_wait(proc.pid, descendants(proc.pid))


# ---------------------------------------------------------------------------
# trials
# ---------------------------------------------------------------------------


@dataclass
class Trial:
    n: int
    cycle: int
    anchor: str  # "start" or "flow": what the delay counts from
    delay: float
    killed: bool = False
    after: str = ""
    at_kill: str = ""
    consistent_at_kill: dict[str, int] = field(default_factory=dict)
    rerun_rc: int | None = None
    broken: dict[str, int] = field(default_factory=dict)
    comparison: Comparison | None = None
    leftovers: int = 0
    children_killed: int = 0
    left_behind: int = 0
    feed_broken: list[str] = field(default_factory=list)  # when the statements feed was torn

    @property
    def passed(self) -> bool:
        return (
            self.rerun_rc == 0
            and not self.consistent_at_kill
            and not self.broken
            and self.comparison is not None
            and self.comparison.equal
            and not self.leftovers
            and not self.feed_broken
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=4, help="copies of the demo corpus (13 pages)")
    ap.add_argument("--batch-size", type=int, default=8, help="ARMSWATCH_BATCH_SIZE of the runs")
    ap.add_argument("--ephemeral", action="store_true",
                    help="no shared server: every run starts Prefect's temporary server")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--live-code", action="store_true",
                    help="run the installed tree, not a copy taken at the start")
    args = ap.parse_args(argv)
    # SIGTERM (kill, a CI timeout) unwinds like Ctrl-C, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sys.path.insert(0, str(REPO))
    from armswatch.demo.server import ReplayServer

    work = args.workdir or Path(tempfile.mkdtemp(prefix="armswatch-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    template, layers1, layers2 = make_corpus(work / "corpus", args.copies)

    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("ARMSWATCH_", "PREFECT_"))
    }
    env |= {
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "ARMSWATCH_BATCH_SIZE": str(args.batch_size),
        "PYTHONUNBUFFERED": "1",
    }
    code = "the installed tree"
    if not args.live_code:
        code = snapshot_code(work / "code")
        env["PYTHONPATH"] = str(work / "code")
        where = subprocess.run(
            [sys.executable, "-c", "import armswatch.flows.monitor as m; print(m.__file__)"],
            env=env, capture_output=True, text=True, check=True, cwd=work,
        ).stdout.strip()
        if not where.startswith(str(work / "code")):
            print(f"the copy of the code is not what runs ({where}); use --live-code")
            return 1
    trials: list[Trial] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ReplayServer(layers1))
        sources = work / "sources.toml"
        sources.write_text(template.read_text("utf-8").replace("__BASE__", server.base_url))
        if args.ephemeral:
            mode = "temporary Prefect server per run"
        else:
            env["PREFECT_API_URL"] = stack.enter_context(
                prefect_server(work / "prefect-home", env)
            )
            mode = f"one prefect server at {env['PREFECT_API_URL']}"
        cycle_args = {
            1: (layers1, ["run", "--sources", str(sources)]),
            2: (layers2, ["run", "--sources", str(sources), "--recheck-all"]),
        }

        def run(cycle: int, db: Path, log: Path, kill: tuple[str, float] | None = None
                ) -> RunOutcome:
            layers, cli = cycle_args[cycle]
            server.set_layers(layers)
            return run_cli([*cli, "--db", str(db)], env, log, kill)

        # Baseline: both cycles, uninterrupted.
        print(f"corpus: {args.copies} copies of the demo corpus, "
              f"{len(list((work / 'corpus' / 'base').rglob('*.html')))} pages in cycle 1, "
              f"batch size {args.batch_size}; {mode}; code: {code}", flush=True)
        base = work / "baseline"
        base.mkdir(exist_ok=True)
        base1, base2 = base / "cycle1.duckdb", base / "cycle2.duckdb"
        durations = {}
        for cycle, db in ((1, base1), (2, base2)):
            if cycle == 2:
                shutil.copy(base1, base2)
            outcome = run(cycle, db, base / f"cycle{cycle}.log")
            if outcome.rc != 0:
                print(outcome.log[-3000:])
                print(f"baseline cycle {cycle} failed with exit code {outcome.rc}")
                return 1
            if outcome.flow_began is None:
                print(f"baseline cycle {cycle}: no '{FLOW_BEGAN}' line in its log")
                return 1
            # (start-up, flow): how long before the flow began, and the flow itself
            durations[cycle] = (outcome.flow_began, outcome.seconds - outcome.flow_began)
            broken = violations(db)
            if broken:
                print(f"baseline cycle {cycle} breaks invariants: {broken}")
                return 1
            print(f"baseline cycle {cycle}: {outcome.seconds:.1f} s "
                  f"({outcome.flow_began:.1f} s start-up), rows {counts(db)}", flush=True)
        prints = {1: fingerprint(base1), 2: fingerprint(base2)}

        header = (f"{'#':>3} {'cycle':>5} {'kill at':>11}  {'last step done':<20} "
                  f"{'committed at kill':<26} {'rerun':>5}  {'invariants':<10} "
                  f"{'vs baseline':<12} {'left':>4}")
        print(header)
        print("-" * len(header))
        for n in range(1, args.trials + 1):
            cycle = rng.choice((1, 2))
            # One kill in five lands in start-up (imports, Prefect, the run lock and
            # migrations); the others anywhere in the flow, from its first log line to its end.
            anchor = "start" if rng.random() < 0.2 else "flow"
            span = durations[cycle][0 if anchor == "start" else 1]
            trial = Trial(n, cycle, anchor, round(rng.uniform(0.0, span), 2))
            folder = work / f"trial-{n:03d}"
            folder.mkdir(exist_ok=True)
            db = folder / "w.duckdb"
            for stale in folder.glob("w*"):
                stale.unlink()
            if cycle == 2:
                shutil.copy(base1, db)
            since = datetime.now(UTC)
            killed = run(cycle, db, folder / "killed.log", kill=(anchor, trial.delay))
            trial.killed, trial.after = killed.killed, killed.after
            trial.leftovers += killed.leftovers
            trial.children_killed += killed.children
            trial.left_behind += killed.left_behind
            trial.at_kill = progress(db, since) if killed.killed else "finished first"
            if db.exists():
                with contextlib.suppress(duckdb.Error):
                    trial.consistent_at_kill = violations(db, finished=False)
            if not statements_feed_whole(db):
                trial.feed_broken.append("after the kill")
            rerun = run(cycle, db, folder / "rerun.log")
            trial.rerun_rc = rerun.rc
            trial.leftovers += rerun.leftovers
            trial.left_behind += rerun.left_behind
            if rerun.rc == 0:
                trial.broken = violations(db)
                trial.comparison = compare(prints[cycle], fingerprint(db))
                if not statements_feed_whole(db):
                    trial.feed_broken.append("after the rerun")
            trials.append(trial)
            print(
                f"{n:>3} {cycle:>5} {f'{anchor}+{trial.delay:.2f}s':>11}  "
                f"{(trial.after if trial.killed else '-'):<20} {trial.at_kill:<26} "
                f"{trial.rerun_rc!s:>5}  "
                f"{('ok' if not (trial.broken or trial.consistent_at_kill) else 'BROKEN'):<10} "
                f"{(trial.comparison.describe() if trial.comparison else '-'):<12} "
                f"{trial.leftovers:>4}",
                flush=True,
            )
            for name, broken in (("after the kill", trial.consistent_at_kill),
                                 ("after the rerun", trial.broken)):
                if broken:
                    print(f"      {name}: {broken}")
            if trial.feed_broken:
                print(f"      statements feed torn {' and '.join(trial.feed_broken)}")
            if rerun.rc != 0:
                print("      rerun log: " + rerun.log[-1500:].replace("\n", "\n      "))

    killed = [t for t in trials if t.killed]
    passed = [t for t in trials if t.passed]
    lost = sum(t.comparison.rows_lost for t in trials if t.comparison)
    extra = sum(t.comparison.rows_extra for t in trials if t.comparison)
    broken = sum(1 for t in trials if t.broken or t.consistent_at_kill)
    where: dict[str, int] = {}
    for t in killed:
        where[t.after] = where.get(t.after, 0) + 1
    print()
    print("last step done when killed: "
          + ", ".join(f"{k} {v}" for k, v in sorted(where.items())))
    summary = (
        f"trials={len(trials)} killed={len(killed)}"
        f" finished_before_kill={len(trials) - len(killed)}"
        f" reruns_ok={sum(1 for t in trials if t.rerun_rc == 0)}"
        f" invariant_violations={broken} rows_lost={lost} rows_extra={extra}"
        f" equal_to_baseline={sum(1 for t in trials if t.comparison and t.comparison.equal)}"
        f" child_processes_killed_with_the_run={sum(t.children_killed for t in trials)}"
        f" left_behind_by_finished_runs={sum(t.left_behind for t in trials)}"
        f" leftover_processes={sum(t.leftovers for t in trials)}"
        f" passed={len(passed)}/{len(trials)} seconds={time.monotonic() - started:.0f}"
    )
    print(summary)
    if args.json:
        args.json.write_text(json.dumps({
            "summary": summary,
            "trials": [
                {"n": t.n, "cycle": t.cycle, "anchor": t.anchor, "delay": t.delay,
                 "killed": t.killed,
                 "after": t.after, "at_kill": t.at_kill, "rerun_rc": t.rerun_rc,
                 "broken_at_kill": t.consistent_at_kill, "broken": t.broken,
                 "comparison": t.comparison.describe() if t.comparison else None,
                 "leftovers": t.leftovers, "children_killed": t.children_killed,
                 "left_behind": t.left_behind, "passed": t.passed}
                for t in trials
            ],
        }, indent=2))
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder kept: {work}")
    return 0 if len(passed) == len(trials) else 1


if __name__ == "__main__":
    sys.exit(main())
