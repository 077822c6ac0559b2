"""Fetch article pages politely: conditional GET, robots.txt, type and size checks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from armswatch.tasks.http import (
    Decision,
    HostMemory,
    HttpError,
    HttpPolicy,
    HttpRequest,
    HttpResponse,
    get_many,
    is_transient_status,
)
from armswatch.tasks.models import FetchedPage, FetchRequest

log = logging.getLogger("armswatch.fetch")

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.8, */*;q=0.1"
TEXT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_BINARY_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)


def fetch_pages(
    requests: Sequence[FetchRequest],
    policy: HttpPolicy,
    *,
    journal: list[Decision] | None = None,
    memory: HostMemory | None = None,
) -> list[FetchedPage]:
    """Fetch every page concurrently within the policy; one FetchedPage a request, in order.

    Never raises for a bad page: failures are recorded in `error`, with
    `permanent` set when a retry later cannot help. `journal`, when given,
    receives the HTTP client's delay and retry decisions.
    """
    http_requests = [
        HttpRequest(
            url=r.url,
            etag=r.etag,
            last_modified=r.last_modified,
            min_delay_seconds=r.min_delay_seconds,
            accept=PAGE_ACCEPT,
        )
        for r in requests
    ]
    results = get_many(http_requests, policy, journal=journal, memory=memory)
    fetched_at = datetime.now(UTC)
    return [
        _to_page(request, result, fetched_at)
        for request, result in zip(requests, results, strict=True)
    ]


def _to_page(
    request: FetchRequest, result: HttpResponse | HttpError, fetched_at: datetime
) -> FetchedPage:
    if isinstance(result, HttpError):
        return FetchedPage(
            article_id=request.article_id,
            url=request.url,
            fetched_at=fetched_at,
            status=None,
            error=str(result),
            permanent=result.permanent,
        )
    page = FetchedPage(
        article_id=request.article_id,
        url=request.url,
        fetched_at=result.received_at or fetched_at,
        status=result.status,
        final_url=result.final_url,
        etag=result.etag,
        last_modified=result.last_modified,
    )
    if result.status == 304:
        # A 304 may omit the validators; the ones sent are still the current ones.
        return replace(
            page,
            not_modified=True,
            etag=page.etag or request.etag,
            last_modified=page.last_modified or request.last_modified,
        )
    if not 200 <= result.status < 300:
        return replace(
            page,
            error=f"HTTP {result.status}",
            permanent=not is_transient_status(result.status),
        )
    content_type = result.content_type or sniff_content_type(result.body)
    if content_type not in TEXT_TYPES:
        return replace(page, error=f"unsupported content type: {content_type}", permanent=True)
    if result.truncated:
        # The start of an oversized page still carries its article; keep it.
        log.warning("page %s cut at %d bytes", request.url, len(result.body))
    return replace(page, body=result.body, content_type=content_type, encoding=result.charset)


def sniff_content_type(body: bytes) -> str:
    """A media type guessed from the first bytes, for responses that name none."""
    for magic, media_type in _BINARY_MAGIC:
        if body.startswith(magic):
            return media_type
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "text/html"
    if b"\x00" in body[:1024]:
        return "application/octet-stream"
    return "text/plain"
