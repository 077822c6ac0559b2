"""armswatch run as a Prefect shop runs it: server, deployments, worker, artifacts, events, UI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from armswatch.demo.server import ReplayServer
from tests.helpers import REPO

SITE = Path(__file__).parent / "fixtures" / "site"
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")


def prefect(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        ["prefect", "--no-prompt", *args], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Server:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.api = f"{url}/api"
        self.env = env

    def request(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        # Prefect's own client retries a busy server's 503 (its SQLite database
        # locked while the rest of the suite runs); these raw calls do the same.
        for attempt in range(5):
            response = httpx.request(method, f"{self.api}{path}", json=body, timeout=30)
            if response.status_code != 503 or attempt == 4:
                return response.raise_for_status()
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def post(self, path: str, body: dict) -> list | dict:
        return self.request("POST", path, body).json()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ARMSWATCH_"))
    }
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "armswatch,httpx,trafilatura",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "ARMSWATCH_HOME": str(REPO),
        "ARMSWATCH_HTTP_LOG_LEVEL": "INFO",  # so httpx's request lines show in the run logs
        # A run started without parameters must not reach past 127.0.0.1:
        # these sources name only __BASE__, which nothing fills in for it.
        "ARMSWATCH_SOURCES": str(SITE / "sources.toml"),
        "ARMSWATCH_DB": str(home / "unused.duckdb"),
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 120, "prefect server to start")
        yield Server(url, env)
    finally:
        _stop(server)
        log.close()


@pytest.fixture(scope="module")
def deployed(prefect_server: Server, tmp_path_factory) -> Iterator[Server]:
    env = prefect_server.env
    prefect(env, "work-pool", "create", "armswatch", "--type", "process")
    prefect(env, "deploy", "--all", "--prefect-file", "deploy/prefect.yaml")
    # Only the runs a test starts may run: a scheduled one would take the
    # monitor's single slot, and would poll the default sources.
    for deployment in prefect_server.post("/deployments/filter", {}):
        for schedule in deployment["schedules"]:
            prefect_server.request(
                "PATCH",
                f"/deployments/{deployment['id']}/schedules/{schedule['id']}",
                {"active": False},
            )
    logs = tmp_path_factory.mktemp("worker") / "worker.log"
    with logs.open("w") as log:
        worker = subprocess.Popen(
            ["prefect", "worker", "start", "--pool", "armswatch", "--limit", "2"],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield prefect_server
        finally:
            _stop(worker)


@pytest.fixture(scope="module")
def monitor_run(deployed: Server, tmp_path_factory) -> Iterator[dict]:
    """One monitor run through the deployment, against the fixture site."""
    db = tmp_path_factory.mktemp("warehouse") / "w.duckdb"
    with ReplayServer([SITE / "v1"]) as site:
        params = {
            "sources": str(SITE / "sources.toml"),
            "db": str(db),
            "substitutions": {"__BASE__": site.base_url},
        }
        out = prefect(
            deployed.env, "deployment", "run", "monitor/monitor",
            "--params", json.dumps(params), "--watch", "--watch-timeout", "300",
        )
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)
    run = deployed.request("GET", f"/flow_runs/{run_id}").json()
    assert run["state_type"] == "COMPLETED", out
    yield {"run": run, "db": db}


def test_deployments_exist_with_schedules_and_no_overlap(deployed):
    deployments = {d["name"]: d for d in deployed.post("/deployments/filter", {})}
    assert set(deployments) == {"monitor", "digest", "backfill", "reprocess"}
    monitor = deployments["monitor"]
    assert [s["schedule"]["cron"] for s in monitor["schedules"]] == ["*/15 * * * *"]
    assert not any(s["active"] for d in deployments.values() for s in d["schedules"])
    assert monitor["concurrency_limit"] == 1 or (
        monitor.get("global_concurrency_limit", {}) or {}
    ).get("limit") == 1
    assert monitor["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert [s["schedule"]["cron"] for s in deployments["digest"]["schedules"]] == ["0 6 * * *"]


def test_run_publishes_artifacts_and_events(deployed, monitor_run):
    run_id = monitor_run["run"]["id"]
    artifacts = deployed.post("/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [run_id]}},
    })  # fmt: skip
    keys = {a["key"] for a in artifacts}
    assert {"armswatch-monitor-summary", "armswatch-new-statements"} <= keys
    summary = next(a for a in artifacts if a["key"] == "armswatch-monitor-summary")
    assert "New statements" in summary["data"]

    def events() -> list:
        found = deployed.post("/events/filter", {
            "filter": {"event": {"prefix": ["armswatch."]}}, "limit": 50,
        })  # fmt: skip
        return found.get("events", [])

    seen = wait_for(events, 60, "armswatch events")
    statement = next(e for e in seen if e["event"] == "armswatch.statement.new")
    assert statement["resource"]["armswatch.stance"] in {"assert", "condemn", "deny", "demand"}
    assert statement["payload"]["url"].startswith("http://127.0.0.1:")

    logs = deployed.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}})
    messages = "\n".join(entry["message"] for entry in logs)
    assert "feeds=3" in messages  # the run's closing line of counts
    assert "HTTP Request: GET http://127.0.0.1" in messages  # httpx's own log lines
    assert "polled 3 sources: 2 with news, 0 unchanged, 1 failed" in messages  # armswatch's

    def materialized() -> set[str]:
        found = deployed.post("/events/filter", {
            "filter": {"event": {"prefix": ["prefect.asset.materialization"]}}, "limit": 50,
        })  # fmt: skip
        return {e["resource"]["prefect.resource.id"] for e in found.get("events", [])}

    assets = wait_for(lambda: len(materialized()) >= 3 and materialized(), 60, "asset events")
    tables = {key.rsplit("/", 1)[-1] for key in assets if key.startswith("duckdb://")}
    assert {"articles", "article_versions", "statements"} <= tables


def _chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_ui_shows_the_run_and_its_artifact(deployed, monitor_run, tmp_path):
    from selenium.webdriver.common.by import By

    run = monitor_run["run"]
    artifacts = deployed.post("/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [run["id"]]},
                      "key": {"any_": ["armswatch-monitor-summary"]}},
    })  # fmt: skip
    browser = _chrome()
    try:
        browser.get(f"{deployed.url}/runs/flow-run/{run['id']}")
        wait_for(lambda: run["name"] in browser.find_element(By.TAG_NAME, "body").text, 60,
                 "the flow run page")
        browser.get(f"{deployed.url}/artifacts/artifact/{artifacts[0]['id']}")
        wait_for(lambda: "New statements" in browser.find_element(By.TAG_NAME, "body").text,
                 60, "the artifact's text")
        browser.save_screenshot(str(tmp_path / "artifact.png"))
    finally:
        browser.quit()
