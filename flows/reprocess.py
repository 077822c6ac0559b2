"""Ad-hoc flow: detect statements again over every stored version, after a topic profile changed."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from armswatch.flows.config import Settings
from armswatch.tasks import load
from armswatch.tasks.detect import Detector
from armswatch.tasks.models import Detection, VersionRecord
from armswatch.warehouse.db import Warehouse


@task(name="detect-all-versions", cache_policy=NO_CACHE)
def detect_all(wh: Warehouse, profile: str) -> list[tuple[VersionRecord, list[Detection]]]:
    """Every version through a fresh detector, oldest first, as if each arrived anew."""
    detector = Detector.from_profile(profile)
    return [
        (version, detector.detect(version.article_id, version.text, version.lang))
        for version in load.versions_in_order(wh)
    ]


@task(name="replace-statements", cache_policy=NO_CACHE)
def replace_statements(
    wh: Warehouse, profile: str, found: list[tuple[VersionRecord, list[Detection]]]
) -> dict[str, int]:
    return load.replace_detections(wh, profile, found)


@flow(name="reprocess", log_prints=False)
def reprocess(db: str | None = None, profile: str | None = None) -> dict[str, int]:
    """Replace a profile's statements, sightings and facts with a new detection over all versions.

    Statement ids derive from what was said and by whom, so a rerun with the
    same profile changes nothing, and statements a profile change leaves alone
    keep their ids.
    """
    settings = Settings()
    wh = settings.warehouse(db)
    logger = get_run_logger()
    started = datetime.now(UTC)
    with wh.run_lock(wait=True):
        wh.migrate()
        name = Detector.from_profile(profile or settings.profile).profile_name
        found = detect_all(wh, profile or settings.profile)
        counts = replace_statements(wh, name, found)
        # What a new profile finds in stored versions was said in the past: no
        # monitor run should announce it as new.
        load.settle_unannounced(wh, None, started)
    counts["versions"] = len(found)
    logger.info(" ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


if __name__ == "__main__":
    reprocess()
