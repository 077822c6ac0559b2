"""The warehouse side of the pipeline: stage records in, rows out, and the fetch schedule."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from armswatch.tasks.diff import Skipped
from armswatch.tasks.models import (
    Detection,
    ExtractedText,
    FeedPoll,
    FeedState,
    FetchedPage,
    FetchRequest,
    KnownStatement,
    PreviousVersion,
    Source,
    VersionRecord,
)
from armswatch.tasks.publish import RunReport
from armswatch.warehouse import queries, store
from armswatch.warehouse.db import Warehouse

# Re-check schedule: an article is looked at again after a quarter of its age,
# so often while young and rarely once old, and no longer after MAX_AGE.
MIN_RECHECK = timedelta(minutes=15)
MAX_RECHECK = timedelta(days=7)
MAX_AGE = timedelta(days=60)
MAX_FAILURES = 6


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """What one batch added to the warehouse."""

    fetched: int
    failed: int
    versions: int
    new_articles: int
    changed_articles: int
    statements: int
    sightings: int
    epoch: int  # the statement epoch after this batch


def next_check(now: datetime, born: datetime | None) -> datetime | None:
    """When to look at an article again after a successful fetch; None once it is old."""
    age = now - born if born is not None else timedelta(0)
    if age > MAX_AGE:
        return None
    return now + min(MAX_RECHECK, max(MIN_RECHECK, age / 4))


def retry_after_failure(now: datetime, failures: int) -> datetime | None:
    """Back off after transient failures (10 min, 20 min, 40 min…); give up after MAX_FAILURES."""
    if failures >= MAX_FAILURES:
        return None
    return now + timedelta(minutes=10) * 2 ** (failures - 1)


def read_feed_states(wh: Warehouse) -> dict[str, FeedState]:
    with wh.connect(read_only=True) as con:
        states = store.feed_states(con)
    return {name: FeedState(name, *values) for name, values in states.items()}


def record_polls(
    wh: Warehouse, sources: Sequence[Source], polls: Sequence[FeedPoll], run_id: str
) -> dict[str, int]:
    """Store the polls and their entries in one transaction; return new entries per source."""
    by_name = {s.name: s for s in sources}
    source_rows: list[dict[str, Any]] = []
    poll_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    for poll in polls:
        source = by_name[poll.source]
        ok = poll.error is None
        source_rows.append(
            {
                "name": source.name, "url": source.url, "lang": source.lang,
                "tags": list(source.tags), "etag": poll.etag,
                "last_modified": poll.last_modified, "body_hash": poll.body_hash,
                "last_polled_at": poll.polled_at, "last_ok_at": poll.polled_at if ok else None,
            }
        )
        poll_rows.append(
            {
                "source": poll.source, "polled_at": poll.polled_at,
                "http_status": poll.http_status, "entries_seen": len(poll.entries),
                "error": poll.error, "not_modified": poll.not_modified, "bozo": poll.bozo,
                "run_id": run_id,
            }
        )
        for entry in poll.entries:
            entry_rows.append(
                {
                    "source": entry.source, "entry_key": entry.entry_key,
                    "article_id": store.article_id_for(entry.url), "url": entry.url,
                    "title": entry.title, "summary": entry.summary,
                    "published_at": entry.published_at, "updated_at": entry.updated_at,
                    "lang": entry.lang or source.lang,
                    "first_seen_at": poll.polled_at, "last_seen_at": poll.polled_at,
                }
            )
    def write() -> dict[str, int]:
        with wh.transaction() as con:
            return store.record_polls(con, source_rows, poll_rows, entry_rows)

    return wh.retrying(write)


def plan_fetches(
    wh: Warehouse,
    now: datetime,
    limit: int,
    recheck_all: bool = False,
    delays: Mapping[str, float | None] | None = None,
    sources: Sequence[str] | None = None,
) -> list[FetchRequest]:
    """The articles a run fetches, oldest obligations first; only of `sources` if given."""
    with wh.connect(read_only=True) as con:
        rows = store.due_articles(con, now, limit, recheck_all, sources)
    delays = delays or {}
    return [FetchRequest(**row, min_delay_seconds=delays.get(row["source"])) for row in rows]


def previous_versions(wh: Warehouse, article_ids: Sequence[str]) -> dict[str, PreviousVersion]:
    with wh.connect(read_only=True) as con:
        rows = store.previous_versions(con, article_ids)
    return {aid: PreviousVersion(aid, *values) for aid, values in rows.items()}


def load_known_statements(wh: Warehouse, profile: str) -> tuple[list[KnownStatement], int]:
    """The statements a profile knows and the statement epoch, from one snapshot."""
    with wh.connect(read_only=True) as con:
        con.execute("BEGIN TRANSACTION")
        rows = store.known_statements(con, profile)
        epoch = store.statement_epoch(con)
        con.execute("COMMIT")
    return [KnownStatement(*row) for row in rows], epoch


def record_batch(
    wh: Warehouse,
    now: datetime,
    pages: Sequence[FetchedPage],
    extracted: Sequence[ExtractedText | None],
    versions: Sequence[VersionRecord],
    skipped: Sequence[Skipped],
    detections: Sequence[Detection],
    profile: str,
    expected_epoch: int | None = None,
) -> BatchCounts:
    """Store one batch — versions, diffs, statements, sightings, facts and fetch state — at once.

    Raises StaleStatements when another writer added statements since
    `expected_epoch`: detect the batch again with what is known now, and retry.
    """
    texts = {e.article_id: e for e in extracted if e is not None}
    new_versions = {v.article_id: v for v in versions}
    skip_reasons = {s.article_id: s.reason for s in skipped}
    with wh.connect(read_only=True) as con:
        states = store.article_states(con, [p.article_id for p in pages])

    updates: list[dict[str, Any]] = []
    failed = 0
    for page in pages:
        state = states.get(page.article_id, {})
        text = texts.get(page.article_id)
        version = new_versions.get(page.article_id)
        row: dict[str, Any] = {
            "article_id": page.article_id, "etag": page.etag,
            "last_modified": page.last_modified, "final_url": page.final_url,
            "last_fetched_at": page.fetched_at,
            "current_version": version.version if version else state.get("current_version", 0),
        }
        if page.permanent:
            failed += 1
            row |= {
                "status": "gone" if page.status in (404, 410) else "failed",
                "failures": int(state.get("failures") or 0) + 1,
                "last_error": page.error, "next_check_at": None,
            }
        elif page.error is not None and not page.not_modified and text is None:
            failed += 1
            failures = int(state.get("failures") or 0) + 1
            never_fetched = state.get("current_version", 0) == 0
            row |= {
                "status": "failed" if failures >= MAX_FAILURES
                else ("pending" if never_fetched else "ok"),
                "failures": failures, "last_error": page.error,
                "next_check_at": retry_after_failure(now, failures),
            }
        else:
            born = (
                (text.published_at if text else None)
                or state.get("published_at")
                or state.get("first_seen_at")
            )
            reason = skip_reasons.get(page.article_id)
            row |= {
                "status": "ok", "failures": 0,
                "last_error": reason if reason and reason != "unchanged" else None,
                "next_check_at": next_check(now, born),
                "last_changed_at": version.fetched_at if version else None,
            }
        if text is not None:
            row |= {"title": text.title, "published_at": text.published_at, "lang": text.lang}
        updates.append(row)

    version_rows = [
        {
            "article_id": v.article_id, "version": v.version, "fetched_at": v.fetched_at,
            "content_hash": v.content_hash, "text": v.text,
            "title": texts[v.article_id].title if v.article_id in texts else None,
            "lang": v.lang, "method": v.method,
        }
        for v in versions
    ]
    diff_rows = [
        {
            "article_id": v.article_id, "from_version": v.version - 1, "to_version": v.version,
            "detected_at": v.fetched_at, "added_sentences": list(v.added_sentences),
            "removed_sentences": list(v.removed_sentences), "unified_diff": v.unified_diff,
        }
        for v in versions
        if v.version > 1
    ]
    statement_rows, sighting_rows, fact_rows = detection_rows(detections, new_versions, profile)
    with wh.transaction() as con:
        counts = store.record_batch(
            con, updates, version_rows, diff_rows, statement_rows, sighting_rows, fact_rows,
            expected_epoch,
        )
    return BatchCounts(
        fetched=len(pages) - failed,
        failed=failed,
        versions=counts["versions"],
        new_articles=sum(1 for v in versions if v.version == 1),
        changed_articles=counts["diffs"],
        statements=counts["statements"],
        sightings=counts["sightings"],
        epoch=counts["epoch"],
    )


def detection_rows(
    detections: Sequence[Detection],
    versions: Mapping[str, VersionRecord],
    profile: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for statements (new ones only), sightings and facts from a batch's detections."""
    statements: dict[str, dict[str, Any]] = {}
    sightings: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    for d in detections:
        version = versions[d.doc_id]
        if d.is_new and d.statement_id not in statements:
            statements[d.statement_id] = {
                "statement_id": d.statement_id, "first_seen_at": version.fetched_at,
                "speaker": d.speaker, "stance": d.stance, "text": d.text, "lang": d.lang,
                "score": d.score, "profile": profile, "signature": d.signature,
                "answers_statement_id": d.answers_statement_id,
            }
            facts.extend(
                {
                    "statement_id": d.statement_id, "fact_index": i, "weapon": f.weapon,
                    "quantity": f.quantity, "unit": f.unit, "direction": f.direction,
                    "period": f.period,
                }
                for i, f in enumerate(d.facts)
            )
        sightings.append(
            {
                "statement_id": d.statement_id, "article_id": d.doc_id,
                "version": version.version, "sentence_index": d.sentence_index,
                "sentence": d.text, "seen_at": version.fetched_at, "speaker": d.speaker,
                "stance": d.stance, "score": d.score, "lang": d.lang,
                "evidence": json.dumps(d.evidence, ensure_ascii=False, default=str),
            }
        )
    return list(statements.values()), sightings, facts


def _named_rows(wh: Warehouse, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    with wh.connect(read_only=True) as con:
        cursor = con.execute(queries.load(name), dict(params))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def run_report(wh: Warehouse, since: datetime, until: datetime, counts_line: str) -> RunReport:
    """What a run stored, read back from the warehouse through the run_* queries."""
    window = {"since": since, "until": until}
    return RunReport(
        counts_line,
        _named_rows(wh, "run_new_statements", window),
        _named_rows(wh, "run_known_sightings", window),
        _named_rows(wh, "run_article_changes", window),
    )


def latest_statements(wh: Warehouse, limit: int = 200) -> list[dict[str, Any]]:
    """The newest statements with their first sighting, newest first."""
    with wh.connect(read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM new_statements ORDER BY first_seen_at DESC, statement_id LIMIT ?",
            [limit],
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def table_rows(wh: Warehouse, tables: Sequence[str]) -> dict[str, int]:
    """Row counts of some tables, for asset metadata."""
    with wh.connect(read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def versions_in_order(wh: Warehouse, page: int = 500) -> Iterator[VersionRecord]:
    """Every stored version, oldest fetch first, read a page at a time."""
    after = None
    while True:
        with wh.connect(read_only=True) as con:
            rows = store.versions_in_order(con, after, page)
        if not rows:
            return
        for fetched_at, article_id, version, text, lang, _title, digest, method in rows:
            yield VersionRecord(article_id, version, fetched_at, digest, text, lang, method)
        after = (rows[-1][0], rows[-1][1], rows[-1][2])


def replace_detections(
    wh: Warehouse, profile: str, found: Sequence[tuple[VersionRecord, Sequence[Detection]]]
) -> dict[str, int]:
    """Store a full re-detection of a profile in one transaction, replacing the old one."""
    statements: dict[str, dict[str, Any]] = {}
    sightings: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    for version, detections in found:
        s, g, f = detection_rows(detections, {version.article_id: version}, profile)
        for row in s:
            statements.setdefault(row["statement_id"], row)
        sightings += g
        facts += f  # a statement is new, and so carries its facts, only once
    with wh.transaction() as con:
        return store.replace_detections(con, profile, list(statements.values()), sightings, facts)


def record_run(
    wh: Warehouse, run_id: str, flow: str, started: datetime, finished: datetime,
    counts: Mapping[str, int],
) -> None:
    """One row a run in `runs`, with its counts, for operators' queries."""
    row = {"run_id": run_id, "flow": flow, "started_at": started, "finished_at": finished,
           "counts": json.dumps(dict(counts))}
    def write() -> None:
        with wh.transaction() as con:
            store.insert_new(con, "runs", [row])

    wh.retrying(write)


def unannounced_statements(wh: Warehouse) -> list[dict[str, Any]]:
    """Statements no monitor run has announced yet, oldest first, as run_new_statements rows."""
    return _named_rows(wh, "unannounced_statements", {})


def mark_announced(wh: Warehouse, statement_ids: Sequence[str], at: datetime) -> None:
    """Record that a run's notice, events and artifacts have named these statements."""
    if not statement_ids:
        return

    def write() -> None:
        with wh.transaction() as con:
            con.execute(
                "UPDATE statements SET announced_at = $at "
                "WHERE announced_at IS NULL AND list_contains($ids, statement_id)",
                {"at": at, "ids": list(statement_ids)},
            )

    wh.retrying(write)


def settle_unannounced(wh: Warehouse, since: datetime | None, until: datetime | None) -> None:
    """Mark statements first seen in [since, until] as announced without announcing them.

    For flows that find statements in the past (a backfill, a reprocess): what
    they find is history, not news, and the next monitor run must not send it
    out as new.
    """

    def write() -> None:
        with wh.transaction() as con:
            con.execute(
                "UPDATE statements SET announced_at = first_seen_at WHERE announced_at IS NULL "
                "AND ($since IS NULL OR first_seen_at >= $since) "
                "AND ($until IS NULL OR first_seen_at <= $until)",
                {"since": since, "until": until},
            )

    wh.retrying(write)
