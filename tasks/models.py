"""The records the stages exchange: plain frozen dataclasses, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

STANCES = ("assert", "condemn", "deny", "demand")


@dataclass(frozen=True, slots=True)
class Source:
    """A feed to poll, as the sources file names it."""

    name: str
    url: str
    lang: str | None = None
    tags: tuple[str, ...] = ()
    min_delay_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the previous poll of a source left behind for conditional GET."""

    source: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, its link already canonicalised."""

    source: str
    entry_key: str  # the feed's id/guid, or the canonical URL when it has none
    url: str
    title: str | None = None
    summary: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """The outcome of polling one source once."""

    source: str
    polled_at: datetime
    http_status: int | None
    entries: tuple[FeedEntry, ...] = ()
    error: str | None = None
    not_modified: bool = False  # 304, or a body identical to the previous poll
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    bozo: str | None = None  # feedparser's complaint about a feed it still parsed


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """An article page to fetch, with what is known about it already."""

    article_id: str
    url: str
    source: str
    etag: str | None = None
    last_modified: str | None = None
    min_delay_seconds: float | None = None
    # what the feed said, for when the page itself yields no text
    feed_title: str | None = None
    feed_summary: str | None = None
    feed_published_at: datetime | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """The answer to one FetchRequest; `body` is None when there is nothing to read."""

    article_id: str
    url: str
    fetched_at: datetime
    status: int | None
    final_url: str | None = None
    body: bytes | None = None
    content_type: str | None = None
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    permanent: bool = False  # True when retrying later cannot help (404, 410, refused)


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """The readable content of a page, or of the feed entry when the page gave none."""

    article_id: str
    text: str
    title: str | None = None
    published_at: datetime | None = None
    lang: str | None = None
    method: str = "trafilatura"  # or "feed-summary"


@dataclass(frozen=True, slots=True)
class PreviousVersion:
    """The latest stored version of an article, against which a new text is compared."""

    article_id: str
    version: int
    content_hash: str
    text: str
    method: str


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A new version of an article and, from the second one on, its diff."""

    article_id: str
    version: int
    fetched_at: datetime
    content_hash: str
    text: str
    lang: str | None
    method: str
    added_sentences: tuple[str, ...] = ()
    removed_sentences: tuple[str, ...] = ()
    unified_diff: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """A number-bearing claim inside a statement."""

    weapon: str | None = None
    quantity: float | None = None
    unit: str | None = None
    direction: str | None = None  # "kp->ru" or "ru->kp"
    period: str | None = None


@dataclass(frozen=True, slots=True)
class KnownStatement:
    """A statement already in the warehouse, as the identity index needs it."""

    statement_id: str
    speaker: str | None
    stance: str
    text: str
    lang: str | None
    signature: str  # the detector's serialised identity features


@dataclass(frozen=True, slots=True)
class Detection:
    """One statement found in a document."""

    doc_id: str
    sentence_index: int
    text: str
    speaker: str | None
    stance: str
    score: float
    statement_id: str
    is_new: bool
    lang: str | None
    signature: str
    facts: tuple[Fact, ...] = ()
    evidence: dict[str, object] = field(default_factory=dict, hash=False, compare=False)
    answers_statement_id: str | None = None
