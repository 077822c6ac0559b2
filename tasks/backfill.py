"""Lists of article URLs to backfill: sitemaps (and sitemap indexes), plain URL lists."""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from armswatch.tasks.http import HttpPolicy, HttpRequest, get_one
from armswatch.tasks.models import FeedEntry

log = logging.getLogger("armswatch.backfill")

MAX_SITEMAPS = 200  # an index of indexes can otherwise fan out without end
MAX_DEPTH = 3
MAX_DECOMPRESSED = 64 * 1024 * 1024  # the sitemap protocol caps files at 50 MB


class ListingError(Exception):
    """A sitemap or URL list could not be read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ListedURL:
    """A URL to backfill, with what the listing said about it."""

    url: str
    published_at: datetime | None = None
    title: str | None = None
    summary: str | None = None


def _canonical(url: str) -> str | None:
    from courlan import clean_url, validate_url

    url = url.strip()
    valid, _ = validate_url(url)
    if not valid or not url.startswith(("http://", "https://")):
        return None
    return clean_url(url)


def read_location(location: str, policy: HttpPolicy) -> bytes:
    """A local file's bytes, or a URL's through the guarded client."""
    if not location.startswith(("http://", "https://")):
        try:
            return Path(location).read_bytes()
        except OSError as exc:
            raise ListingError(f"cannot read {location}: {exc.strerror}") from None
    try:
        response = get_one(HttpRequest(location, accept="application/xml,text/xml,*/*"), policy)
    except Exception as exc:
        raise ListingError(f"cannot fetch {location}: {exc}") from None
    if response.status != 200 or response.body is None:
        raise ListingError(f"cannot fetch {location}: HTTP {response.status}")
    return response.body


def _ungzip(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        data = stream.read(MAX_DECOMPRESSED + 1)
    if len(data) > MAX_DECOMPRESSED:
        raise ListingError("sitemap larger than 64 MB once decompressed")
    return data


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_sitemap(body: bytes) -> tuple[list[ListedURL], list[str]]:
    """The page URLs and the child sitemaps one sitemap file lists."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(_ungzip(body), parser)
    except etree.XMLSyntaxError as exc:
        raise ListingError(f"not a sitemap: {exc}") from None
    if root is None:
        raise ListingError("not a sitemap: empty document")
    pages: list[ListedURL] = []
    children: list[str] = []
    for element in root.iter("{*}url", "{*}sitemap"):
        loc = element.findtext("{*}loc")
        url = _canonical(loc) if loc else None
        if url is None:
            continue
        if etree.QName(element).localname == "sitemap":
            children.append(url)
            continue
        title = element.findtext(".//{*}news/{*}title")
        published = _date(
            element.findtext(".//{*}news/{*}publication_date") or element.findtext("{*}lastmod")
        )
        pages.append(ListedURL(url, published, title))
    return pages, children


def from_sitemap(location: str, policy: HttpPolicy) -> list[ListedURL]:
    """Every page a sitemap lists, following sitemap indexes breadth first."""
    queue = [(location, 0)]
    seen: set[str] = set()
    pages: list[ListedURL] = []
    while queue and len(seen) < MAX_SITEMAPS:
        where, depth = queue.pop(0)
        if where in seen:
            continue
        seen.add(where)
        found, children = parse_sitemap(read_location(where, policy))
        pages.extend(found)
        if depth < MAX_DEPTH:
            queue.extend((child, depth + 1) for child in children)
    if queue:
        log.warning("sitemap %s: stopped after %d sitemaps", location, MAX_SITEMAPS)
    return pages


def read_url_list(path: str | Path) -> list[ListedURL]:
    """A text file with one URL a line; blank lines and # comments are skipped."""
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise ListingError(f"cannot read {path}: {exc.strerror}") from None
    listed = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        url = _canonical(line)
        if url is None:
            log.warning("%s:%d: not an http(s) URL, skipped: %.80s", path, number, line)
            continue
        listed.append(ListedURL(url))
    return listed


def dedupe(urls: Iterable[ListedURL]) -> list[ListedURL]:
    seen: dict[str, ListedURL] = {}
    for item in urls:
        seen.setdefault(item.url, item)
    return list(seen.values())


def collect(sitemap: str | None, url_list: str | None, policy: HttpPolicy) -> list[ListedURL]:
    """The URLs of every listing given, each once."""
    found: list[ListedURL] = []
    if sitemap:
        found += from_sitemap(sitemap, policy)
    if url_list:
        found += read_url_list(url_list)
    return dedupe(found)


def as_entry(source: str, item: ListedURL) -> FeedEntry:
    """A listed URL as if a feed had offered it, so the monitor's queue takes it."""
    return FeedEntry(
        source, item.url, item.url, item.title, item.summary, item.published_at, None, None
    )
