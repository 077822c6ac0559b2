"""The HTTP client: SSRF guard, retries, timeouts, redirects, size caps, robots.txt, politeness."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import logging
import socket
import ssl
import threading
import tracemalloc
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise

import pytest

from armswatch.demo.server import (
    ReplayHandler,
    redirect,
    respond,
    sequence,
    slow,
    stall,
    trickle,
)
from armswatch.tasks.http import (
    BlockedAddress,
    ConnectFailed,
    DecodingFailed,
    DisallowedByRobots,
    HostMemory,
    HttpError,
    HttpPolicy,
    HttpRequest,
    HttpResponse,
    InvalidURL,
    RedirectLoop,
    RequestTimeout,
    TlsFailed,
    TooManyRedirects,
    UnsupportedScheme,
    check_address,
    check_url,
    conditional_headers,
    get_many,
    get_one,
    retry_after_seconds,
)

# --- the SSRF guard, decided on pure functions: no traffic to these addresses ---


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("10.0.0.1", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address"),
        ("::ffff:8.8.8.8", "an IPv4-mapped IPv6 address"),
        ("0.0.0.0", "the unspecified address"),
        ("::", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("192.0.2.10", "a non-public address"),
        ("2001:db8::1", "a non-public address"),
        ("2002:7f00:1::", "an IPv6 address embedding 127.0.0.1 (a loopback address)"),
        ("64:ff9b::a00:1", "an IPv6 address embedding 10.0.0.1 (a private address)"),
        ("not-an-ip", "not an IP address"),
    ],
)
def test_check_address_refuses(ip, reason):
    verdict = check_address(ip)
    assert not verdict
    assert verdict.reason == reason


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::"])
def test_check_address_allows_public(ip):
    verdict = check_address(ip)
    assert verdict and verdict.reason == "a public address"


def test_check_address_with_private_hosts_allowed():
    assert check_address("10.0.0.1", allow_private=True)
    assert check_address("127.0.0.1", allow_private=True)
    assert check_address("::ffff:127.0.0.1", allow_private=True)
    # Metadata endpoints, multicast and the unspecified address stay refused.
    assert not check_address("169.254.169.254", allow_private=True)
    assert not check_address("fd00:ec2::254", allow_private=True)
    assert not check_address("0.0.0.0", allow_private=True)
    assert not check_address("224.0.0.1", allow_private=True)


def test_check_address_allowlist():
    allowed = [ipaddress.ip_network("10.1.0.0/16")]
    assert check_address("10.1.2.3", allowed=allowed).reason == "on the allowlist"
    assert not check_address("10.2.0.1", allowed=allowed)
    metadata_net = [ipaddress.ip_network("169.254.0.0/16")]
    assert check_address("169.254.169.254", allowed=metadata_net).reason == (
        "a cloud metadata address"
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("file:///etc/passwd", UnsupportedScheme),
        ("ftp://example.org/x", UnsupportedScheme),
        ("javascript:alert(1)", UnsupportedScheme),
        ("gopher://127.0.0.1:25/", UnsupportedScheme),
        ("http://10.0.0.1/", BlockedAddress),
        ("http://[::1]/", BlockedAddress),
        ("http://[::ffff:127.0.0.1]/", BlockedAddress),
        ("http://169.254.169.254/latest/meta-data/", BlockedAddress),
        ("http://metadata.google.internal/computeMetadata/v1/", BlockedAddress),
        ("http://METADATA.google.internal./", BlockedAddress),
        ("http://0177.0.0.1/", InvalidURL),
        ("http:///nohost", InvalidURL),
        ("http://127.0.0.1:99999/", InvalidURL),
        ("http://xn--zz.example/", InvalidURL),
    ],
)
def test_check_url_refuses_before_any_lookup(url, error):
    with pytest.raises(error) as info:
        check_url(url, HttpPolicy())
    assert info.value.permanent


def test_check_url_passes_names_to_connect_time_vetting():
    assert check_url("https://news.example.org/a?b=1", HttpPolicy()).host == "news.example.org"
    # Numeric spellings are host names to a URL parser; the resolver decides them.
    assert check_url("http://2130706433/", HttpPolicy()).host == "2130706433"


# --- the SSRF guard end to end, against the loopback server ---


def test_loopback_refused_and_nothing_sent(replay_server, site_dir):
    (site_dir / "a.html").write_text("secret")
    [result] = get_many([HttpRequest(replay_server.url("/a.html"))], HttpPolicy())
    assert isinstance(result, BlockedAddress)
    assert str(result) == "refused: 127.0.0.1 is a loopback address"
    assert replay_server.requests == []


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f.1", "0x7f000001", "017700000001", "127.1", "0177.0.0.1", "localhost"],
)
def test_numeric_spellings_of_loopback_refused(replay_server, host):
    port = replay_server.base_url.rsplit(":", 1)[1]
    [result] = get_many([HttpRequest(f"http://{host}:{port}/")], HttpPolicy(retries=0))
    assert isinstance(result, BlockedAddress | InvalidURL), result
    assert result.permanent
    if isinstance(result, BlockedAddress):
        assert str(result) == "refused: 127.0.0.1 is a loopback address"
    assert replay_server.requests == []


@pytest.fixture
def loopback_only_policy(local_policy) -> HttpPolicy:
    """Private hosts refused except 127.0.0.1 itself, so redirect hops can be vetted for real."""
    return replace(local_policy, allow_private_hosts=False, allowed_networks=("127.0.0.1/32",))


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://127.0.0.2:{port}/x", "refused: 127.0.0.2 is a loopback address"),
        ("http://0x7f.0.0.2:{port}/x", "refused: 127.0.0.2 is a loopback address"),
        ("http://[::1]:{port}/x", "refused: ::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a cloud"),
        ("http://metadata.google.internal/", "refused: metadata.google.internal is a cloud"),
        ("http://10.0.0.1/admin", "refused: 10.0.0.1 is a private address"),
        ("file:///etc/passwd", "refused: only http and https URLs are fetched"),
    ],
)
def test_redirect_hops_are_vetted(replay_server, loopback_only_policy, location, message):
    port = replay_server.base_url.rsplit(":", 1)[1]
    replay_server.add_route("/hop", redirect(location.format(port=port)))
    [result] = get_many([HttpRequest(replay_server.url("/hop"))], loopback_only_policy)
    assert isinstance(result, BlockedAddress | UnsupportedScheme)
    assert str(result).startswith(message)
    assert [p for p in replay_server.paths() if p != "/robots.txt"] == ["/hop"]


def test_allowlisted_address_is_fetched(replay_server, loopback_only_policy):
    replay_server.add_route("/ok", respond(200, "fine"))
    response = get_one(replay_server.url("/ok"), loopback_only_policy)
    assert response.body == b"fine"


# --- requests, headers, conditional GET ---


def test_get_sends_user_agent_and_validators(replay_server, local_policy):
    replay_server.add_route("/a", respond(200, "x"))
    request = HttpRequest(replay_server.url("/a"), etag='"v1"', last_modified="Mon, 01 Jan 2024")
    response = get_one(request, local_policy)
    assert response.status == 200
    sent = next(r for r in replay_server.requests if r.path == "/a").headers
    assert "armswatch" in sent["user-agent"] and "http" in sent["user-agent"]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 01 Jan 2024"
    assert sent["accept-encoding"] == "gzip, deflate"


def test_conditional_headers():
    assert conditional_headers(None, None) == {}
    assert conditional_headers('"e"', "d") == {"If-None-Match": '"e"', "If-Modified-Since": "d"}


def test_304_with_etag(replay_server, site_dir, local_policy):
    (site_dir / "a.html").write_text("<p>v1</p>")
    first = get_one(replay_server.url("/a.html"), local_policy)
    again = get_one(HttpRequest(replay_server.url("/a.html"), etag=first.etag), local_policy)
    assert (first.status, again.status, again.not_modified) == (200, 304, True)
    assert again.body == b"" and again.etag == first.etag


def test_response_metadata(replay_server, local_policy):
    replay_server.add_route(
        "/a", respond(200, "x", content_type='Text/HTML; Charset="Windows-1251"')
    )
    response = get_one(replay_server.url("/a"), local_policy)
    assert (response.content_type, response.charset) == ("text/html", "windows-1251")
    assert response.final_url == replay_server.url("/a") and response.redirects == ()


# --- retries and backoff ---


def test_500_then_200_is_retried(replay_server, local_policy):
    replay_server.add_route("/flaky", sequence(respond(500), respond(200, "ok")))
    journal = []
    [response] = get_many([HttpRequest(replay_server.url("/flaky"))], local_policy, journal=journal)
    assert isinstance(response, HttpResponse)
    assert (response.status, response.body, response.attempts) == (200, b"ok", 2)
    assert replay_server.paths().count("/flaky") == 2
    [retry] = [d for d in journal if d.kind == "retry"]
    assert retry.reason == "HTTP 500" and retry.seconds == local_policy.backoff_seconds


def test_retries_end_with_the_last_answer(replay_server, local_policy):
    replay_server.add_route("/down", respond(503))
    response = get_one(replay_server.url("/down"), replace(local_policy, retries=2))
    assert (response.status, response.attempts) == (503, 3)
    assert replay_server.paths().count("/down") == 3


def test_404_is_not_retried(replay_server, local_policy):
    response = get_one(replay_server.url("/missing"), local_policy)
    assert (response.status, response.attempts) == (404, 1)


def test_backoff_doubles(replay_server, local_policy):
    replay_server.add_route("/down", respond(502))
    journal = []
    get_many(
        [HttpRequest(replay_server.url("/down"))],
        replace(local_policy, retries=3, backoff_seconds=0.01),
        journal=journal,
    )
    assert [d.seconds for d in journal if d.kind == "retry"] == [0.01, 0.02, 0.04]


def test_429_honours_retry_after(replay_server, local_policy):
    replay_server.add_route(
        "/limited", sequence(respond(429, headers={"Retry-After": "1"}), respond(200, "ok"))
    )
    journal = []
    [response] = get_many(
        [HttpRequest(replay_server.url("/limited"))], local_policy, journal=journal
    )
    assert isinstance(response, HttpResponse) and response.status == 200
    [retry] = [d for d in journal if d.kind == "retry"]
    assert (retry.seconds, retry.reason) == (1.0, "HTTP 429")


def test_429_with_retry_after_past_the_cap_gives_up(replay_server, local_policy):
    replay_server.add_route("/limited", respond(429, headers={"Retry-After": "3600"}))
    journal = []
    [response] = get_many(
        [HttpRequest(replay_server.url("/limited"))], local_policy, journal=journal
    )
    assert isinstance(response, HttpResponse)
    assert (response.status, response.attempts) == (429, 1)
    assert [d.kind for d in journal if d.kind != "delay"] == ["give-up"]


def test_retry_after_parsing():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- timeouts and connection failures: small timeouts keep these fast ---


def test_slow_headers_time_out(replay_server, local_policy):
    replay_server.add_route("/slow", slow(5, respond(200)))
    policy = replace(local_policy, read_timeout=0.3, retries=0)
    [result] = get_many([HttpRequest(replay_server.url("/slow"))], policy)
    assert isinstance(result, RequestTimeout)
    assert str(result) == "timed out after 0.3s"
    assert not result.permanent


def test_stall_mid_body_times_out(replay_server, local_policy):
    replay_server.add_route("/stall", stall(b"x" * 1000, after=100, seconds=5))
    policy = replace(local_policy, read_timeout=0.3, retries=0)
    [result] = get_many([HttpRequest(replay_server.url("/stall"))], policy)
    assert isinstance(result, RequestTimeout)


def test_total_deadline_stops_a_trickle(replay_server, local_policy):
    replay_server.add_route("/trickle", trickle(b"x" * 100, chunk=1, interval=0.05))
    policy = replace(local_policy, read_timeout=1.0, total_timeout=0.3, retries=0)
    [result] = get_many([HttpRequest(replay_server.url("/trickle"))], policy)
    assert isinstance(result, RequestTimeout)
    assert str(result) == "timed out after 0.3s"


def test_timeout_then_success_is_retried(replay_server, local_policy):
    replay_server.add_route("/once-slow", sequence(slow(5, respond(200)), respond(200, "ok")))
    policy = replace(local_policy, read_timeout=0.3, retries=1)
    response = get_one(replay_server.url("/once-slow"), policy)
    assert (response.body, response.attempts) == (b"ok", 2)


def test_connection_refused(local_policy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [result] = get_many(
        [HttpRequest(f"http://127.0.0.1:{port}/")], replace(local_policy, retries=0)
    )
    assert isinstance(result, ConnectFailed)
    assert str(result).startswith("cannot connect to 127.0.0.1")


# --- redirects ---


def test_redirect_is_followed(replay_server, local_policy):
    replay_server.add_route("/old", redirect("/new", status=301))
    replay_server.add_route("/new", respond(200, "here"))
    response = get_one(replay_server.url("/old"), local_policy)
    assert response.final_url == replay_server.url("/new")
    assert response.redirects == (replay_server.url("/new"),)
    assert (response.status, response.body) == (200, b"here")
    assert response.url == replay_server.url("/old")


def test_redirect_loop(replay_server, local_policy):
    replay_server.add_route("/a", redirect("/b"))
    replay_server.add_route("/b", redirect("__BASE__/a#again"))
    [result] = get_many([HttpRequest(replay_server.url("/a"))], local_policy)
    assert isinstance(result, RedirectLoop) and result.permanent
    assert replay_server.paths().count("/a") == 1


@pytest.mark.parametrize(("hops", "ok"), [(5, True), (6, False)])
def test_redirect_chain_length(replay_server, local_policy, hops, ok):
    for n in range(hops):
        replay_server.add_route(f"/r{n}", redirect(f"/r{n + 1}", status=307))
    replay_server.add_route(f"/r{hops}", respond(200, "end"))
    [result] = get_many([HttpRequest(replay_server.url("/r0"))], local_policy)
    if ok:
        assert isinstance(result, HttpResponse) and len(result.redirects) == 5
    else:
        assert isinstance(result, TooManyRedirects)
        assert str(result) == "more than 5 redirects"


def test_redirect_to_an_invalid_location(replay_server, local_policy):
    replay_server.add_route("/bad", redirect("http://[::1"))
    [result] = get_many([HttpRequest(replay_server.url("/bad"))], local_policy)
    assert isinstance(result, InvalidURL) and result.permanent


def test_redirect_without_location_is_an_answer(replay_server, local_policy):
    replay_server.add_route("/odd", respond(302))
    assert get_one(replay_server.url("/odd"), local_policy).status == 302


# --- size cap and decoding ---


class Firehose:
    """A route that streams zeros until the client hangs up, counting what it sent."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk = total, chunk
        self.sent = 0
        self.done = threading.Event()

    def __call__(self, h: ReplayHandler) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(self.total))
            h.end_headers()
            block = b"0" * self.chunk
            while self.sent < self.total:
                h.wfile.write(block)
                self.sent += len(block)
        finally:
            self.done.set()


def test_size_cap_cuts_a_streamed_body(replay_server, local_policy):
    firehose = Firehose(total=200 * 1024 * 1024)
    replay_server.add_route("/huge", firehose)
    response = get_one(replay_server.url("/huge"), replace(local_policy, max_bytes=100_000))
    assert response.truncated and len(response.body) == 100_000
    assert firehose.done.wait(5)
    # The client hung up: the server could not push more than socket buffers hold.
    assert firehose.sent < 50 * 1024 * 1024


def test_body_of_exactly_the_cap_is_whole(replay_server, local_policy):
    replay_server.add_route("/exact", respond(200, b"x" * 1000))
    response = get_one(replay_server.url("/exact"), replace(local_policy, max_bytes=1000))
    assert not response.truncated and len(response.body) == 1000


def gzipped_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


def test_gzip_bomb_is_defused(replay_server, local_policy):
    bomb = gzipped_zeros(50 * 1024 * 1024)
    assert len(bomb) < 100_000
    replay_server.add_route(
        "/bomb", respond(200, bomb, headers={"Content-Encoding": "gzip"}, content_type="text/html")
    )
    policy = replace(local_policy, max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        response = get_one(replay_server.url("/bomb"), policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.truncated and response.body == bytes(1024 * 1024)
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the body was inflated past the cap"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda data: data),
    ],
)
def test_content_encodings(replay_server, local_policy, coding, encode):
    text = b"<p>North Korea shipped shells</p>" * 100
    replay_server.add_route(
        "/enc", respond(200, encode(text), headers={"Content-Encoding": coding})
    )
    assert get_one(replay_server.url("/enc"), local_policy).body == text


def test_concatenated_gzip_members(replay_server, local_policy):
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    replay_server.add_route("/two", respond(200, body, headers={"Content-Encoding": "gzip"}))
    assert get_one(replay_server.url("/two"), local_policy).body == b"first second"


@pytest.mark.parametrize(
    ("coding", "body"), [("gzip", b"\x1f\x8bnot really gzip"), ("br", b"\x0b\x02\x80")]
)
def test_undecodable_bodies(replay_server, local_policy, coding, body):
    replay_server.add_route("/bad", respond(200, body, headers={"Content-Encoding": coding}))
    [result] = get_many([HttpRequest(replay_server.url("/bad"))], local_policy)
    assert isinstance(result, DecodingFailed) and result.permanent


# --- robots.txt ---


def test_robots_disallow(replay_server, site_dir, local_policy):
    (site_dir / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    requests = [HttpRequest(replay_server.url(p)) for p in ("/private/a", "/public")]
    private, public = get_many(requests, local_policy)
    assert isinstance(private, DisallowedByRobots)
    assert str(private) == "disallowed by robots.txt" and private.permanent
    assert isinstance(public, HttpResponse)
    assert "/private/a" not in replay_server.paths()
    assert replay_server.paths().count("/robots.txt") == 1


def test_robots_rules_for_our_token(replay_server, site_dir, local_policy):
    (site_dir / "robots.txt").write_text(
        "User-agent: armswatch\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    [result] = get_many([HttpRequest(replay_server.url("/a"))], local_policy)
    assert isinstance(result, DisallowedByRobots)


def test_robots_fetched_once_per_host(replay_server, site_dir, local_policy):
    (site_dir / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    get_many([HttpRequest(replay_server.url(f"/p{n}")) for n in range(5)], local_policy)
    assert replay_server.paths().count("/robots.txt") == 1


def test_robots_server_error_allows_and_logs(replay_server, local_policy, caplog):
    replay_server.add_route("/robots.txt", respond(500))
    replay_server.add_route("/page", respond(200, "ok"))
    with caplog.at_level(logging.WARNING, logger="armswatch.http"):
        response = get_one(replay_server.url("/page"), local_policy)
    assert response.body == b"ok"
    assert any("robots.txt" in r.getMessage() and "500" in r.getMessage() for r in caplog.records)


def test_robots_timeout_allows(replay_server, local_policy):
    replay_server.add_route("/robots.txt", slow(5, respond(200, "User-agent: *\nDisallow: /")))
    replay_server.add_route("/page", respond(200, "ok"))
    policy = replace(local_policy, read_timeout=0.3)
    assert get_one(replay_server.url("/page"), policy).body == b"ok"


def test_robots_not_fetched_when_not_respected(replay_server, local_policy):
    replay_server.add_route("/page", respond(200, "ok"))
    get_one(replay_server.url("/page"), replace(local_policy, respect_robots=False))
    assert replay_server.paths() == ["/page"]


def test_robots_crawl_delay_spaces_requests(replay_server, site_dir, local_policy):
    (site_dir / "robots.txt").write_text("User-agent: *\nCrawl-delay: 1\n")
    journal = []
    get_many([HttpRequest(replay_server.url("/p"))], local_policy, journal=journal)
    robots, page = [d for d in journal if d.kind == "delay"]
    assert (robots.seconds, page.seconds) == (0.0, 1.0)
    assert page.at - robots.at >= 1.0 - 1e-9


# --- politeness: per-host spacing and concurrency, from the client's own decisions ---


def test_per_host_delay(replay_server, local_policy):
    policy = replace(local_policy, min_delay_seconds=0.05, per_host_concurrency=1)
    paths = [f"/p{n}" for n in range(5)]
    requests = [HttpRequest(replay_server.url(p)) for p in paths]
    requests[3] = replace(requests[3], min_delay_seconds=0.2)
    journal = []
    get_many(requests, policy, journal=journal)

    assert replay_server.paths() == ["/robots.txt", *paths]
    delays = [d for d in journal if d.kind == "delay"]
    assert [d.url.removeprefix(replay_server.base_url) for d in delays] == ["/robots.txt", *paths]
    assert [d.seconds for d in delays] == [0.05, 0.05, 0.05, 0.05, 0.2, 0.05]
    for before, after in pairwise(delays):
        assert after.at - before.at >= after.seconds - 1e-9
        assert after.host == before.host


def test_per_host_concurrency_is_capped(replay_server, local_policy):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def counted(h: ReplayHandler) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        h.pause(0.1)
        with lock:
            state["now"] -= 1
        h.send(200, b"ok")

    replay_server.add_route("/c", counted)
    policy = replace(local_policy, per_host_concurrency=2, respect_robots=False)
    results = get_many([HttpRequest(replay_server.url(f"/c?n={n}")) for n in range(6)], policy)
    assert all(isinstance(r, HttpResponse) and r.status == 200 for r in results)
    assert state["max"] <= 2


def test_results_keep_request_order(replay_server, local_policy):
    replay_server.add_route("/slow", slow(0.2, respond(200, "slow")))
    replay_server.add_route("/fast", respond(200, "fast"))
    results = get_many(
        [HttpRequest(replay_server.url("/slow")), HttpRequest(replay_server.url("/fast"))],
        local_policy,
    )
    assert [r.body for r in results if isinstance(r, HttpResponse)] == [b"slow", b"fast"]


def test_bad_urls_do_not_sink_the_batch(replay_server, local_policy):
    replay_server.add_route("/ok", respond(200, "ok"))
    results = get_many(
        [
            HttpRequest("mailto:someone@example.org"),
            HttpRequest("http://[::1"),
            HttpRequest(replay_server.url("/ok")),
        ],
        local_policy,
    )
    assert isinstance(results[0], UnsupportedScheme)
    assert isinstance(results[1], HttpError)
    assert isinstance(results[2], HttpResponse) and results[2].body == b"ok"


def test_sync_entry_point_works_inside_a_running_loop(replay_server, local_policy):
    replay_server.add_route("/ok", respond(200, "ok"))

    async def caller() -> bytes:
        return get_one(replay_server.url("/ok"), local_policy).body

    assert asyncio.run(caller()) == b"ok"


# --- TLS through the guarded backend ---


def self_signed_cert(directory) -> tuple[str, str]:
    """A throwaway certificate for localhost, written as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_tls_keeps_the_host_name_and_refuses_an_untrusted_certificate(tmp_path, local_policy):
    cert, key = self_signed_cert(tmp_path)
    seen_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: seen_names.append(name)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept_one() -> None:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True)

        server = threading.Thread(target=accept_one, daemon=True)
        server.start()
        journal = []
        [result] = get_many(
            [HttpRequest(f"https://localhost:{port}/")],
            replace(local_policy, respect_robots=False),
            journal=journal,
        )
        server.join(5)
    # The connection went to the vetted 127.0.0.1, the handshake still named localhost.
    assert seen_names == ["localhost"]
    assert isinstance(result, TlsFailed)
    assert "CERTIFICATE_VERIFY_FAILED" in str(result)
    assert [d.kind for d in journal] == ["delay"]  # not retried


# --- politeness across batches ---


def test_politeness_and_robots_carry_from_one_batch_to_the_next(
    replay_server, site_dir, local_policy
):
    """A run's batches each get a new client; the host's delay and robots.txt span them."""
    (site_dir / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    for name in ("a", "b", "c", "d"):
        (site_dir / name).write_text(name)
    policy = replace(local_policy, min_delay_seconds=0.3)
    memory = HostMemory()
    journal: list = []
    first = get_many([HttpRequest(replay_server.url(p)) for p in ("/a", "/b")], policy,
                     journal=journal, memory=memory)
    second = get_many([HttpRequest(replay_server.url(p)) for p in ("/c", "/private/d")], policy,
                      journal=journal, memory=memory)
    assert [r.status for r in first] == [200, 200]
    assert second[0].status == 200 and isinstance(second[1], DisallowedByRobots)
    assert replay_server.paths().count("/robots.txt") == 1
    starts = sorted(d.at for d in journal if d.kind == "delay" and "robots" not in d.url)
    assert all(b - a >= 0.3 - 1e-6 for a, b in pairwise(starts)), starts
    # Without the run's memory, a new batch would start at once.
    fresh: list = []
    get_many([HttpRequest(replay_server.url("/c"))], policy, journal=fresh)
    assert next(d for d in fresh if d.kind == "delay").waited == 0.0
