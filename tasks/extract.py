"""Readable text, title, date and language out of fetched pages, with trafilatura."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import trafilatura

from armswatch.tasks.models import ExtractedText, FetchedPage, FetchRequest
from armswatch.tasks.text import detect_language

log = logging.getLogger("armswatch.extract")

# Below this many characters a page "extraction" is a cookie wall, an error
# page or a teaser; the feed's own summary is then the better text.
MIN_TEXT_CHARS = 200


def _decode(page: FetchedPage) -> str | bytes:
    """The page as text when its bytes say so reliably; bytes otherwise, for trafilatura to sniff.

    Bytes that decode as UTF-8 are UTF-8 whatever the header claims: servers
    lie about charsets far more often than non-UTF-8 text passes as UTF-8.
    """
    if page.body is None:
        return b""
    for encoding in ("utf-8", page.encoding):
        if not encoding:
            continue
        try:
            return page.body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return page.body


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def extract_page(page: FetchedPage, request: FetchRequest | None = None) -> ExtractedText | None:
    """The article in a page, else the feed's summary; None when neither has any text."""
    document = None
    if page.body:
        try:
            document = trafilatura.bare_extraction(
                _decode(page),
                url=page.final_url or page.url,
                include_comments=False,
                # The page's own title and date cost a third of the extraction
                # (≈ 6 ms a page, bench/RESULTS.md); the feed entry usually has both.
                with_metadata=not (request and request.feed_title and request.feed_published_at),
                # The fallback extractors cost 7-11 ms a page and gained nothing
                # on the 181 real pages of the extraction benchmark (bench/RESULTS.md).
                fast=True,
            )
        except Exception as exc:  # hostile HTML must cost one page, not the batch
            log.warning("extraction failed for %s: %s", page.url, exc)
    text = (document.text or "").strip() if document is not None else ""
    if len(text) >= MIN_TEXT_CHARS:
        title = document.title or (request.feed_title if request else None)
        published = _parse_date(document.date) or (request.feed_published_at if request else None)
        lang = _language(text, document.language, request)
        return ExtractedText(page.article_id, text, title, published, lang, "trafilatura")
    if request is not None and request.feed_summary and request.feed_summary.strip():
        summary = request.feed_summary.strip()
        return ExtractedText(
            page.article_id,
            summary,
            request.feed_title,
            request.feed_published_at,
            _language(summary, None, request),
            "feed-summary",
        )
    return None


def _language(text: str, declared: str | None, request: FetchRequest | None) -> str | None:
    detected = detect_language(text)
    if detected:
        return detected
    if declared:
        return declared.split("-")[0].lower()
    return request.lang if request else None
