"""The daily digest flow: read the warehouse, draw charts, write the report, publish an artifact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from armswatch.flows.config import Settings
from armswatch.tasks import digest as rendering
from armswatch.warehouse.db import Warehouse

# Prefect allows only lowercase letters, digits and dashes in artifact keys.
ARTIFACT_KEY = "armswatch-digest"


@dataclass(frozen=True)
class DigestFiles:
    """Where a digest went: the HTML report, one PNG a chart, and the artifact's id."""

    day: date
    html: Path
    charts: dict[str, Path]
    artifact_id: UUID | None = None


@task(name="read-warehouse", task_run_name="read-warehouse-{day}", cache_policy=NO_CACHE)
def read_warehouse(wh: Warehouse, day: date) -> rendering.DigestData:
    with wh.connect(read_only=True) as con:
        return rendering.read_digest(con, day)


@task(name="render-digest", task_run_name="render-digest-{data.day}", cache_policy=NO_CACHE)
def render_report(data: rendering.DigestData) -> rendering.Digest:
    return rendering.render_digest(data)


@task(name="write-report", task_run_name="write-report-{report.day}", cache_policy=NO_CACHE)
def write_report(report: rendering.Digest, out_dir: Path) -> DigestFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{report.day:%Y-%m-%d}"
    charts = {}
    for name, png in report.charts.items():
        charts[name] = _write(out_dir / f"{stem}-{name}.png", png)
    html = _write(out_dir / f"{stem}.html", report.html.encode("utf-8"))
    return DigestFiles(report.day, html, charts)


@task(name="publish-digest", task_run_name="publish-digest-{report.day}", cache_policy=NO_CACHE)
def publish_artifact(report: rendering.Digest, files: DigestFiles) -> UUID:
    footer = f"\n---\nThe full report, with charts: {rendering.escape_markdown(files.html)}\n"
    return create_markdown_artifact(
        markdown=report.markdown + footer,
        key=ARTIFACT_KEY,
        description=f"armswatch digest for {report.day:%Y-%m-%d}",
    )


def _write(path: Path, data: bytes) -> Path:
    """Write beside the target, then rename, so a reader never sees half a report."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def report_day(day: str | None, now: datetime) -> date:
    """The day a digest covers: an ISO date, `today` or `yesterday` (UTC); today when unset.

    A schedule that runs early in the morning wants `yesterday`, the last whole day.
    """
    today = now.astimezone(UTC).date()
    if day in (None, "", "today"):
        return today
    if day == "yesterday":
        return today - timedelta(days=1)
    return date.fromisoformat(day)


def default_out_dir(db: str) -> Path:
    """A `reports/` folder beside the warehouse file (for a lake: in the working directory)."""
    if db.startswith("ducklake:"):
        return Path("reports").resolve()
    return Path(db).resolve().parent / "reports"


@flow(name="digest", log_prints=False)
def digest(
    db: str | None = None, day: str | None = None, out_dir: str | None = None
) -> DigestFiles:
    """Write the day's digest (HTML and PNG charts) and publish it as a markdown artifact."""
    settings = Settings()
    wh = settings.warehouse(db)
    db = wh.path
    if not wh.lake and not Path(db).is_file():
        raise FileNotFoundError(f"no warehouse at {db}")
    on = report_day(day, datetime.now(UTC))
    target = Path(out_dir) if out_dir else default_out_dir(db)
    logger = get_run_logger()

    data = read_warehouse(wh, on)
    report = render_report(data)
    files = write_report(report, target)
    artifact_id = publish_artifact(report, files)
    logger.info(
        "day=%s new_statements=%d window_statements=%d speakers=%d restated=%d edited=%d "
        "charts=%d html=%s",
        on, report.counts["new_statements"], report.counts["window_statements"],
        report.counts["speakers"], report.counts["restated"], report.counts["edited"],
        len(files.charts), files.html,
    )
    return DigestFiles(files.day, files.html, files.charts, artifact_id)


if __name__ == "__main__":
    digest()
