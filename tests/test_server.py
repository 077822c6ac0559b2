"""The replay server: layers, substitutions, validators, request log and fault routes."""

from __future__ import annotations

import http.client
import json
import threading
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from armswatch.demo.server import (
    ReplayServer,
    guess_content_type,
    no_validators,
    redirect,
    respond,
    sequence,
    slow,
    stall,
)

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><link>__BASE__/</link></channel></rss>'
ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>'


def get(
    server: ReplayServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def write(root: Path, path: str, data: bytes) -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def test_binds_loopback_on_a_free_port(replay_server):
    assert replay_server.base_url.startswith("http://127.0.0.1:")
    assert not replay_server.base_url.endswith(":0")


def test_serves_files_with_base_substituted(replay_server, site_dir):
    write(site_dir, "feeds/world.xml", RSS)
    status, headers, body = get(replay_server, "/feeds/world.xml")
    assert status == 200
    assert headers["content-type"] == "application/rss+xml"
    assert body.decode() == RSS.decode().replace("__BASE__", replay_server.base_url)
    assert headers["content-length"] == str(len(body))


def test_extra_substitutions(site_dir):
    write(site_dir, "a.txt", b"__BASE__ __WHO__")
    with ReplayServer([site_dir], substitutions={"__WHO__": "armswatch"}) as server:
        assert get(server, "/a.txt")[2] == f"{server.base_url} armswatch".encode()


def test_binary_files_are_served_unchanged(replay_server, site_dir):
    write(site_dir, "x.pdf", b"%PDF-1.4 __BASE__")
    status, headers, body = get(replay_server, "/x.pdf")
    assert (status, headers["content-type"], body) == (200, "application/pdf", b"%PDF-1.4 __BASE__")


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("a.html", b"<html></html>", "text/html; charset=utf-8"),
        ("rss.xml", RSS, "application/rss+xml"),
        ("rdf.xml", b'<rdf:RDF xmlns:rdf="x"></rdf:RDF>', "application/rss+xml"),
        ("atom.xml", ATOM, "application/atom+xml"),
        ("other.xml", b"<sitemap/>", "application/xml"),
        ("feed.json", b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json"),
        ("data.json", b'{"version": 2}', "application/json"),
        ("bad.json", b"{", "application/json"),
        ("sources.toml", b"x = 1", "application/toml"),
        ("robots.txt", b"", "text/plain; charset=utf-8"),
        ("blob.unknownext", b"\x00", "application/octet-stream"),
    ],
)
def test_content_types(name, body, expected):
    assert guess_content_type(Path(name), body) == expected


def test_first_layer_wins_and_layers_switch(tmp_path):
    base, cycle2 = tmp_path / "base", tmp_path / "cycle2"
    write(base, "a.html", b"base a")
    write(base, "b.html", b"base b")
    write(cycle2, "a.html", b"cycle2 a")
    with ReplayServer([base]) as server:
        assert get(server, "/a.html")[2] == b"base a"
        server.set_layers([cycle2, base])
        assert get(server, "/a.html")[2] == b"cycle2 a"
        assert get(server, "/b.html")[2] == b"base b"


def test_index_html_for_directories(replay_server, site_dir):
    write(site_dir, "news/index.html", b"front page")
    assert get(replay_server, "/news/")[2] == b"front page"


def test_missing_file_and_robots_are_404(replay_server):
    assert get(replay_server, "/nope.html")[0] == 404
    assert get(replay_server, "/robots.txt")[0] == 404


def test_robots_txt_from_layer(replay_server, site_dir):
    write(site_dir, "robots.txt", b"User-agent: *\nDisallow: /private/\n")
    status, _, body = get(replay_server, "/robots.txt")
    assert status == 200 and b"Disallow: /private/" in body


def test_no_escape_from_the_layer(tmp_path):
    root = tmp_path / "root"
    write(root, "in.html", b"inside")
    write(tmp_path, "secret.txt", b"outside")
    with ReplayServer([root]) as server:
        assert get(server, "/../secret.txt")[0] == 404
        assert get(server, "/%2e%2e/secret.txt")[0] == 404


def test_etag_and_last_modified_answer_conditional_gets(replay_server, site_dir):
    write(site_dir, "a.html", b"<p>v1</p>")
    _, headers, _ = get(replay_server, "/a.html")
    etag, last_modified = headers["etag"], headers["last-modified"]
    assert etag.startswith('"') and last_modified.endswith("GMT")

    assert get(replay_server, "/a.html", headers={"If-None-Match": etag})[0] == 304
    assert get(replay_server, "/a.html", headers={"If-None-Match": f'"x", W/{etag}'})[0] == 304
    assert get(replay_server, "/a.html", headers={"If-None-Match": '"other"'})[0] == 200
    assert get(replay_server, "/a.html", headers={"If-Modified-Since": last_modified})[0] == 304
    old = formatdate(time.time() - 86400 * 30, usegmt=True)
    assert get(replay_server, "/a.html", headers={"If-Modified-Since": old})[0] == 200
    # If-None-Match decides when both are sent.
    both = {"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    assert get(replay_server, "/a.html", headers=both)[0] == 200


def test_etag_changes_with_the_content(replay_server, site_dir):
    path = write(site_dir, "a.html", b"v1")
    first = get(replay_server, "/a.html")[1]["etag"]
    path.write_bytes(b"version two")
    assert get(replay_server, "/a.html")[1]["etag"] != first


def test_head_sends_headers_only(replay_server, site_dir):
    write(site_dir, "a.html", b"<p>hello</p>")
    status, headers, body = get(replay_server, "/a.html", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(b"<p>hello</p>"))


def test_request_log(replay_server, site_dir):
    write(site_dir, "a.html", b"x")
    get(replay_server, "/a.html?x=1", headers={"User-Agent": "probe"})
    get(replay_server, "/b.html", method="HEAD")
    log = replay_server.requests
    assert [(r.method, r.path) for r in log] == [("GET", "/a.html?x=1"), ("HEAD", "/b.html")]
    assert log[0].headers["user-agent"] == "probe"
    assert replay_server.paths() == ["/a.html?x=1", "/b.html"]
    replay_server.clear_requests()
    assert replay_server.requests == []


def test_request_log_is_complete_under_concurrency(replay_server, site_dir):
    write(site_dir, "a.html", b"x")
    threads = [
        threading.Thread(target=get, args=(replay_server, f"/a.html?n={n}")) for n in range(40)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replay_server.paths()) == sorted(f"/a.html?n={n}" for n in range(40))


def test_keep_alive(replay_server, site_dir):
    write(site_dir, "a.html", b"x")
    host, port = replay_server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/a.html")
            assert conn.getresponse().read() == b"x"
    finally:
        conn.close()


def test_routes_win_over_files(replay_server, site_dir):
    write(site_dir, "a.html", b"file")
    replay_server.add_route("/a.html", respond(200, "route"))
    assert get(replay_server, "/a.html?q=1")[2] == b"route"
    replay_server.remove_route("/a.html")
    assert get(replay_server, "/a.html")[2] == b"file"


def test_respond_with_status_headers_and_body(replay_server):
    replay_server.add_route("/gone", respond(410, "gone", headers={"X-Why": "removed"}))
    status, headers, body = get(replay_server, "/gone")
    assert (status, headers["x-why"], body) == (410, "removed", b"gone")


def test_sequence_then_repeats_the_last(replay_server):
    replay_server.add_route("/flaky", sequence(respond(500), respond(503), respond(200, "ok")))
    assert [get(replay_server, "/flaky")[0] for _ in range(4)] == [500, 503, 200, 200]


def test_redirect_with_base(replay_server):
    replay_server.add_route("/old", redirect("__BASE__/new", status=301))
    replay_server.add_route("/rel", redirect("/new"))
    status, headers, _ = get(replay_server, "/old")
    assert (status, headers["location"]) == (301, f"{replay_server.base_url}/new")
    assert get(replay_server, "/rel")[1]["location"] == "/new"


def test_no_validators(replay_server):
    replay_server.add_route("/feed", no_validators(RSS))
    status, headers, body = get(replay_server, "/feed")
    assert status == 200 and body == RSS
    assert "etag" not in headers and "last-modified" not in headers


def test_slow_route_answers_late(replay_server):
    replay_server.add_route("/slow", slow(0.2, respond(200, "late")))
    started = time.monotonic()
    assert get(replay_server, "/slow")[2] == b"late"
    assert time.monotonic() - started >= 0.2


def test_stall_sends_part_then_the_rest(replay_server):
    replay_server.add_route("/stall", stall(b"abcdef", after=3, seconds=0.05))
    assert get(replay_server, "/stall")[2] == b"abcdef"


def test_closing_wakes_stalled_handlers(site_dir):
    server = ReplayServer([site_dir])
    server.start()
    server.add_route("/stall", slow(30, respond(200)))
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/stall")
    started = time.monotonic()
    server.close()
    conn.close()
    assert time.monotonic() - started < 5


def test_json_feed_type_is_sniffed_from_the_version(replay_server, site_dir):
    write(site_dir, "feed.json", json.dumps({"version": "https://jsonfeed.org/version/1"}).encode())
    assert get(replay_server, "/feed.json")[1]["content-type"] == "application/feed+json"
