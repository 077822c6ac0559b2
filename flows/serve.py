"""The monitor and digest on their schedules in one process: `armswatch serve`."""

from __future__ import annotations

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from armswatch.flows.digest import digest
from armswatch.flows.monitor import configured, monitor

# A monitor run never overlaps the previous one: a run due while one is
# still going is cancelled, and the next on-time run catches up.
ONE_AT_A_TIME = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)


def serve_all(sources: str, db: str, every_minutes: int = 15, digest_cron: str = "0 6 * * *"):
    """Serve `monitor` every `every_minutes` and `digest` on `digest_cron`, until interrupted."""
    serve(
        configured(monitor).to_deployment(
            name="monitor",
            cron=f"*/{every_minutes} * * * *" if 60 % every_minutes == 0 else None,
            interval=None if 60 % every_minutes == 0 else every_minutes * 60,
            parameters={"sources": sources, "db": db},
            concurrency_limit=ONE_AT_A_TIME,
            tags=["armswatch"],
        ),
        digest.to_deployment(
            name="digest",
            cron=digest_cron,
            parameters={"db": db, "day": "yesterday"},
            concurrency_limit=ONE_AT_A_TIME,
            tags=["armswatch"],
        ),
    )
