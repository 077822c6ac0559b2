"""What a run tells its users: markdown summary, table rows, events, statements feed, notices."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from armswatch.tasks.escape import clean_text, escape_markdown, markdown_link, safe_url

log = logging.getLogger("armswatch.publish")

def _short(text: str | None, limit: int) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_short(text: str | None, limit: int = 1000) -> str:
    """Web text cut to `limit` characters, then made inert for markdown."""
    return escape_markdown(_short(text, limit))


@dataclass(frozen=True, slots=True)
class RunReport:
    """The rows a run produced, as read back from the warehouse."""

    counts_line: str
    new_statements: Sequence[Mapping[str, Any]]
    sightings: Sequence[Mapping[str, Any]]
    changes: Sequence[Mapping[str, Any]]


def summary_markdown(report: RunReport, limit: int = 50) -> str:
    """The run's markdown artifact: counts, new statements, sightings and changed articles."""
    lines = ["# armswatch monitor run", "", f"`{report.counts_line}`", ""]
    lines += [f"## New statements ({len(report.new_statements)})", ""]
    for row in report.new_statements[:limit]:
        speaker = escape_short(row.get("speaker") or "(the outlet)", 200)
        link = markdown_link(row.get("source") or "", row.get("url"))
        lines.append(
            f"- **{escape_short(row['stance'], 20)}** · {speaker}: "
            f"{escape_short(row['text'])} — {link}"
        )
    if len(report.new_statements) > limit:
        lines.append(f"- … and {len(report.new_statements) - limit} more")
    lines += ["", f"## Known statements seen again ({len(report.sightings)})", ""]
    for row in report.sightings[:limit]:
        speaker = escape_short(row.get("speaker") or "(the outlet)", 200)
        link = markdown_link(row.get("source") or "", row.get("url"))
        lines.append(
            f"- {speaker} ({escape_short(row['stance'], 20)}): "
            f"{escape_short(row['sentence'])} — {link}"
        )
    lines += ["", f"## Changed articles ({len(report.changes)})", ""]
    for row in report.changes[:limit]:
        lines.append(
            f"- {markdown_link(row.get('title') or row['url'], row['url'])} "
            f"v{row['from_version']}→v{row['to_version']}"
        )
        lines += [f"  - \\+ {escape_short(s)}" for s in row["added_sentences"][:20]]
        lines += [f"  - \\− {escape_short(s)}" for s in row["removed_sentences"][:20]]
    return "\n".join(lines) + "\n"


def statements_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rows for the table artifact of new statements, every cell escaped."""
    return [
        {
            "first_seen_at": f"{row['first_seen_at']:%Y-%m-%d %H:%M}",
            "speaker": escape_short(row.get("speaker") or "(the outlet)", 200),
            "stance": escape_short(row["stance"], 20),
            "statement": escape_short(row["text"], 500),
            "source": escape_short(row.get("source"), 100),
            "url": escape_short(safe_url(row.get("url")) or "", 500),
            "statement_id": escape_short(row["statement_id"], 64),
        }
        for row in rows
    ]


def statement_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `armswatch.statement.new` event: the statement as resource, its article as related."""
    resource = {
        "prefect.resource.id": f"armswatch.statement.{row['statement_id']}",
        "prefect.resource.name": (row.get("text") or "")[:120],
        "armswatch.speaker": row.get("speaker") or "",
        "armswatch.stance": row["stance"],
        "armswatch.source": row.get("source") or "",
        "armswatch.lang": row.get("lang") or "",
    }
    related = [
        {
            "prefect.resource.id": f"armswatch.article.{row.get('url') or ''}",
            "prefect.resource.role": "article",
            "armswatch.url": row.get("url") or "",
        }
    ]
    payload = {
        "statement_id": row["statement_id"], "speaker": row.get("speaker"),
        "stance": row["stance"], "text": row.get("text"), "url": row.get("url"),
        "source": row.get("source"), "lang": row.get("lang"),
    }
    return {"event": "armswatch.statement.new", "resource": resource, "related": related,
            "payload": payload}


def article_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `armswatch.article.changed` event, with the sentences added and removed."""
    return {
        "event": "armswatch.article.changed",
        "resource": {
            "prefect.resource.id": f"armswatch.article.{row['url']}",
            "prefect.resource.name": (row.get("title") or row["url"])[:120],
            "armswatch.url": row["url"],
            "armswatch.to_version": str(row["to_version"]),
        },
        "related": [],
        "payload": {
            "url": row["url"], "title": row.get("title"),
            "from_version": row["from_version"], "to_version": row["to_version"],
            "added_sentences": list(row["added_sentences"])[:50],
            "removed_sentences": list(row["removed_sentences"])[:50],
        },
    }


def write_statements_feed(
    path: str | Path, rows: Sequence[Mapping[str, Any]], feed_id: str, updated: datetime
) -> Path:
    """An Atom feed of the newest statements, written whole and swapped in atomically."""
    from feedgen.feed import FeedGenerator

    generator = FeedGenerator()
    generator.id(feed_id)
    generator.title("armswatch: new statements on North Korea–Russia arms transfers")
    generator.subtitle("Statements found by armswatch, newest first")
    generator.link(href=feed_id, rel="alternate")
    generator.updated(updated)
    generator.generator("armswatch")
    for row in reversed(rows):
        entry = generator.add_entry()
        entry.id(f"urn:armswatch:statement:{row['statement_id']}")
        speaker = row.get("speaker") or "the outlet"
        entry.title(f"{row['stance']}: {speaker}: {(row.get('text') or '')[:140]}")
        entry.author({"name": speaker})
        entry.published(row["first_seen_at"])
        entry.updated(row["first_seen_at"])
        # feedgen escapes text content; type="text" keeps feed readers from rendering HTML.
        entry.content(row.get("text") or "", type="text")
        if safe_url(row.get("url")):
            entry.link(href=row["url"], rel="alternate")
        entry.category(term=row["stance"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    generator.atom_file(str(partial), pretty=True)
    partial.replace(path)
    return path


def notify(urls: Sequence[str], title: str, body: str) -> bool:
    """Send one notice through Apprise (webhook, Slack, email…); False when any target failed."""
    if not urls:
        return True
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            log.warning("notification target not understood by Apprise: %s", url.split(":", 1)[0])
    ok = bool(sender.notify(title=title, body=body))
    if not ok:
        log.warning("a notification could not be delivered")
    return ok


def notice_text(report: RunReport, limit: int = 20) -> tuple[str, str]:
    """Title and plain-text body of the notice for a run with new statements."""
    n = len(report.new_statements)
    title = f"armswatch: {n} new statement{'s' if n != 1 else ''}"
    lines = [
        f"[{row['stance']}] {row.get('speaker') or '(the outlet)'}: {row['text']}\n"
        f"  {row.get('url')}"
        for row in report.new_statements[:limit]
    ]
    if n > limit:
        lines.append(f"… and {n - limit} more")
    return title, "\n".join(lines)


def now_utc() -> datetime:
    return datetime.now(UTC)
