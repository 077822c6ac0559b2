"""Poll feeds with conditional GET and turn RSS, Atom and JSON Feed bytes into FeedEntry records."""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
import feedparser

from armswatch.tasks.http import (
    HostMemory,
    HttpError,
    HttpPolicy,
    HttpRequest,
    HttpResponse,
    get_many,
)
from armswatch.tasks.models import FeedEntry, FeedPoll, FeedState, Source

log = logging.getLogger("armswatch.feeds")

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})


class NotAFeed(ValueError):
    "The body is neither RSS, Atom nor JSON Feed"


def poll_feeds(
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    policy: HttpPolicy,
    now: datetime | None = None,
    memory: HostMemory | None = None,
) -> list[FeedPoll]:
    """Poll every source concurrently; one FeedPoll a source, in order, never an exception."""
    polled_at = now or datetime.now(UTC)
    requests = []
    for source in sources:
        state = states.get(source.name)
        requests.append(
            HttpRequest(
                url=source.url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                min_delay_seconds=source.min_delay_seconds,
                accept=FEED_ACCEPT,
            )
        )
    results = get_many(requests, policy, memory=memory)
    polls = [
        _to_poll(source, states.get(source.name), result, polled_at)
        for source, result in zip(sources, results, strict=True)
    ]
    log.info(
        "polled %d sources: %d with news, %d unchanged, %d failed",
        len(polls),
        sum(1 for p in polls if p.error is None and not p.not_modified),
        sum(1 for p in polls if p.not_modified),
        sum(1 for p in polls if p.error is not None),
    )
    return polls


def _to_poll(
    source: Source,
    state: FeedState | None,
    result: HttpResponse | HttpError,
    polled_at: datetime,
) -> FeedPoll:
    if isinstance(result, HttpError):
        return FeedPoll(source.name, polled_at, None, error=str(result))
    etag = result.etag or (state.etag if state else None)
    last_modified = result.last_modified or (state.last_modified if state else None)
    if result.status == 304:
        return FeedPoll(
            source.name,
            polled_at,
            304,
            not_modified=True,
            etag=etag,
            last_modified=last_modified,
            body_hash=state.body_hash if state else None,
        )
    if not 200 <= result.status < 300:
        return FeedPoll(source.name, polled_at, result.status, error=f"HTTP {result.status}")
    body_hash = hashlib.sha256(result.body).hexdigest()
    done = FeedPoll(
        source.name,
        polled_at,
        result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=body_hash,
    )
    if state is not None and state.body_hash == body_hash:
        return replace(done, not_modified=True)
    try:
        entries, bozo = parse_feed(
            source,
            result.body,
            result.headers.get("content-type"),
            result.final_url,
            content_language=result.headers.get("content-language"),
        )
    except NotAFeed as exc:
        return replace(done, error=str(exc))
    except Exception as exc:
        # Parsers meet hostile bytes here; a crash must cost one source, not the poll.
        log.exception("parsing %s failed", source.url)
        return replace(done, error=f"parse failed: {type(exc).__name__}: {exc}")
    if result.truncated:
        cut = f"body cut at {len(result.body)} bytes"
        bozo = f"{cut}; {bozo}" if bozo else cut
    return replace(done, entries=tuple(entries), bozo=bozo)


def parse_feed(
    source: Source,
    body: bytes,
    content_type: str | None,
    base_url: str | None,
    *,
    content_language: str | None = None,
) -> tuple[list[FeedEntry], str | None]:
    """Entries of an RSS/Atom/RDF/JSON feed and feedparser's complaint (None when well formed).

    Pure: bytes in, records out. Entries without a fetchable http(s) link are
    dropped, and a GUID seen twice keeps its first entry. An entry with only an
    updated date (Atom's required one, RSS 1.0's dc:date) takes it as published
    too. Raises NotAFeed when nothing in the body looks like a feed.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    document = _json_feed(body, media_type)
    if document is not None:
        return _json_entries(source, document, base_url), None
    # No Content-Location: feedparser would resolve RSS GUIDs against it too,
    # and GUIDs are keys, not links. Links are resolved below instead.
    headers = {
        name: value
        for name, value in (("content-type", content_type), ("content-language", content_language))
        if value
    }
    # A file-like object, never raw bytes or str: feedparser treats those as a
    # URL or a file name to open.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    raw_entries = parsed.get("entries") or []
    if not parsed.get("version") and not raw_entries and media_type and "charset" in (
        content_type or ""
    ):
        # Servers lie about charsets; a body that is no feed in the declared one
        # may be one in what its own XML declaration or bytes say.
        headers["content-type"] = media_type
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
        raw_entries = parsed.get("entries") or []
    if not parsed.get("version") and not raw_entries:
        raise NotAFeed(f"not a feed: {media_type or 'no content type'}")
    feed_lang = _lang(parsed.get("feed", {}).get("language"))
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw in raw_entries:
        url = canonical_url(raw.get("link"), base_url)
        if url is None:
            continue
        key = (raw.get("id") or "").strip() or url
        if key in seen:
            continue
        seen.add(key)
        # dict.get: feedparser's own get() answers published for a missing updated.
        updated_at = _from_struct(dict.get(raw, "updated_parsed"))
        entries.append(
            FeedEntry(
                source=source.name,
                entry_key=key,
                url=url,
                title=_detail_text(raw, "title"),
                summary=_summary(raw),
                published_at=_from_struct(dict.get(raw, "published_parsed")) or updated_at,
                updated_at=updated_at,
                lang=_entry_lang(raw) or feed_lang or _lang(source.lang),
            )
        )
    bozo = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        bozo = f"{type(exc).__name__}: {exc}" if exc is not None else "ill-formed feed"
    return entries, bozo


def canonical_url(link: str | None, base_url: str | None = None) -> str | None:
    """The absolute, normalised http(s) form of a link, or None when it is not fetchable.

    Relative links resolve against the feed URL; javascript:, data:, file:,
    mailto: and other schemes give None; tracking parameters and the fragment go.
    """
    if not link or not link.strip():
        return None
    absolute = urljoin(base_url, link.strip()) if base_url else link.strip()
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        normalised = courlan.normalize_url(absolute)
    except ValueError:
        return None
    return urlunsplit(urlsplit(normalised)._replace(fragment=""))


def _json_feed(body: bytes, media_type: str) -> dict[str, Any] | None:
    """The decoded JSON Feed document, or None when the body is something else."""
    if media_type not in JSON_FEED_TYPES and body.lstrip()[:1] != b"{":
        return None
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        if media_type == "application/feed+json":
            raise NotAFeed(f"not a feed: invalid JSON Feed ({exc})") from None
        return None
    if isinstance(document, dict) and str(document.get("version", "")).startswith(
        "https://jsonfeed.org/"
    ):
        return document
    if media_type in JSON_FEED_TYPES:
        raise NotAFeed(f"not a feed: {media_type} without a JSON Feed version")
    return None


def _json_entries(
    source: Source, document: dict[str, Any], base_url: str | None
) -> list[FeedEntry]:
    base = base_url or _str(document.get("feed_url"))
    feed_lang = _lang(_str(document.get("language")))
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    items = document.get("items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        url = canonical_url(_str(item.get("url")) or _str(item.get("external_url")), base)
        if url is None:
            continue
        key = str(item["id"]).strip() if item.get("id") not in (None, "") else url
        if key in seen:
            continue
        seen.add(key)
        summary = _str(item.get("summary")) or _str(item.get("content_text"))
        modified = _from_iso(item.get("date_modified"))
        entries.append(
            FeedEntry(
                source=source.name,
                entry_key=key,
                url=url,
                title=_clean(_str(item.get("title"))),
                summary=_clean(summary) or html_to_text(_str(item.get("content_html"))),
                published_at=_from_iso(item.get("date_published")) or modified,
                updated_at=modified,
                lang=_lang(_str(item.get("language"))) or feed_lang or _lang(source.lang),
            )
        )
    return entries


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _detail_text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if not value:
        return None
    detail = raw.get(f"{name}_detail") or {}
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return html_to_text(value)
    return _clean(value)


def _summary(raw: Mapping[str, Any]) -> str | None:
    if raw.get("summary"):
        return html_to_text(raw["summary"])
    for content in raw.get("content") or []:
        if content.get("value"):
            return html_to_text(content["value"])
    return None


def _entry_lang(raw: Mapping[str, Any]) -> str | None:
    # dc:language on the item first, then xml:lang on its title, summary, content.
    holders = [raw, raw.get("title_detail"), raw.get("summary_detail"), *(raw.get("content") or [])]
    for holder in holders:
        lang = _lang((holder or {}).get("language"))
        if lang:
            return lang
    return None


def _lang(tag: str | None) -> str | None:
    """The primary subtag of a language tag ("en-US" → "en"), the form the stages use."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _from_struct(value: Any) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _from_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    return " ".join(text.split()) or None


class _TextCollector(HTMLParser):
    BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 "  # noqa: SIM905
        "h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
    )
    SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str | None:
    """Plain text of an HTML fragment: tags dropped, entities decoded, one line a block."""
    if not html:
        return None
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).splitlines())
    return "\n".join(line for line in lines if line) or None
