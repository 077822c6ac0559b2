"""The run's worker processes: same results as in-process, and a dying worker costs one page."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from armswatch.tasks import process
from armswatch.tasks.detect import Detector
from armswatch.tasks.models import FetchedPage, FetchRequest, PreviousVersion
from tests.test_extract import ARTICLE

NOW = datetime(2024, 6, 1, tzinfo=UTC)

ENGLISH = """<!doctype html><html><head><title>Shells for Moscow</title></head><body>
<article><h1>Shells for Moscow</h1>
<p>North Korea has shipped more than a million artillery shells to Russia, South Korea's
defence minister Shin Won-sik said on Tuesday, citing about 6,700 containers sent since August.</p>
<p>The Kremlin spokesman Dmitry Peskov dismissed the claims as groundless and denied that
Moscow had bought any weapons from Pyongyang.</p>
<p>The weather in Seoul was mild and the markets closed slightly higher on the day.</p>
</article></body></html>"""


class Dies(str):
    """A feed summary that kills the worker reading it, as a crash in a C extension would."""

    def strip(self, chars: str | None = None) -> str:
        os._exit(3)


def work(n: int, body: str | None, summary: str | None = None, previous=None) -> process.Work:
    article = f"a{n}"
    page = FetchedPage(article, f"https://news.example/{n}", NOW, 200,
                       body=body.encode() if body is not None else b"", encoding="utf-8")
    request = FetchRequest(article, page.url, "feed", feed_title=f"Title {n}",
                           feed_summary=summary, feed_published_at=NOW)
    return process.Work(page, request, previous)


@pytest.fixture(scope="module")
def analyser() -> Detector:
    return Detector.from_profile("nk_russia")


def batch() -> list[process.Work]:
    return [
        work(1, ENGLISH),
        work(2, ARTICLE),
        work(3, "<html><body><div id=app></div></body></html>",
             summary="Seoul says Pyongyang shipped millions of shells to Russia."),
        work(4, "\x00\x01" * 500),
        work(5, ENGLISH, previous=None),
    ]


def test_workers_return_what_this_process_computes(analyser):
    works = batch()
    here = process.process_pages(works, analyser)
    with process.WorkerPool(analyser, 2) as pool:
        there = pool.submit(works).result()
    strip = [replace(o, seconds=(0.0, 0.0, 0.0)) for o in there]
    assert strip == [replace(o, seconds=(0.0, 0.0, 0.0)) for o in here]
    assert [o.article_id for o in there] == ["a1", "a2", "a3", "a4", "a5"]
    assert there[0].analysis is not None and there[0].analysis.candidates
    assert there[2].text is not None and there[2].text.method == "feed-summary"
    assert there[3].text is None
    assert all(o.seconds[0] > 0 for o in there)


def test_an_unchanged_page_is_not_analysed_again(analyser):
    first = process.process_page(work(1, ENGLISH), analyser)
    assert first.version is not None
    v = first.version
    previous = PreviousVersion(v.article_id, v.version, v.content_hash, v.text, v.method)
    again = process.process_page(work(1, ENGLISH, previous=previous), analyser)
    assert again.skipped is not None and again.skipped.reason == "unchanged"
    assert again.version is None and again.analysis is None


def test_a_worker_that_dies_costs_only_its_page(analyser, caplog):
    works = batch()
    works[2] = work(3, "<html><body></body></html>", summary=Dies("fatal"))
    with process.WorkerPool(analyser, 2) as pool:
        with caplog.at_level(logging.WARNING, logger="armswatch.process"):
            outcomes = pool.submit(works).result()
        assert [o.article_id for o in outcomes] == ["a1", "a2", "a3", "a4", "a5"]
        assert outcomes[2].text is None
        assert outcomes[0].analysis is not None and outcomes[0].analysis.candidates
        assert outcomes[1].text is not None and "6700 Container" in outcomes[1].text.text
        assert "a worker died on https://news.example/3" in caplog.text
        # The pool goes on working after it was rebuilt.
        assert pool.submit(batch()[:1]).result()[0].version is not None


def test_spooled_pages_wait_in_files_and_give_the_same_outcomes(analyser):
    works = batch()
    here = process.process_pages(works, analyser)
    with process.WorkerPool(analyser, 2) as pool:
        spooled = pool.spool(works)
        files = [w.body_file for w in spooled]
        assert all(w.page.body is None for w in spooled) and all(files)
        assert [Path(f).read_bytes() for f in files] == [w.page.body for w in works]
        spool_dir = os.path.dirname(files[0])
        there = pool.submit(spooled).result()
        # A batch's files go once its outcomes are in; the directory with the pool.
        assert not any(os.path.exists(f) for f in files) and os.path.isdir(spool_dir)
    assert not os.path.exists(spool_dir)
    strip = [replace(o, seconds=(0.0, 0.0, 0.0)) for o in there]
    assert strip == [replace(o, seconds=(0.0, 0.0, 0.0)) for o in here]


def test_a_spooled_page_is_retried_from_its_file_after_a_worker_dies(analyser):
    works = batch()
    works[2] = work(3, "<html><body></body></html>", summary=Dies("fatal"))
    with process.WorkerPool(analyser, 2) as pool:
        outcomes = pool.submit(pool.spool(works)).result()
    assert [o.article_id for o in outcomes] == ["a1", "a2", "a3", "a4", "a5"]
    assert outcomes[2].text is None
    assert outcomes[1].text is not None and "6700 Container" in outcomes[1].text.text
    assert outcomes[4].analysis is not None and outcomes[4].analysis.candidates


def test_workers_log_lines_reach_this_process(analyser, caplog):
    hostile = work(9, "<html>" + "<div>" * 20 + "</html>")
    hostile = replace(hostile, page=replace(hostile.page, body=b"\xff\xfe\x00<\x00h\x00"))
    with process.WorkerPool(analyser, 1) as pool, caplog.at_level(logging.DEBUG):
        logging.getLogger("trafilatura").setLevel(logging.DEBUG)
        try:
            pool.submit([hostile]).result()
        finally:
            logging.getLogger("trafilatura").setLevel(logging.WARNING)
    assert any(r.name.startswith("trafilatura") for r in caplog.records), caplog.text


UNGUARDED = """
from armswatch.flows.monitor import monitor

monitor(sources={sources!r}, db={db!r}, substitutions={{"__BASE__": {base!r}}})
print("finished")
"""


@pytest.mark.usefixtures("prefect_harness")
def test_a_script_that_starts_a_run_unguarded_gets_a_clear_error(tmp_path):
    """Workers import the main script; one that starts a run on import must not multiply."""
    import subprocess
    import sys
    from pathlib import Path

    from armswatch.demo.server import ReplayServer
    from tests.test_reliability import harness_env

    site = Path(__file__).parent / "fixtures" / "site"
    script = tmp_path / "run.py"
    with ReplayServer([site / "v1"]) as server:
        script.write_text(UNGUARDED.format(sources=str(site / "sources.toml"),
                                           db=str(tmp_path / "w.duckdb"), base=server.base_url))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=300, env=harness_env(ARMSWATCH_WORKERS="2"),
                              cwd=tmp_path)
    assert done.returncode != 0 and "finished" not in done.stdout
    assert 'under `if __name__ == "__main__":`' in done.stderr, done.stderr[-3000:]


def test_an_unguarded_script_on_a_temporary_server_leaves_no_server_behind(tmp_path):
    """Without an API URL each worker that re-ran the script used to start a temporary
    Prefect server of its own, and died leaving it running."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from armswatch.demo.server import ReplayServer

    site = Path(__file__).parent / "fixtures" / "site"
    script = tmp_path / "run.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ARMSWATCH_"))}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "ARMSWATCH_WORKERS": "2",
    }
    with ReplayServer([site / "v1"]) as server:
        script.write_text(UNGUARDED.format(sources=str(site / "sources.toml"),
                                           db=str(tmp_path / "w.duckdb"), base=server.base_url))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=300, env=env, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "finished" not in done.stdout
    assert 'under `if __name__ == "__main__":`' in output, output[-3000:]
    # The script's own run starts one; no worker starts another.
    assert output.count("Starting temporary server") == 1, output[-3000:]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_workers_follow_a_containers_cpu_quota(tmp_path, files, expected):
    import os

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    cores = len(os.sched_getaffinity(0))
    assert process.default_workers(tmp_path) == min(cores, expected or cores)


def _private_mb() -> float:
    with open("/proc/self/smaps_rollup") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["Private_Dirty"].split()[0]) / 1024


@pytest.mark.skipif(
    process._MALLOC_TRIM is None, reason="malloc_trim is glibc's; this C library has none"
)
def test_trim_heap_gives_freed_heap_pages_back():
    # Page-sized buffers freed between long-lived ones: the pattern a worker's
    # parses leave, which glibc keeps as the process's own until trimmed.
    blocks = [bytearray(96 * 1024) for _ in range(2000)]
    kept = blocks[::100]
    del blocks
    before = _private_mb()
    process.trim_heap()
    assert before - _private_mb() > 50, "the freed ~185 MB stayed with the process"
    assert all(len(b) == 96 * 1024 for b in kept)
