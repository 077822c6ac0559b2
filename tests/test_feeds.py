"""Feed polling and parsing: conditional GET, the feedparser corpus, JSON Feed, links and GUIDs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from armswatch.demo.server import no_validators, redirect, respond, sequence, slow
from armswatch.tasks.feeds import NotAFeed, canonical_url, html_to_text, parse_feed, poll_feeds
from armswatch.tasks.http import HttpPolicy
from armswatch.tasks.models import FeedEntry, FeedState, Source
from tests.helpers import shared_dir

SOURCE = Source("world", "https://news.example.org/feeds/world.xml", lang="de")
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World</title><language>en-US</language>
<item><title>Shells &amp; &lt;b&gt;missiles&lt;/b&gt;</title>
  <link>/news/shells.html?utm_source=rss&amp;id=7#comments</link><guid>a-1</guid>
  <pubDate>Mon, 06 Sep 2021 16:45:00 +0200</pubDate>
  <description>&lt;p&gt;Seoul says &lt;b&gt;6,700&lt;/b&gt; containers.&lt;/p&gt;
  &lt;p&gt;More.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description></item>
<item><title>Script link</title><link>javascript:alert(1)</link><guid>a-2</guid></item>
<item><title>Data link</title><link>data:text/html,hi</link><guid>a-3</guid></item>
<item><title>Mail link</title><link>mailto:desk@example.org</link><guid>a-4</guid></item>
<item><title>File link</title><link>file:///etc/passwd</link><guid>a-5</guid></item>
<item><title>Same GUID again</title><link>/news/other.html</link><guid>a-1</guid></item>
<item><title>No GUID</title><link>HTTPS://News.Example.org:443/news/no-guid.html</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ko"><title>t</title>
<entry><id>urn:uuid:1</id><title type="html">&lt;i&gt;Kim&lt;/i&gt; speaks</title>
  <link rel="alternate" href="articles/1"/><updated>2024-01-02T03:04:05+09:00</updated>
  <published>2024-01-01T00:00:00Z</published><summary>Plain summary</summary></entry>
<entry xml:lang="ru"><id>urn:uuid:2</id><title>Second</title>
  <link href="https://news.example.org/articles/2"/><updated>2024-01-03T00:00:00Z</updated></entry>
</feed>"""

RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://news.example.org/index.rdf"><title>r</title><link>https://news.example.org/</link></channel>
<item rdf:about="https://news.example.org/1"><title>One</title><link>https://news.example.org/1</link>
  <dc:date>2024-02-03T04:05:06+01:00</dc:date><dc:language>fr</dc:language></item>
</rdf:RDF>"""

RSS091 = """<?xml version="1.0"?>
<rss version="0.91"><channel><title>old</title><link>https://news.example.org/</link>
<item><title>Old style</title><link>https://news.example.org/old</link></item>
</channel></rss>"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON World",
    "language": "en",
    "items": [
        {
            "id": 1,
            "url": "/json/one.html?fbclid=x",
            "title": "One",
            "content_html": "<p>Hello <b>world</b></p><script>x()</script>",
            "date_published": "2024-03-01T10:00:00+02:00",
            "date_modified": "2024-03-01T12:00:00",
        },
        {"id": "2", "external_url": "https://elsewhere.example.com/two", "summary": "Two"},
        {"id": "3", "url": "javascript:void(0)"},
        {"id": "1", "url": "/json/duplicate.html"},
        {"id": "", "url": "https://news.example.org/json/no-id", "language": "uk"},
        "not an item",
    ],
}


def by_key(entries: list[FeedEntry]) -> dict[str, FeedEntry]:
    return {e.entry_key: e for e in entries}


# --- parse_feed: pure, bytes in, records out ---


def test_rss2_links_guids_dates_and_text():
    entries, bozo = parse_feed(SOURCE, RSS.encode(), "application/rss+xml", SOURCE.url)
    assert bozo is None
    entries_by_key = by_key(entries)
    assert list(entries_by_key) == ["a-1", "https://news.example.org/news/no-guid.html"]
    first = entries_by_key["a-1"]
    assert first.url == "https://news.example.org/news/shells.html?id=7"
    assert first.title == "Shells & missiles"
    assert first.summary == "Seoul says 6,700 containers.\nMore."
    assert first.published_at == datetime(2021, 9, 6, 14, 45, tzinfo=UTC)
    assert first.published_at.utcoffset().total_seconds() == 0
    assert first.lang == "en"
    assert first.source == "world"


def test_unsafe_link_schemes_are_dropped():
    entries, _ = parse_feed(SOURCE, RSS.encode(), "application/rss+xml", SOURCE.url)
    assert all(e.url.startswith("https://") for e in entries)
    assert not {"a-2", "a-3", "a-4", "a-5"} & {e.entry_key for e in entries}


def test_duplicate_guids_keep_the_first():
    entries, _ = parse_feed(SOURCE, RSS.encode(), "application/rss+xml", SOURCE.url)
    [first] = [e for e in entries if e.entry_key == "a-1"]
    assert first.title == "Shells & missiles"


def test_atom_relative_links_languages_and_dates():
    entries, bozo = parse_feed(SOURCE, ATOM.encode(), "application/atom+xml", SOURCE.url)
    assert bozo is None
    one, two = entries
    assert one.entry_key == "urn:uuid:1"
    assert one.url == "https://news.example.org/feeds/articles/1"
    assert one.title == "Kim speaks"
    assert one.summary == "Plain summary"
    assert one.updated_at == datetime(2024, 1, 1, 18, 4, 5, tzinfo=UTC)
    assert one.published_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert (one.lang, two.lang) == ("ko", "ru")


def test_rss1_and_rss091():
    [entry], _ = parse_feed(SOURCE, RSS1.encode(), "application/rdf+xml", None)
    assert (entry.url, entry.lang) == ("https://news.example.org/1", "fr")
    assert entry.published_at == datetime(2024, 2, 3, 3, 5, 6, tzinfo=UTC)
    [old], _ = parse_feed(SOURCE, RSS091.encode(), "text/xml", None)
    assert old.url == "https://news.example.org/old" and old.entry_key == old.url


def test_source_lang_is_the_fallback():
    [old], _ = parse_feed(SOURCE, RSS091.encode(), "text/xml", None)
    assert old.lang == "de"


def test_json_feed():
    body = json.dumps(JSON_FEED).encode()
    entries, bozo = parse_feed(SOURCE, body, "application/feed+json", SOURCE.url)
    assert bozo is None
    entries_by_key = by_key(entries)
    assert list(entries_by_key) == ["1", "2", "https://news.example.org/json/no-id"]
    one = entries_by_key["1"]
    assert one.url == "https://news.example.org/json/one.html"
    assert one.summary == "Hello world"
    assert one.published_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert one.updated_at == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert one.lang == "en"
    assert entries_by_key["2"].url == "https://elsewhere.example.com/two"
    assert entries_by_key["2"].summary == "Two"
    assert entries_by_key["https://news.example.org/json/no-id"].lang == "uk"


def test_json_feed_recognised_without_its_media_type():
    body = json.dumps(JSON_FEED).encode()
    entries, _ = parse_feed(SOURCE, body, "text/plain", SOURCE.url)
    assert len(entries) == 3


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"<html><body><p>Hello</p></body></html>", "text/html", "not a feed: text/html"),
        (b"", None, "not a feed: no content type"),
        (b'{"version": 1}', "application/json", "not a feed: application/json without"),
        (b"{not json", "application/feed+json", "not a feed: invalid JSON Feed"),
    ],
)
def test_not_a_feed(body, content_type, message):
    with pytest.raises(NotAFeed) as info:
        parse_feed(SOURCE, body, content_type, SOURCE.url)
    assert str(info.value).startswith(message)


def test_ill_formed_feed_keeps_what_parses():
    body = RSS.replace("</channel></rss>", "<item><title>cut").encode()
    entries, bozo = parse_feed(SOURCE, body, "application/rss+xml", SOURCE.url)
    assert bozo and "SAXParseException" in bozo
    assert "a-1" in {e.entry_key for e in entries}


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/a/b.html", "https://news.example.org/a/b.html"),
        ("b.html#top", "https://news.example.org/feeds/b.html"),
        ("//cdn.example.org/x", "https://cdn.example.org/x"),
        ("HTTP://Example.ORG:80/x?utm_medium=rss&b=2&a=1", "http://example.org/x?a=1&b=2"),
        ("https://example.org/x?gclid=1&fbclid=2", "https://example.org/x"),
        ("  https://example.org/spaced  ", "https://example.org/spaced"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html;base64,PHA+", None),
        ("mailto:desk@example.org", None),
        ("file:///etc/passwd", None),
        ("ftp://example.org/x", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(link, expected):
    assert canonical_url(link, SOURCE.url) == expected


def test_html_to_text():
    assert html_to_text("<p>A &amp; B</p><p>C<br>D</p><style>p{}</style>") == "A & B\nC\nD"
    assert html_to_text("plain   text") == "plain text"
    assert html_to_text("") is None and html_to_text("<p> </p>") is None


# --- the feedparser test corpus ---


def corpus_cases() -> list:
    root = shared_dir()
    corpus = root / "corpus" / "feedparser-tests" if root else None
    if corpus is None or not (corpus / "manifest.json").is_file():
        reason = "shared/corpus/feedparser-tests is absent (expected beside the repository)"
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=reason))]
    manifest = json.loads((corpus / "manifest.json").read_text())
    observed = json.loads((corpus / "observed-feedparser-6.0.14.json").read_text())
    return [
        pytest.param(corpus, case, observed.get(case["path"]), id=case["path"])
        for case in manifest
        if case["path"].endswith(".xml")
    ]


@pytest.mark.parametrize(("corpus", "case", "observed"), corpus_cases())
def test_feedparser_corpus(corpus: Path, case: dict, observed: dict):
    """Every corpus file parses without raising, bozo as released feedparser reports it."""
    body = (corpus / case["path"]).read_bytes()
    headers = {k.lower(): v for k, v in (case.get("http_headers") or {}).items()}
    content_type, base_url = None, None
    if case.get("http_served"):
        # The upstream harness serves these with text/xml unless a Header: line says otherwise.
        content_type = headers.get("content-type", "text/xml")
        base_url = headers.get("content-location") or f"http://127.0.0.1:8097/{case['path']}"
    try:
        entries, bozo = parse_feed(
            SOURCE, body, content_type, base_url, content_language=headers.get("content-language")
        )
    except NotAFeed:
        assert observed["version"] == "", "a feed feedparser recognises was refused"
        return
    assert bool(bozo) == observed["bozo"], bozo
    keys = [e.entry_key for e in entries]
    assert len(keys) == len(set(keys))
    for entry in entries:
        assert entry.url.startswith(("http://", "https://")) and "#" not in entry.url
        for moment in (entry.published_at, entry.updated_at):
            assert moment is None or moment.utcoffset().total_seconds() == 0
        assert entry.lang is None or (entry.lang.isalpha() and entry.lang.islower())


def test_corpus_json_feed_example():
    root = shared_dir()
    path = root / "corpus/feedparser-tests/json/example.json" if root else None
    if path is None or not path.is_file():
        pytest.skip("shared/corpus/feedparser-tests/json/example.json is absent")
    entries, bozo = parse_feed(SOURCE, path.read_bytes(), "application/feed+json", None)
    assert bozo is None
    assert [(e.entry_key, e.url) for e in entries] == [
        ("2", "https://example.org/second-item"),
        ("1", "https://example.org/initial-post"),
    ]
    assert entries[0].summary == "This is a second item."
    assert entries[1].summary == "Hello, world!"


def test_corpus_relative_link_against_content_location():
    root = shared_dir()
    path = root / "corpus/feedparser-tests/wellformed/base" if root else None
    if path is None or not path.is_dir():
        pytest.skip("shared/corpus/feedparser-tests is absent")
    body = (path / "http_item_link_base_content_location.xml").read_bytes()
    [entry], _ = parse_feed(SOURCE, body, "text/xml", "http://example.com/")
    assert entry.url == "http://example.com/relative/uri"


# --- poll_feeds against the local server ---


@pytest.fixture
def feeds_site(site_dir: Path) -> Path:
    (site_dir / "feeds").mkdir()
    (site_dir / "feeds/world.xml").write_text(RSS)
    (site_dir / "feeds/world.json").write_text(json.dumps(JSON_FEED))
    (site_dir / "page.html").write_text("<html><body><p>not a feed</p></body></html>")
    return site_dir


def source(server, path: str, name: str = "world") -> Source:
    return Source(name, server.url(path), lang="en")


def test_first_poll_reads_entries_and_validators(replay_server, feeds_site, local_policy):
    [poll] = poll_feeds([source(replay_server, "/feeds/world.xml")], {}, local_policy, now=NOW)
    assert (poll.http_status, poll.error, poll.not_modified) == (200, None, False)
    assert poll.polled_at == NOW
    assert poll.etag and poll.last_modified and poll.body_hash
    assert (
        poll.body_hash
        == hashlib.sha256(
            (feeds_site / "feeds/world.xml")
            .read_bytes()
            .replace(b"__BASE__", replay_server.base_url.encode())
        ).hexdigest()
    )
    assert [e.url for e in poll.entries] == [
        f"{replay_server.base_url}/news/shells.html?id=7",
        "https://news.example.org/news/no-guid.html",
    ]
    sent = next(r for r in replay_server.requests if r.path == "/feeds/world.xml").headers
    assert "application/rss+xml" in sent["accept"]


def test_second_poll_is_a_304_with_the_etag(replay_server, feeds_site, local_policy):
    feed = source(replay_server, "/feeds/world.xml")
    [first] = poll_feeds([feed], {}, local_policy)
    state = FeedState(feed.name, first.etag, first.last_modified, first.body_hash)
    [second] = poll_feeds([feed], {feed.name: state}, local_policy)
    assert (second.http_status, second.not_modified, second.entries) == (304, True, ())
    assert (second.etag, second.body_hash) == (first.etag, first.body_hash)
    sent = [r for r in replay_server.requests if r.path == "/feeds/world.xml"][-1].headers
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == first.last_modified


def test_unchanged_body_without_validators(replay_server, local_policy):
    replay_server.add_route("/feeds/plain.xml", no_validators(RSS))
    feed = source(replay_server, "/feeds/plain.xml")
    [first] = poll_feeds([feed], {}, local_policy)
    assert first.etag is None and first.entries
    state = FeedState(feed.name, body_hash=first.body_hash)
    [second] = poll_feeds([feed], {feed.name: state}, local_policy)
    assert (second.http_status, second.not_modified, second.entries) == (200, True, ())
    assert second.body_hash == first.body_hash


def test_json_feed_over_http(replay_server, feeds_site, local_policy):
    [poll] = poll_feeds([source(replay_server, "/feeds/world.json")], {}, local_policy)
    assert poll.error is None
    assert poll.entries[0].url == f"{replay_server.base_url}/json/one.html"


@pytest.mark.parametrize(
    ("route", "status", "error"),
    [
        (respond(404), 404, "HTTP 404"),
        (respond(410), 410, "HTTP 410"),
        (respond(503), 503, "HTTP 503"),
        (
            respond(200, "<html><p>hi</p></html>", content_type="text/html"),
            200,
            "not a feed: text/html",
        ),
    ],
)
def test_broken_sources_become_errors(replay_server, local_policy, route, status, error):
    replay_server.add_route("/feed", route)
    [poll] = poll_feeds([source(replay_server, "/feed")], {}, local_policy)
    assert (poll.http_status, poll.error, poll.entries) == (status, error, ())


def test_500_then_200_is_retried(replay_server, local_policy):
    replay_server.add_route("/feed", sequence(respond(500), respond(200, RSS, content_type=None)))
    [poll] = poll_feeds([source(replay_server, "/feed")], {}, local_policy)
    assert (poll.http_status, poll.error) == (200, None)
    assert len(poll.entries) == 2


def test_slow_feed_times_out(replay_server, local_policy):
    replay_server.add_route("/feed", slow(5, respond(200, RSS)))
    policy = replace(local_policy, read_timeout=0.3, retries=0)
    [poll] = poll_feeds([source(replay_server, "/feed")], {}, policy)
    assert (poll.http_status, poll.error) == (None, "timed out after 0.3s")


def test_refused_address(replay_server, feeds_site):
    [poll] = poll_feeds([source(replay_server, "/feeds/world.xml")], {}, HttpPolicy())
    assert (poll.http_status, poll.error) == (None, "refused: 127.0.0.1 is a loopback address")
    assert replay_server.requests == []


def test_ill_formed_feed_over_http(replay_server, local_policy):
    replay_server.add_route(
        "/feed", respond(200, RSS.replace("</channel></rss>", "<item>"), content_type="text/xml")
    )
    [poll] = poll_feeds([source(replay_server, "/feed")], {}, local_policy)
    assert poll.error is None and poll.bozo and poll.entries


def test_moved_feed_resolves_links_against_the_final_url(replay_server, feeds_site, local_policy):
    replay_server.add_route("/old/world.xml", redirect("/feeds/world.xml", status=301))
    (feeds_site / "feeds/relative.xml").write_text(RSS)
    replay_server.add_route("/old/relative.xml", redirect("/feeds/relative.xml", status=301))
    [poll] = poll_feeds([source(replay_server, "/old/relative.xml")], {}, local_policy)
    assert poll.entries[0].url == f"{replay_server.base_url}/news/shells.html?id=7"


def test_one_bad_source_among_good_ones(replay_server, feeds_site, local_policy):
    replay_server.add_route("/down.xml", respond(404))
    sources = [
        source(replay_server, "/feeds/world.xml", "a"),
        source(replay_server, "/down.xml", "b"),
        Source("c", "ftp://example.org/feed.xml"),
        source(replay_server, "/feeds/world.json", "d"),
    ]
    polls = poll_feeds(sources, {}, local_policy)
    assert [p.source for p in polls] == ["a", "b", "c", "d"]
    assert [p.error for p in polls][:2] == [None, "HTTP 404"]
    assert polls[2].error.startswith("refused: only http and https URLs")
    assert polls[3].error is None and polls[3].entries
