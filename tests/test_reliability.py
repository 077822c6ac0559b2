"""Nothing lost, nobody in: faults, hostile input, crashes, concurrent runs, upgrades, bad config.

End-to-end proofs, at the level of the monitor flow and the `armswatch` command:

* the feedparser test corpus served as 316 sources: the cycle completes, every
  source has its feed_polls row, and every entry the parser gets is stored;
* a fault site (tests/fixtures/faults) where every feed and page fails, stalls,
  lies or attacks in its own way: the cycle completes and records each outcome;
* SSRF: with allow_private_hosts off, a cycle over loopback sources records
  refusals and the server never sees a request;
* SIGKILL at fixed points of a cycle (during a feed poll, between two batches,
  during a re-check cycle), then a rerun: no duplicate, no orphan, nothing lost,
  and the warehouse equals one made by an uninterrupted run
  (bench/crash_trials.py does the same at random points, 30+ times);
* two runs at once: the second exits with a clear message or waits, the
  warehouse stays sound, and a reader querying during the writes succeeds;
* upgrades: a warehouse made at schema 0001 migrates forward with its data; a
  failing or killed migration leaves the previous state;
* bad configuration in the environment is refused before anything runs.

Everything talks to 127.0.0.1 only. Lower-level HTTP faults are in
test_http.py, test_fetch.py and test_feeds.py; this file does not repeat them.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
from typer.testing import CliRunner

from armswatch.cli import app
from armswatch.demo.server import (
    ReplayHandler,
    ReplayServer,
    guess_content_type,
    redirect,
    respond,
    sequence,
    slow,
    stall,
)
from armswatch.flows.config import ConfigError, load_sources
from armswatch.flows.monitor import monitor
from armswatch.tasks.feeds import NotAFeed, parse_feed
from armswatch.tasks.models import Source
from armswatch.warehouse import db as dbmod
from armswatch.warehouse.db import MigrationError, Warehouse
from tests.helpers import REPO, shared_path

pytestmark = pytest.mark.usefixtures("prefect_harness")

FIXTURES = Path(__file__).parent / "fixtures"
FAULTS = FIXTURES / "faults"
SITE = FIXTURES / "site"
DEMO = REPO / "armswatch" / "demo" / "corpus"
MB = 1 << 20


def _load_crash_trials():
    """bench/crash_trials.py holds the invariants and fingerprints; the tests use the same SQL."""
    path = REPO / "bench" / "crash_trials.py"
    spec = importlib.util.spec_from_file_location("crash_trials", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_trials", module)
    spec.loader.exec_module(module)
    return module


trials = _load_crash_trials()


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def query(db: Path | str, sql: str, params: list | None = None) -> list[tuple]:
    with Warehouse(str(db), wait_seconds=60).connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def write_sources(path: Path, sources: dict[str, str], **top: object) -> Path:
    lines = [f"{k} = {json.dumps(v)}" for k, v in top.items()]
    for name, url in sources.items():
        lines += ["", "[[source]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def substituted(template: Path, out: Path, base_url: str) -> Path:
    out.write_text(template.read_text("utf-8").replace("__BASE__", base_url), "utf-8")
    return out


def gzip_bomb(head: bytes, filler: int, tail: bytes = b"") -> bytes:
    """`head`, `filler` bytes of spaces and `tail`, gzipped: ~1,000 times smaller inflated."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(head)]
    chunk = b" " * MB
    for _ in range(filler // MB):
        parts.append(z.compress(chunk))
    parts += [z.compress(tail), z.flush()]
    return b"".join(parts)


def short_body(body: bytes, content_type: str) -> Callable[[ReplayHandler], None]:
    """Promise 1,000 bytes more than are sent, then hang up: a transfer broken mid-body."""

    def handler(h: ReplayHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body) + 1000))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.close_connection = True

    return handler


def harness_env(**extra: str) -> dict[str, str]:
    """The environment of an `armswatch` child: the session's Prefect API, no ARMSWATCH_*."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")}
    env |= {
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


class Child:
    """`python -m armswatch.cli ARGS` in its own session, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "w")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "armswatch.cli", *args],
            stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=log.parent,
            start_new_session=True,
        )

    @property
    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        """SIGKILL the whole process group, as the OOM killer or a power cut would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        self._out.close()

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended (exit {self.proc.returncode}) before {what}:\n"
                            f"{self.text[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout:.0f} s:\n{self.text[-3000:]}")
            time.sleep(0.1)

    def began(self) -> bool:
        return "Beginning flow run" in self.text


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in started:
            if child.proc.poll() is None:
                child.kill()


class Gate:
    """A route serving the files of `layers`, that can hold the n-th request matching a test.

    The held request waits until `open()`; meanwhile the test knows exactly
    where the run is: the batches before the held fetch are committed, the
    batch of the held fetch is not.
    """

    def __init__(self, server: ReplayServer, layers: list[Path]) -> None:
        self.server = server
        self.layers = layers
        self._lock = threading.Lock()
        self._match: Callable[[str], bool] | None = None
        self.reached = threading.Event()
        self.release = threading.Event()
        self.release.set()
        for layer in layers:
            for path in layer.rglob("*"):
                if path.suffix in (".html", ".xml", ".atom", ".json"):
                    server.add_route("/" + path.relative_to(layer).as_posix(), self)

    def hold(self, match: Callable[[str], bool], nth: int) -> None:
        with self._lock:
            self.release.set()  # whatever an earlier test left held goes on
            self._match, self._nth, self._seen = match, nth, 0
            self.reached, self.release = threading.Event(), threading.Event()

    def open(self) -> None:
        with self._lock:
            self._match = None
            self.release.set()

    def __call__(self, h: ReplayHandler) -> None:
        path = urlsplit(h.path).path
        held = False
        with self._lock:
            if self._match is not None and self._match(path):
                self._seen += 1
                held = self._seen == self._nth
            reached, release = self.reached, self.release
        if held:
            reached.set()
            release.wait(300)
        for layer in self.layers:
            file = layer / path.lstrip("/")
            if file.is_file():
                body = file.read_bytes().replace(b"__BASE__", self.server.base_url.encode())
                h.send(200, body, {"Content-Type": guess_content_type(file, body)})
                return
        h.send(404, b"not found\n", {"Content-Type": "text/plain"})


def is_page(path: str) -> bool:
    return path.endswith(".html")


def is_feed(path: str) -> bool:
    return path.startswith("/feeds/")


# ---------------------------------------------------------------------------
# the feedparser corpus, every file a source
# ---------------------------------------------------------------------------


def test_feedparser_corpus_as_sources(tmp_path, monkeypatch):
    """316 real feeds, broken ones included, in one cycle: each polled, each recorded, all kept."""
    corpus = shared_path("corpus", "feedparser-tests")
    manifest = json.loads((corpus / "manifest.json").read_text())
    observed = json.loads((corpus / "observed-feedparser-6.0.14.json").read_text())
    # Entries link to example.com and the like: poll and store only, fetch nothing.
    monkeypatch.setenv("ARMSWATCH_MAX_ARTICLES_PER_RUN", "0")
    with ReplayServer([corpus]) as server:
        served: dict[str, tuple[str, bytes, str, dict[str, str]]] = {}
        for n, case in enumerate(manifest):
            path = "/" + case["path"]
            body = (corpus / case["path"]).read_bytes()
            headers = {k.lower(): v for k, v in (case.get("http_headers") or {}).items()}
            if case.get("http_served"):
                # As feedparser's own harness serves them: text/xml unless a Header: line says.
                headers.setdefault("content-type", "text/xml")
                server.add_route(path, respond(200, body, headers, content_type=None))
                content_type = headers["content-type"]
            else:
                content_type = guess_content_type(corpus / case["path"], body)
            served[f"c{n:03d}"] = (case["path"], body, content_type, headers)
        sources = write_sources(
            tmp_path / "sources.toml",
            {name: server.url("/" + p) for name, (p, *_rest) in served.items()},
            allow_private_hosts=True, min_delay_seconds=0, per_host_concurrency=16,
        )
        db = tmp_path / "w.duckdb"
        first = monitor(sources=str(sources), db=str(db))
        second = monitor(sources=str(sources), db=str(db))

    assert first.counts.feeds == second.counts.feeds == len(manifest) == 316
    polls = query(db, "SELECT source, http_status, error, entries_seen, bozo FROM feed_polls "
                      "ORDER BY polled_at")
    by_source: dict[str, list[tuple]] = {}
    for source, *rest in polls:
        by_source.setdefault(source, []).append(tuple(rest))
    assert set(by_source) == set(served)
    assert all(len(rows) == 2 for rows in by_source.values())  # one row a source a cycle
    stored: dict[str, set[tuple]] = {}
    for source, key, url in query(db, "SELECT source, entry_key, url FROM feed_entries"):
        stored.setdefault(source, set()).add((key, url))

    refused = kept = 0
    for name, (path, body, content_type, headers) in served.items():
        (status, error, seen, flagged), _again = by_source[name]
        assert status == 200, (path, status, error)
        try:  # the same bytes through the parser alone: everything it returns must be stored
            expected, complaint = parse_feed(
                Source(name, server.url("/" + path)), body, content_type,
                server.url("/" + path), content_language=headers.get("content-language"),
            )
        except NotAFeed:
            assert error is not None and error.startswith("not a feed"), (path, error)
            assert observed.get(path, {}).get("version", "") == "", path
            refused += 1
            continue
        assert error is None, (path, error)
        assert seen == len(expected), path
        assert (flagged is None) == (complaint is None), (path, flagged)  # bozo kept too
        assert stored.get(name, set()) == {(e.entry_key, e.url) for e in expected}, path
        kept += len(expected)
    # Most corpus files test one feature with one entry, often without a link; a few are
    # not feeds at all (feedparser finds no version in them either).
    assert kept >= 20 and refused <= 10
    assert trials.violations(db, finished=False) == {}
    # The second cycle found nothing new and lost nothing.
    assert second.counts.entries_new == 0
    [(total,)] = query(db, "SELECT count(*) FROM feed_entries")
    assert sum(len(v) for v in stored.values()) == total


# ---------------------------------------------------------------------------
# the fault site
# ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n"


def stage_faults(server: ReplayServer) -> None:
    """The routes of the fault site: what files cannot do, and the big and binary bodies."""
    base = server.base_url

    def text(path: str) -> bytes:
        return (FAULTS / "site" / path).read_bytes().replace(b"__BASE__", base.encode())

    rss, html = "application/rss+xml", "text/html; charset=utf-8"
    small = text("feeds/small.xml")
    feed = respond(200, small, content_type=rss)
    add = server.add_route
    # feeds
    add("/feeds/gone.xml", respond(410, "gone"))
    add("/feeds/busy.xml", sequence(respond(429, "slow down", {"Retry-After": "1"}), feed))
    add("/feeds/throttled.xml", respond(429, "come back tomorrow", {"Retry-After": "3600"}))
    add("/feeds/flaky.xml", sequence(respond(500, "oops"), feed))
    add("/feeds/stalled.xml", stall(small, 300, 2.0, rss))
    add("/feeds/cut.xml", short_body(small, rss))
    add("/feeds/image.xml", respond(200, PNG, content_type="image/png"))
    add("/feeds/octet.xml", respond(200, small, content_type="application/octet-stream"))
    add("/feeds/loop-a.xml", redirect("/feeds/loop-b.xml"))
    add("/feeds/loop-b.xml", redirect("/feeds/loop-a.xml"))
    add("/feeds/utf16.xml", respond(200, small, content_type=f"{rss}; charset=utf-16"))
    head, _, _ = small.partition(b"</channel>")
    # The filler comes before the second entry's link: past the cap, that entry has none.
    big_head = head + (b'<item><title>Filler</title><guid isPermaLink="false">filler</guid>'
                       b"<description>")
    big_tail = (f"</description><link>{base}/news/unreachable.html</link></item>"
                "</channel></rss>").encode()
    add("/feeds/big.xml", respond(200, big_head + b"x " * (11 * MB // 2) + big_tail,
                                  content_type=rss))
    add("/feeds/bomb.xml", respond(200, gzip_bomb(big_head, 64 * MB, big_tail),
                                   {"Content-Encoding": "gzip"}, content_type=rss))
    # pages
    add("/news/flaky.html", sequence(respond(500, "oops"),
                                     respond(200, text("news/kirby.html"), content_type=html)))
    add("/news/busy.html", sequence(respond(429, "", {"Retry-After": "1"}),
                                    respond(200, text("news/kostin.html"), content_type=html)))
    add("/news/stall.html", stall(text("news/g7.html"), 400, 2.0))
    add("/news/gone.html", respond(410, "gone"))
    add("/news/report.pdf", respond(200, PDF, content_type="application/pdf"))
    add("/news/loop-a.html", redirect("/news/loop-b.html"))
    add("/news/loop-b.html", redirect("/news/loop-a.html"))
    add("/news/moved.html", redirect("/news/kimyojong.html", 301))
    g7, _, g7_rest = text("news/g7.html").partition(b"</main>")
    add("/news/huge.html", respond(200, g7 + b"</main><!--" + b"x" * (11 * MB) + b"-->" + g7_rest,
                                   content_type=html))
    kostin, _, kostin_rest = text("news/kostin.html").partition(b"</main>")
    add("/news/bomb.html", respond(200, gzip_bomb(kostin + b"</main>", 64 * MB, kostin_rest),
                                   {"Content-Encoding": "gzip"}, content_type=html))
    add("/news/cut.html", short_body(text("news/kirby.html"), html))
    peskov = text("news/peskov-ru.html").decode("utf-8").encode("cp1251")
    add("/news/lying.html", respond(200, peskov, content_type=html))  # says UTF-8, is cp1251


@pytest.fixture
def fault_site():
    with ReplayServer([FAULTS / "site"]) as server:
        stage_faults(server)
        yield server


# What each feed source must end with: (http_status, error starts with, entries stored).
FEED_OUTCOMES: dict[str, tuple[int | None, str | None, int]] = {
    "main": (200, None, 15),
    "links-json": (200, None, 1),
    "missing": (404, "HTTP 404", 0),
    "gone": (410, "HTTP 410", 0),
    "busy": (200, None, 1),
    "throttled": (429, "HTTP 429", 0),
    "flaky": (200, None, 1),
    "stalled": (200, None, 1),
    "cut": (None, "RemoteProtocolError", 0),
    "truncated": (200, None, 2),
    "html-page": (200, "not a feed", 0),
    "image": (200, "not a feed", 0),
    "octet-stream": (200, None, 1),
    "loop": (None, "redirect loop", 0),
    "big": (200, None, 1),
    "bomb": (200, None, 1),
    "entities": (200, None, 1),
    "latin1-says-utf8": (200, None, 1),
    "utf8-says-utf16": (200, None, 1),  # no feed in the declared charset: read in its own
    "robots": (None, "disallowed by robots.txt", 0),
}
# What each article must end with: (status, last_error contains, a version stored, by method).
PAGE_OUTCOMES: dict[str, tuple[str, str | None, str | None]] = {
    "/news/flaky.html": ("ok", None, "trafilatura"),
    "/news/busy.html": ("ok", None, "trafilatura"),
    "/news/stall.html": ("ok", None, "trafilatura"),
    "/news/missing.html": ("gone", "HTTP 404", "feed-summary"),
    "/news/gone.html": ("gone", "HTTP 410", None),  # no summary in the feed to fall back on
    "/news/report.pdf": ("failed", "unsupported content type: application/pdf", None),
    "/news/loop-a.html": ("failed", "redirect loop", None),
    "/news/moved.html": ("ok", None, "trafilatura"),
    "/news/huge.html": ("ok", None, "trafilatura"),
    "/news/bomb.html": ("ok", None, "trafilatura"),
    "/news/cut.html": ("pending", "RemoteProtocolError", None),
    "/news/lying.html": ("ok", None, "trafilatura"),
    "/private/secret.html": ("failed", "disallowed by robots.txt", None),
    "/news/dup-first.html": ("ok", None, "trafilatura"),
    "/news/plain.html": ("ok", None, "trafilatura"),
    "/news/kirby.html": ("ok", None, "trafilatura"),
    "/news/kimyojong.html": ("ok", None, "trafilatura"),
    "/news/g7.html": ("ok", None, "trafilatura"),
}


@pytest.mark.slow
def test_fault_site_cycle_completes_and_records_every_outcome(fault_site, tmp_path):
    """20 feed faults and 18 page outcomes in one cycle; a second cycle duplicates nothing."""
    db = tmp_path / "w.duckdb"
    sources = substituted(FAULTS / "sources.toml", tmp_path / "sources.toml", fault_site.base_url)
    first = monitor(sources=str(sources), db=str(db))
    assert first.counts.feeds == len(FEED_OUTCOMES)

    polls = {r[0]: r[1:] for r in query(
        db, "SELECT source, http_status, error, bozo, entries_seen FROM feed_polls")}
    entries = dict(query(db, "SELECT source, count(*) FROM feed_entries GROUP BY 1"))
    assert set(polls) == set(FEED_OUTCOMES)
    for name, (status, error, stored) in FEED_OUTCOMES.items():
        got_status, got_error, _bozo, seen = polls[name]
        assert got_status == status, (name, polls[name])
        if error is None:
            assert got_error is None, (name, got_error)
        else:
            assert got_error is not None and error in got_error, (name, got_error)
        assert seen == stored and entries.get(name, 0) == stored, (name, seen, entries.get(name))
    # Partly read feeds are kept and flagged: cut XML, bodies past the size cap, bomb, encodings.
    assert "body cut at 10485760 bytes" in polls["big"][2]
    assert "body cut at 10485760 bytes" in polls["bomb"][2]
    assert polls["truncated"][2] and polls["latin1-says-utf8"][2] and polls["entities"][2]
    [(lied_title,)] = query(db, "SELECT title FROM feed_entries WHERE source = 'utf8-says-utf16'")
    assert lied_title == "White House: North Korean missiles fired at Ukraine"
    # No entity was expanded, and the external one was not read.
    [(title, summary)] = query(db, "SELECT title, summary FROM feed_entries "
                                   "WHERE source = 'entities'")
    assert len(title or "") < 200 and "root:" not in (title or "") + (summary or "")
    [(latin1_title,)] = query(db, "SELECT title FROM feed_entries "
                                  "WHERE source = 'latin1-says-utf8'")
    assert "Außenminister" in latin1_title  # decoded as what it is, not what it claims

    base = fault_site.base_url
    articles = {url.removeprefix(base): rest for url, *rest in query(
        db, "SELECT canonical_url, status, last_error, failures, next_check_at, final_url "
            "FROM articles")}
    assert set(articles) == set(PAGE_OUTCOMES)  # nothing from javascript:, data:, file:, dups
    versions = {url.removeprefix(base): (method, text) for url, method, text in query(
        db, "SELECT a.canonical_url, v.method, v.text FROM article_versions v "
            "JOIN articles a USING (article_id)")}
    for path, (status, error, method) in PAGE_OUTCOMES.items():
        got_status, got_error, *_ = articles[path]
        assert got_status == status, (path, articles[path])
        if error is not None:
            assert got_error is not None and error in got_error, (path, got_error)
        assert (versions.get(path) or (None,))[0] == method, (path, versions.get(path))
    # The transient failure is queued for a retry, the permanent ones are not.
    assert articles["/news/cut.html"][2] == 1 and articles["/news/cut.html"][3] is not None
    assert articles["/news/report.pdf"][3] is None and articles["/news/gone.html"][3] is None
    assert articles["/news/moved.html"][4] == f"{base}/news/kimyojong.html"
    # The start of the 11 MB page and of the bomb still carries the article.
    assert "strongly condemned the export" in versions["/news/huge.html"][1]
    assert "about 20 North Korean ballistic missiles" in versions["/news/bomb.html"][1]
    assert "summary stays" in versions["/news/missing.html"][1]
    assert "Дмитрий Песков" in versions["/news/lying.html"][1]  # cp1251 read as cp1251
    speakers = " ".join(s or "" for (s,) in query(db, "SELECT speaker FROM statements"))
    assert "Kirby" in speakers and "Kostin" in speakers
    # No request ever left for another host, and the refused ones never left at all.
    paths = fault_site.paths()
    assert not any(p.startswith("/private/") for p in paths)
    assert "/news/dup-second.html" not in paths and "/news/unreachable.html" not in paths

    counts_before = trials.counts(db)
    second = monitor(sources=str(sources), db=str(db), recheck_all=True)
    assert second.counts.feeds == len(FEED_OUTCOMES)
    assert query(db, "SELECT count(*) FROM feed_polls")[0][0] == 2 * len(FEED_OUTCOMES)
    after = trials.counts(db)
    assert after == counts_before, "a second cycle over the same faults added rows"
    assert trials.violations(db, finished=False) == {}
    # The page that broke mid-body is still queued, its failures counted again.
    assert query(db, "SELECT status, failures FROM articles WHERE canonical_url = ?",
                 [f"{base}/news/cut.html"]) == [("pending", 2)]


@pytest.mark.slow
def test_stalls_past_the_read_timeout_are_retried(tmp_path):
    """A feed and a page that go silent for longer than the 20 s read timeout, then answer."""
    with ReplayServer([FAULTS / "site"]) as server:
        small = (FAULTS / "site/feeds/small.xml").read_bytes().replace(
            b"__BASE__", server.base_url.encode())
        page = (FAULTS / "site/news/kirby.html").read_bytes()
        html = "text/html; charset=utf-8"
        # The feed sends no headers for 25 s; the page stops after 300 bytes for 25 s.
        server.add_route("/feeds/silent.xml", sequence(
            slow(25, respond(200, small, content_type="application/rss+xml")),
            respond(200, small, content_type="application/rss+xml")))
        server.add_route("/news/kirby.html", sequence(
            stall(page, 300, 25, html), respond(200, page, content_type=html)))
        sources = write_sources(tmp_path / "sources.toml",
                                {"silent": server.url("/feeds/silent.xml")},
                                allow_private_hosts=True, min_delay_seconds=0)
        db = tmp_path / "w.duckdb"
        result = monitor(sources=str(sources), db=str(db))
        assert server.paths().count("/feeds/silent.xml") == 2
        assert server.paths().count("/news/kirby.html") == 2
    assert result.counts.feeds_failed == 0 and result.counts.fetched == 1
    assert query(db, "SELECT http_status, error FROM feed_polls") == [(200, None)]
    assert query(db, "SELECT status, failures FROM articles") == [("ok", 0)]


def test_lineage_of_a_cycle_with_many_sources_is_recorded(tmp_path, monkeypatch, caplog):
    """120 healthy sources: the cycle logs no error and its asset event is not dropped."""
    monkeypatch.setenv("ARMSWATCH_MAX_ARTICLES_PER_RUN", "0")
    with ReplayServer([FAULTS / "site"]) as server:
        sources = write_sources(
            tmp_path / "sources.toml",
            {f"s{i:03d}": server.url(f"/feeds/small.xml?copy={i}") for i in range(120)},
            allow_private_hosts=True, min_delay_seconds=0, per_host_concurrency=16,
        )
        with caplog.at_level(logging.ERROR):
            result = monitor(sources=str(sources), db=str(tmp_path / "w.duckdb"))
    assert result.counts.feeds == 120 and result.counts.feeds_failed == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


# ---------------------------------------------------------------------------
# SSRF at flow level
# ---------------------------------------------------------------------------


def test_cycle_with_private_hosts_off_never_reaches_loopback(tmp_path):
    """Every spelling of the loopback server is refused: refusals recorded, no request served."""
    with ReplayServer([FAULTS / "site"]) as server:
        port = urlsplit(server.base_url).port
        spellings = {
            "ipv4": f"http://127.0.0.1:{port}",
            "localhost": f"http://localhost:{port}",
            "localhost-dot": f"http://localhost.:{port}",
            "loopback-net": f"http://127.0.0.2:{port}",
            "ipv6": f"http://[::1]:{port}",
            "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{port}",
            "decimal": f"http://2130706433:{port}",
            "hex": f"http://0x7f.0.0.1:{port}",
            "short": f"http://127.1:{port}",
        }
        sources = write_sources(
            tmp_path / "sources.toml",
            {name: f"{base}/feeds/main.xml" for name, base in spellings.items()},
            allow_private_hosts=False, min_delay_seconds=0,
        )
        db = tmp_path / "w.duckdb"
        result = monitor(sources=str(sources), db=str(db))
        assert server.requests == []
    assert result.counts.feeds == result.counts.feeds_failed == len(spellings)
    polls = dict(query(db, "SELECT source, error FROM feed_polls WHERE http_status IS NULL"))
    assert set(polls) == set(spellings)
    for name, error in polls.items():
        assert error.startswith("refused"), (name, error)
    assert query(db, "SELECT count(*) FROM articles") == [(0,)]


# ---------------------------------------------------------------------------
# the demo corpus behind a gate: crashes and concurrent runs
# ---------------------------------------------------------------------------


class DemoSite:
    """The demo corpus on a ReplayServer behind a Gate, with uninterrupted baselines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = ReplayServer([DEMO / "base"])
        self.server.start()
        self.gate = Gate(self.server, [DEMO / "cycle2", DEMO / "base"])
        self.sources = substituted(DEMO / "sources.toml", root / "sources.toml",
                                   self.server.base_url)
        self.baseline: dict[int, Path] = {}

    def cycle(self, n: int) -> None:
        """Serve what the demo serves in cycle n."""
        self.gate.layers = [DEMO / "base"] if n == 1 else [DEMO / "cycle2", DEMO / "base"]

    def args(self, n: int, db: Path) -> list[str]:
        return ["run", "--sources", str(self.sources), "--db", str(db),
                *(["--recheck-all"] if n == 2 else [])]

    def run(self, n: int, db: Path):
        """One cycle in this process (the session's Prefect harness)."""
        self.cycle(n)
        return monitor(sources=str(self.sources), db=str(db), recheck_all=n == 2)


BATCH = "4"  # 13 pages in cycle 1 make batches of 4, 4, 4 and 1


@pytest.fixture(scope="module")
def demo_site(prefect_harness, tmp_path_factory) -> Iterator[DemoSite]:
    site = DemoSite(tmp_path_factory.mktemp("demo"))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ARMSWATCH_BATCH_SIZE", BATCH)
            for n in (1, 2):
                db = site.root / f"baseline-{n}.duckdb"
                if n == 2:
                    shutil.copy(site.baseline[1], db)
                site.run(n, db)
                assert trials.violations(db) == {}
                site.baseline[n] = db
        yield site
    finally:
        site.gate.open()
        site.server.close()


def crash_env() -> dict[str, str]:
    return harness_env(ARMSWATCH_BATCH_SIZE=BATCH)


@pytest.mark.parametrize(
    ("cycle", "where", "nth", "committed"),
    [
        pytest.param(1, is_feed, 4, 0, id="cycle1-during-feed-polls"),
        # Batch k+1 is fetched while batch k is processed, before it is written:
        # the 9th page request (batch 3) finds batch 1 committed and batch 2 in flight.
        pytest.param(1, is_page, 9, 4, id="cycle1-batch-two-in-flight"),
        pytest.param(2, is_page, 9, 4, id="cycle2-recheck-batch-two-in-flight"),
    ],
)
def test_sigkill_then_rerun_loses_and_duplicates_nothing(
    demo_site, tmp_path, monkeypatch, cycle, where, nth, committed
):
    """SIGKILL while the run waits on the n-th request; a rerun ends where an unbroken run does."""
    db = tmp_path / "w.duckdb"
    if cycle == 2:
        shutil.copy(demo_site.baseline[1], db)
    before = trials.counts(db) if db.exists() else None
    demo_site.cycle(cycle)
    demo_site.gate.hold(where, nth)
    with children() as started:
        child = Child(demo_site.args(cycle, db), crash_env(), tmp_path / "killed.log")
        started.append(child)
        child.until(demo_site.gate.reached.is_set, "the held request")
        child.kill()
    demo_site.gate.open()

    # What was committed before the kill is there, whole; nothing of the batch in flight.
    assert trials.violations(db, finished=False) == {}
    if cycle == 1 and committed == 0:
        assert query(db, "SELECT count(*) FROM articles") == [(0,)]
    elif cycle == 1:
        assert query(db, "SELECT count(*) FROM articles WHERE status <> 'pending'") == [
            (committed,)]
    else:
        assert trials.counts(db)["article_versions"] >= before["article_versions"]
        assert query(db, "SELECT count(*) FROM articles WHERE last_fetched_at > "
                         "(SELECT max(polled_at) FROM feed_polls)")[0][0] >= committed

    # The rerun is not refused (the kernel dropped the dead run's lock) and repairs the rest.
    monkeypatch.setenv("ARMSWATCH_BATCH_SIZE", BATCH)
    demo_site.run(cycle, db)
    assert trials.violations(db) == {}
    comparison = trials.compare(trials.fingerprint(demo_site.baseline[cycle]),
                                trials.fingerprint(db))
    assert comparison.equal, comparison.describe()


def test_statements_stored_by_a_killed_run_are_still_announced(demo_site, tmp_path, monkeypatch):
    """Notices are at-least-once: a crash between writing and publishing must not swallow any."""
    hook = demo_site.server.base_url.replace("http://", "json://") + "/hook"
    notify = json.dumps([hook])
    db = tmp_path / "w.duckdb"
    demo_site.cycle(1)
    # Batch 1's statements committed and batch 2 in flight; none announced yet.
    demo_site.gate.hold(is_page, 9)
    demo_site.server.clear_requests()
    with children() as started:
        child = Child(demo_site.args(1, db), crash_env() | {"ARMSWATCH_NOTIFY_URLS": notify},
                      tmp_path / "killed.log")
        started.append(child)
        child.until(demo_site.gate.reached.is_set, "the held request")
        child.kill()
    demo_site.gate.open()
    monkeypatch.setenv("ARMSWATCH_BATCH_SIZE", BATCH)
    monkeypatch.setenv("ARMSWATCH_NOTIFY_URLS", notify)
    demo_site.run(1, db)
    titles = [json.loads(r.body)["title"] for r in demo_site.server.requests
              if r.method == "POST" and r.path == "/hook"]
    announced = sum(int(t.split()[1]) for t in titles)  # "armswatch: 12 new statements"
    [(stored,)] = query(db, "SELECT count(*) FROM statements")
    assert announced == stored, titles


def test_second_run_exits_with_a_clear_message(demo_site, tmp_path):
    """`armswatch run` while another run holds the warehouse: exit 3, the holder named, no write."""
    db = tmp_path / "w.duckdb"
    with children() as started, Warehouse(str(db)).run_lock():
        child = Child(demo_site.args(1, db), harness_env(), tmp_path / "second.log")
        started.append(child)
        rc = child.wait()
    assert rc == 3, child.text[-3000:]
    assert (f"another run is writing {db} (pid {os.getpid()}); not starting a second run "
            "(use --wait to queue behind it)") in " ".join(child.text.split())
    assert not db.exists()


def test_refused_run_is_not_a_failed_flow_run(demo_site, tmp_path):
    """A run that stands aside for another is not a failure: no traceback, no Failed state."""
    db = tmp_path / "w.duckdb"
    with children() as started, Warehouse(str(db)).run_lock():
        child = Child(demo_site.args(1, db), harness_env(), tmp_path / "second.log")
        started.append(child)
        rc = child.wait()
    assert rc == 3
    assert "Traceback" not in child.text and "Failed(" not in child.text, child.text[-3000:]


@pytest.mark.slow
def test_two_runs_started_at_once(demo_site, tmp_path):
    """Two `armswatch run` started together: one runs, one exits 3; the warehouse is one run's."""
    db = tmp_path / "w.duckdb"
    demo_site.cycle(1)
    demo_site.gate.hold(is_page, 1)  # the winner holds the lock until the loser has left
    with children() as started:
        a = Child(demo_site.args(1, db), harness_env(), tmp_path / "a.log")
        b = Child(demo_site.args(1, db), harness_env(), tmp_path / "b.log")
        started += [a, b]
        deadline = time.monotonic() + 240
        while a.proc.poll() is None and b.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        demo_site.gate.open()
        codes = sorted(((a.wait(), a), (b.wait(), b)), key=lambda pair: pair[0])
    (winner_rc, winner), (loser_rc, loser) = codes
    assert (winner_rc, loser_rc) == (0, 3), (winner.text[-2000:], loser.text[-2000:])
    assert f"(pid {winner.proc.pid})" in loser.text
    assert "not starting a second run" in loser.text
    assert trials.violations(db) == {}
    assert query(db, "SELECT count(DISTINCT run_id), count(*) FROM feed_polls") == [(1, 6)]
    comparison = trials.compare(trials.fingerprint(demo_site.baseline[1]), trials.fingerprint(db))
    assert comparison.equal, comparison.describe()


def test_two_waiting_runs_queue_one_behind_the_other(demo_site, tmp_path):
    """With --wait both runs complete, one after the other, and the second adds no duplicate."""
    db = tmp_path / "w.duckdb"
    demo_site.cycle(1)
    demo_site.gate.hold(is_page, 1)
    with children() as started:
        a = Child([*demo_site.args(1, db), "--wait"], harness_env(), tmp_path / "a.log")
        b = Child([*demo_site.args(1, db), "--wait"], harness_env(), tmp_path / "b.log")
        started += [a, b]
        a.until(demo_site.gate.reached.is_set, "a run holding the lock")
        b.until(lambda: a.began() and b.began(), "both runs under way")
        demo_site.gate.open()
        assert (a.wait(), b.wait()) == (0, 0), (a.text[-2000:], b.text[-2000:])
    assert trials.violations(db) == {}
    runs = query(db, "SELECT run_id, min(polled_at), max(polled_at) FROM feed_polls "
                     "GROUP BY run_id ORDER BY 2")
    assert len(runs) == 2
    # The second run polled only after the first had fetched and written everything.
    [(last_fetch,)] = query(db, "SELECT max(last_fetched_at) FROM articles")
    assert runs[1][1] > last_fetch
    comparison = trials.compare(trials.fingerprint(demo_site.baseline[1]), trials.fingerprint(db))
    assert comparison.equal, comparison.describe()


@pytest.mark.slow
def test_reader_queries_while_a_run_writes(demo_site, tmp_path):
    """Readers in this process and `armswatch sql` succeed mid-run and see only whole batches."""
    db = tmp_path / "w.duckdb"
    demo_site.cycle(1)
    # Batch 1 written, batch 2 processed but not yet written: the run is mid-cycle.
    demo_site.gate.hold(is_page, 9)
    seen: list[int] = []
    with children() as started:
        writer = Child(demo_site.args(1, db), crash_env(), tmp_path / "writer.log")
        started.append(writer)
        writer.until(demo_site.gate.reached.is_set, "the held request")
        assert query(db, "SELECT count(*) FROM articles WHERE status <> 'pending'") == [(4,)]
        assert trials.violations(db, finished=False) == {}
        sql = subprocess.run(
            [sys.executable, "-m", "armswatch.cli", "sql", "--db", str(db), "--format", "csv",
             "SELECT count(*) AS versions FROM article_versions"],
            capture_output=True, text=True, timeout=120, env=harness_env(),
        )
        assert sql.returncode == 0, sql.stderr
        assert sql.stdout.split() == ["versions", "4"]
        demo_site.gate.open()
        # Keep reading while the run writes its last batches and publishes.
        while writer.proc.poll() is None:
            seen.append(query(db, "SELECT count(*) FROM article_versions")[0][0])
            time.sleep(0.05)  # a busy dashboard, not a reader that never lets go
        assert writer.wait() == 0, writer.text[-3000:]
    assert seen == sorted(seen) and all(4 <= n <= 13 for n in seen)
    assert trials.violations(db) == {}


def test_on_busy_from_the_environment_is_honoured(demo_site, tmp_path):
    """ARMSWATCH_ON_BUSY=wait makes `armswatch run` queue, as `--wait` does."""
    db = tmp_path / "w.duckdb"
    with children() as started:
        with Warehouse(str(db)).run_lock():
            child = Child(demo_site.args(1, db), harness_env(ARMSWATCH_ON_BUSY="wait"),
                          tmp_path / "second.log")
            started.append(child)
            child.until(child.began, "the flow run")
            time.sleep(2)  # give it the time to find the lock held
            assert child.proc.poll() is None, child.text[-2000:]
        assert child.wait() == 0, child.text[-2000:]


# ---------------------------------------------------------------------------
# upgrades
# ---------------------------------------------------------------------------

# A realistic next migration: new columns backfilled from existing data, a new
# table filled from an existing one, and a new view.
HOSTS_AND_REVIEWS = ("9000_hosts_and_reviews", """
ALTER TABLE articles ADD COLUMN host VARCHAR;
UPDATE articles SET host = lower(regexp_extract(canonical_url, '^[a-z]+://([^/]+)', 1));
ALTER TABLE article_versions ADD COLUMN word_count INTEGER;
UPDATE article_versions SET word_count = len(regexp_split_to_array(trim(text), '\\s+'));
CREATE TABLE statement_reviews (
    statement_id  VARCHAR PRIMARY KEY,
    reviewed      BOOLEAN NOT NULL DEFAULT false,
    note          VARCHAR
);
INSERT INTO statement_reviews (statement_id) SELECT statement_id FROM statements;
CREATE VIEW articles_by_host AS SELECT host, count(*) AS articles FROM articles GROUP BY host;
""")


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "ORDER BY 1").fetchall()]
    return {t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()] for t in names}


def snapshot(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]]) -> dict[str, list]:
    """Every row of every table, on the given columns, in a stable order."""
    return {
        t: con.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY ALL").fetchall()
        for t, cols in columns.items()
    }


def full_state(db: Path) -> dict[str, object]:
    """Tables, their columns and rows, views and their SQL: all a migration may change."""
    with Warehouse(str(db)).connect(read_only=True) as con:
        shape = tables(con)
        views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                            "ORDER BY 1").fetchall()
        return {"tables": shape, "rows": snapshot(con, shape), "views": views}


@pytest.fixture(scope="module")
def site_server() -> Iterator[ReplayServer]:
    """tests/fixtures/site on one port for the whole module, so its URLs stay the same."""
    with ReplayServer([SITE / "v2", SITE / "v1"]) as server:
        yield server


def site_cycle(server: ReplayServer, db: Path, version: int) -> None:
    server.set_layers([SITE / "v1"] if version == 1 else [SITE / "v2", SITE / "v1"])
    monitor(sources=str(SITE / "sources.toml"), db=str(db),
            substitutions={"__BASE__": server.base_url}, recheck_all=version == 2)


@pytest.fixture(scope="module")
def filled_warehouse(prefect_harness, site_server, tmp_path_factory) -> Path:
    """A warehouse at the current schema after two real cycles (with a diff) of the fixture site."""
    db = tmp_path_factory.mktemp("filled") / "current.duckdb"
    site_cycle(site_server, db, 1)
    site_cycle(site_server, db, 2)
    assert query(db, "SELECT count(*) FROM article_diffs") == [(1,)]
    return db


# migrate() outside a flow run logs through Prefect's API handler, which warns about it.
outside_a_flow = pytest.mark.filterwarnings("ignore:Logger 'armswatch.warehouse':UserWarning")


@outside_a_flow
def test_warehouse_of_schema_0001_migrates_forward_with_all_its_data(
    filled_warehouse, site_server, tmp_path
):
    """The rows of a 0001 warehouse survive every later migration, and the flow runs on it."""
    old = tmp_path / "old.duckdb"
    first = dbmod.migrations()[:1]
    assert first[0][0] == "0001_initial"
    with contextlib.closing(duckdb.connect(str(old))) as con:
        dbmod.migrate(con, first)
        shape = {t: cols for t, cols in tables(con).items() if t != "schema_migrations"}
        con.execute(f"ATTACH '{filled_warehouse}' AS cur (READ_ONLY)")
        for t, cols in shape.items():
            listed = ", ".join(cols)
            con.execute(f"INSERT INTO main.{t} ({listed}) SELECT {listed} FROM cur.main.{t}")
        con.execute("DETACH cur")
        before = snapshot(con, shape)
        changes_before = con.execute("SELECT * FROM article_changes ORDER BY ALL").fetchall()
        statements_before = con.execute("SELECT * FROM new_statements ORDER BY ALL").fetchall()
    assert before["articles"] and before["article_versions"] and before["statement_sightings"]

    with contextlib.closing(duckdb.connect(str(old))) as con:
        applied = dbmod.migrate(con, [*dbmod.migrations(), HOSTS_AND_REVIEWS])
        assert applied == [name for name, _ in dbmod.migrations()[1:]] + [HOSTS_AND_REVIEWS[0]]
        assert snapshot(con, shape) == before  # every row of every table, every column kept
        assert con.execute("SELECT * FROM article_changes ORDER BY ALL").fetchall() == (
            changes_before)
        assert con.execute("SELECT * FROM new_statements ORDER BY ALL").fetchall() == (
            statements_before)
        # The backfills are right for every row.
        for url, host in con.execute("SELECT canonical_url, host FROM articles").fetchall():
            assert host == urlsplit(url).netloc
        for text, words in con.execute("SELECT text, word_count FROM article_versions").fetchall():
            assert words == len(text.split())
        assert con.execute("SELECT count(*) FROM statement_reviews").fetchone() == (
            len(before["statements"]),)
        host_counts = con.execute("SELECT sum(articles) FROM articles_by_host").fetchone()
        assert host_counts == (len(before["articles"]),)

    # The monitor runs on the upgraded warehouse: its rerun adds nothing and breaks nothing.
    site_cycle(site_server, old, 2)
    assert trials.violations(old, finished=False) == {}
    with Warehouse(str(old)).connect(read_only=True) as con:
        after = snapshot(con, shape)
        assert con.execute("SELECT count(*) FROM articles WHERE host IS NULL").fetchone() == (0,)
    for t, rows in after.items():
        if t in ("feed_polls", "runs"):  # logs: the rerun appends to them
            assert set(before[t]) <= set(rows), t
        elif t in ("sources", "articles", "feed_entries"):  # poll and fetch times move on
            assert len(rows) == len(before[t]), t
        else:
            assert rows == before[t], t


@outside_a_flow
def test_failed_migration_leaves_the_previous_state_intact(filled_warehouse, tmp_path):
    """DDL, backfills, deletes, a replaced view, then an error: all rolled back, on disk."""
    db = tmp_path / "w.duckdb"
    shutil.copy(filled_warehouse, db)
    with contextlib.closing(duckdb.connect(str(db))) as con:
        assert dbmod.migrate(con, [*dbmod.migrations(), HOSTS_AND_REVIEWS]) == [
            HOSTS_AND_REVIEWS[0]]
    before = full_state(db)
    broken = ("9001_broken", """
        ALTER TABLE articles ADD COLUMN region VARCHAR;
        UPDATE articles SET region = 'asia', title = 'overwritten';
        DELETE FROM statement_sightings;
        DELETE FROM statement_reviews;
        ALTER TABLE statement_reviews DROP COLUMN note;
        DROP VIEW articles_by_host;
        CREATE OR REPLACE VIEW new_statements AS SELECT 1 AS broken;
        CREATE TABLE article_regions AS SELECT article_id, region FROM articles;
        SELECT no_such_column FROM articles;
    """)
    later = ("9002_after", "CREATE TABLE never_applied (x INTEGER);")
    with (
        contextlib.closing(duckdb.connect(str(db))) as con,
        pytest.raises(MigrationError, match="9001_broken"),
    ):
        dbmod.migrate(con, [*dbmod.migrations(), HOSTS_AND_REVIEWS, broken, later])
    # Read back from the file by a new connection: exactly the state before, nothing after it.
    assert full_state(db) == before
    # The corrected migration then applies, and so does the next.
    fixed = (broken[0], broken[1].replace("SELECT no_such_column FROM articles;", ""))
    with contextlib.closing(duckdb.connect(str(db))) as con:
        assert dbmod.migrate(con, [*dbmod.migrations(), HOSTS_AND_REVIEWS, fixed, later]) == [
            "9001_broken", "9002_after"]


@outside_a_flow
def test_migration_killed_midway_leaves_the_previous_state(filled_warehouse, tmp_path):
    """SIGKILL after a migration altered and rewrote a table, before it committed."""
    db = tmp_path / "w.duckdb"
    shutil.copy(filled_warehouse, db)
    before = full_state(db)
    marker = tmp_path / "altered.csv"
    slow_migration = f"""
        ALTER TABLE articles ADD COLUMN host VARCHAR;
        UPDATE articles SET host = 'rewritten', title = 'rewritten';
        DELETE FROM statement_sightings;
        COPY (SELECT 'altered' AS step) TO '{marker}' (HEADER false);
        CREATE TABLE endless AS
            SELECT sum(a.range * b.range * c.range) AS n
            FROM range(100000) a, range(100000) b, range(100000) c;
    """
    script = (
        "import duckdb\n"
        "from armswatch.warehouse import db as dbmod\n"
        f"con = duckdb.connect({str(db)!r})\n"
        f"dbmod.migrate(con, [*dbmod.migrations(), ('9003_slow', {slow_migration!r})])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the migration never reached its slow step"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(60)
    assert full_state(db) == before
    # The next start applies it from scratch (here without the endless part).
    quick = slow_migration.split("COPY")[0]
    with contextlib.closing(duckdb.connect(str(db))) as con:
        assert dbmod.migrate(con, [*dbmod.migrations(), ("9003_slow", quick)]) == ["9003_slow"]
        assert con.execute("SELECT DISTINCT host FROM articles").fetchall() == [("rewritten",)]


# ---------------------------------------------------------------------------
# bad configuration
# ---------------------------------------------------------------------------

runner = CliRunner()


def test_missing_sources_file_from_the_environment_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "sources.toml"
    out = runner.invoke(app, ["run", "--db", str(tmp_path / "w.duckdb")],
                        env={"ARMSWATCH_SOURCES": str(missing)})
    assert out.exit_code == 2
    assert f"sources file not found: {missing}" in " ".join(out.stderr.split())
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ARMSWATCH_BATCH_SIZE", "two hundred", "batch_size"),
        ("ARMSWATCH_BATCH_SIZE", "0", "batch_size"),
        ("ARMSWATCH_ON_BUSY", "sometimes", "on_busy"),
        ("ARMSWATCH_MAX_ARTICLES_PER_RUN", "-1", "max_articles_per_run"),
        ("ARMSWATCH_NOTIFY_URLS", "not json", "notify_urls"),
        ("ARMSWATCH_PROFILE", "no_such_profile", "no_such_profile"),
    ],
)
def test_bad_environment_values_are_refused_before_anything_runs(tmp_path, variable, value,
                                                                  named):
    sources = write_sources(tmp_path / "sources.toml",
                            {"local": "http://127.0.0.1:9/feed.xml"}, allow_private_hosts=True)
    db = tmp_path / "w.duckdb"
    out = runner.invoke(app, ["run", "--sources", str(sources), "--db", str(db)],
                        env={variable: value})
    assert out.exit_code == 2, out.output[-2000:]
    assert named in out.stderr.lower() and "Traceback" not in out.output
    assert not db.exists()


@pytest.mark.parametrize("url", [
    "https://exa mple.org/feed",
    "https:///feed.xml",
    "https://example.org:99999/feed",
    "http://[::1/feed",
])
def test_bad_source_urls_are_refused_when_the_file_is_read(tmp_path, url):
    sources = write_sources(tmp_path / "sources.toml", {"bad": url})
    with pytest.raises(ConfigError, match=r"source\.0\.url"):
        load_sources(sources)


def test_gzip_bomb_helper_inflates_as_claimed():
    """The bombs above are what they say: small on the wire, past the size cap inflated."""
    bomb = gzip_bomb(b"<rss>", 64 * MB, b"</rss>")
    assert len(bomb) < 128 * 1024
    assert len(gzip.decompress(bomb)) == 64 * MB + len(b"<rss></rss>")
