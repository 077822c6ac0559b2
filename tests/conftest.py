"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from armswatch.demo.server import ReplayServer
from armswatch.tasks.http import HttpPolicy

# ---------------------------------------------------------------------------
# Network fixtures: the local replay server and a fast HTTP policy for it.
# Everything here talks to 127.0.0.1 only.
# ---------------------------------------------------------------------------


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """An empty folder the `replay_server` serves; tests write their files into it."""
    root = tmp_path / "site"
    root.mkdir()
    return root


@pytest.fixture
def replay_server(site_dir: Path) -> Iterator[ReplayServer]:
    """A ReplayServer on 127.0.0.1, port 0, serving `site_dir`; stopped after the test."""
    with ReplayServer([site_dir]) as server:
        yield server


@pytest.fixture
def local_policy() -> HttpPolicy:
    """A policy for the loopback server: private hosts allowed, no delay, short timeouts."""
    return HttpPolicy(
        allow_private_hosts=True,
        min_delay_seconds=0.0,
        connect_timeout=2.0,
        read_timeout=2.0,
        total_timeout=5.0,
        retries=1,
        backoff_seconds=0.01,
        max_retry_after=5.0,
    )


# --------------------------- end of network fixtures ------------------------


# ---------------------------------------------------------------------------
# Prefect: one test harness (a temporary API on SQLite) for the whole session,
# since entering one takes ~10 s.
# ---------------------------------------------------------------------------

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "armswatch,httpx,trafilatura")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
