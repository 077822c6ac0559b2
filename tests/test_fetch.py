"""Page fetching: conditional GET, failures, robots.txt, content types, politeness."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from armswatch.demo.server import redirect, respond, sequence, slow
from armswatch.tasks.fetch import fetch_pages, sniff_content_type
from armswatch.tasks.http import HttpPolicy
from armswatch.tasks.models import FetchRequest

ARTICLE = (
    "<!doctype html><html><body><article><p>Pyongyang shipped shells.</p></article></body></html>"
)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@pytest.fixture
def pages(site_dir: Path) -> Path:
    (site_dir / "news").mkdir()
    (site_dir / "news/a.html").write_text(ARTICLE)
    (site_dir / "news/b.html").write_text(ARTICLE.replace("shells", "missiles"))
    (site_dir / "news/notes.txt").write_text("plain text notes")
    (site_dir / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    return site_dir


def req(server, path: str, article_id: str = "a1", **kw) -> FetchRequest:
    return FetchRequest(article_id, server.url(path), "world", **kw)


def test_fetches_a_page(replay_server, pages, local_policy):
    [page] = fetch_pages([req(replay_server, "/news/a.html")], local_policy)
    assert (page.status, page.error, page.permanent, page.not_modified) == (200, None, False, False)
    assert page.body == ARTICLE.encode()
    assert (page.content_type, page.encoding) == ("text/html", "utf-8")
    assert page.final_url == page.url == replay_server.url("/news/a.html")
    assert page.etag and page.last_modified and page.article_id == "a1"
    assert page.fetched_at.tzinfo is not None


def test_304_with_etag(replay_server, pages, local_policy):
    [first] = fetch_pages([req(replay_server, "/news/a.html")], local_policy)
    [again] = fetch_pages([req(replay_server, "/news/a.html", etag=first.etag)], local_policy)
    assert (again.status, again.not_modified, again.body, again.error) == (304, True, None, None)
    assert again.etag == first.etag
    assert [r for r in replay_server.requests if r.path == "/news/a.html"][-1].headers[
        "if-none-match"
    ] == first.etag


def test_304_with_last_modified(replay_server, pages, local_policy):
    [first] = fetch_pages([req(replay_server, "/news/a.html")], local_policy)
    [again] = fetch_pages(
        [req(replay_server, "/news/a.html", last_modified=first.last_modified)], local_policy
    )
    assert again.not_modified and again.last_modified == first.last_modified


@pytest.mark.parametrize(
    ("status", "permanent"), [(404, True), (410, True), (403, True), (503, False), (429, False)]
)
def test_http_errors(replay_server, local_policy, status, permanent):
    replay_server.add_route("/page", respond(status))
    [page] = fetch_pages([req(replay_server, "/page")], replace(local_policy, retries=0))
    assert (page.status, page.error, page.permanent, page.body) == (
        status,
        f"HTTP {status}",
        permanent,
        None,
    )


def test_500_then_200_is_retried(replay_server, local_policy):
    replay_server.add_route(
        "/page", sequence(respond(500), respond(200, ARTICLE, content_type="text/html"))
    )
    [page] = fetch_pages([req(replay_server, "/page")], local_policy)
    assert (page.status, page.error, page.body) == (200, None, ARTICLE.encode())
    assert replay_server.paths().count("/page") == 2


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (PDF, "application/pdf", "unsupported content type: application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png", "unsupported content type: image/png"),
        (
            b"\x00\x01\x02",
            "application/octet-stream",
            "unsupported content type: application/octet-stream",
        ),
        (PDF, None, "unsupported content type: application/pdf"),
    ],
)
def test_wrong_content_type_is_permanent(replay_server, local_policy, body, content_type, error):
    replay_server.add_route("/file", respond(200, body, content_type=content_type))
    [page] = fetch_pages([req(replay_server, "/file")], local_policy)
    assert (page.error, page.permanent, page.body) == (error, True, None)


def test_text_types_are_accepted(replay_server, pages, local_policy):
    replay_server.add_route(
        "/x", respond(200, "<html/>", content_type="application/xhtml+xml; charset=ISO-8859-1")
    )
    plain, xhtml = fetch_pages(
        [req(replay_server, "/news/notes.txt"), req(replay_server, "/x", "a2")], local_policy
    )
    assert (plain.content_type, plain.body) == ("text/plain", b"plain text notes")
    assert (xhtml.content_type, xhtml.encoding) == ("application/xhtml+xml", "iso-8859-1")


def test_charset_from_headers(replay_server, local_policy):
    body = "<p>Северная Корея</p>".encode("windows-1251")
    replay_server.add_route(
        "/ru", respond(200, body, content_type="text/html; charset=windows-1251")
    )
    [page] = fetch_pages([req(replay_server, "/ru")], local_policy)
    assert (
        page.encoding == "windows-1251"
        and page.body.decode(page.encoding) == "<p>Северная Корея</p>"
    )


def test_no_charset_leaves_encoding_open(replay_server, local_policy):
    replay_server.add_route("/p", respond(200, ARTICLE, content_type="text/html"))
    [page] = fetch_pages([req(replay_server, "/p")], local_policy)
    assert page.encoding is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"%PDF-1.4", "application/pdf"),
        (b"  <!DOCTYPE html><html>", "text/html"),
        (b"<div><body>x</body></div>", "text/html"),
        (b"just words", "text/plain"),
        (b"\x00\x00\x00binary", "application/octet-stream"),
    ],
)
def test_sniff_content_type(body, expected):
    assert sniff_content_type(body) == expected


def test_robots_disallow_is_permanent(replay_server, pages, local_policy):
    [page] = fetch_pages([req(replay_server, "/private/secret.html")], local_policy)
    assert (page.status, page.error, page.permanent) == (None, "disallowed by robots.txt", True)
    assert "/private/secret.html" not in replay_server.paths()


def test_redirect_gives_the_final_url(replay_server, pages, local_policy):
    replay_server.add_route("/short/a", redirect("/news/a.html", status=301))
    [page] = fetch_pages([req(replay_server, "/short/a")], local_policy)
    assert page.url == replay_server.url("/short/a")
    assert page.final_url == replay_server.url("/news/a.html")
    assert page.body == ARTICLE.encode()


def test_redirect_loop_is_permanent(replay_server, local_policy):
    replay_server.add_route("/a", redirect("/b"))
    replay_server.add_route("/b", redirect("/a"))
    [page] = fetch_pages([req(replay_server, "/a")], local_policy)
    assert page.permanent and page.error.startswith("redirect loop")


def test_size_cap_keeps_the_start(replay_server, local_policy):
    replay_server.add_route("/big", respond(200, "<p>" + "x" * 50_000, content_type="text/html"))
    [page] = fetch_pages([req(replay_server, "/big")], replace(local_policy, max_bytes=1000))
    assert page.error is None and len(page.body) == 1000 and page.body.startswith(b"<p>x")


def test_slow_page_is_a_transient_error(replay_server, local_policy):
    replay_server.add_route("/slow", slow(5, respond(200, ARTICLE)))
    policy = replace(local_policy, read_timeout=0.3, retries=0)
    [page] = fetch_pages([req(replay_server, "/slow")], policy)
    assert (page.status, page.error, page.permanent) == (None, "timed out after 0.3s", False)


def test_refused_address_is_permanent(replay_server, pages):
    [page] = fetch_pages([req(replay_server, "/news/a.html")], HttpPolicy())
    assert page.error == "refused: 127.0.0.1 is a loopback address" and page.permanent
    assert replay_server.requests == []


def test_one_bad_page_among_good_ones(replay_server, pages, local_policy):
    requests = [
        req(replay_server, "/news/a.html", "a"),
        req(replay_server, "/missing.html", "b"),
        FetchRequest("c", "javascript:alert(1)", "world"),
        req(replay_server, "/news/b.html", "d"),
    ]
    fetched = fetch_pages(requests, local_policy)
    assert [p.article_id for p in fetched] == ["a", "b", "c", "d"]
    assert [p.error for p in fetched][:2] == [None, "HTTP 404"]
    assert fetched[2].permanent and fetched[2].error.startswith("refused: only http and https")
    assert b"missiles" in fetched[3].body


def test_per_host_delay_order_and_decisions(replay_server, pages, local_policy):
    policy = replace(local_policy, min_delay_seconds=0.05, per_host_concurrency=1)
    paths = ["/news/a.html", "/news/b.html", "/news/notes.txt", "/news/a.html?again"]
    requests = [req(replay_server, p, f"id{n}") for n, p in enumerate(paths)]
    requests[2] = replace(requests[2], min_delay_seconds=0.15)
    journal = []
    fetched = fetch_pages(requests, policy, journal=journal)

    assert all(p.error is None for p in fetched)
    assert replay_server.paths() == ["/robots.txt", *paths]
    delays = [d for d in journal if d.kind == "delay"]
    assert [d.seconds for d in delays] == [0.05, 0.05, 0.05, 0.15, 0.05]
    for before, after in pairwise(delays):
        assert after.at - before.at >= after.seconds - 1e-9
