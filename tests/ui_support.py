"""A real `dagster dev` (webserver + daemon) for the end-to-end tests, driven as users do.

The server runs in its own process group on a free port, with a temporary `DAGSTER_HOME`
written by `ensure_instance` (the instance yaml users get: two runs at a time, one
ingestion at a time), so the tests exercise the run queue, the pools and the backfill
daemon rather than an in-process stand-in. Teardown always kills the whole group: run
workers and step processes are children of the server and must not outlive a test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from compass_pipeline.cli import ensure_instance

REPO = Path(__file__).resolve().parents[1]
LOCATION = "assets_defs.definitions"
PARTITIONS_START = "2026-03-01"
HOME_DIR = "dagster_home"  # DAGSTER_HOME under a test's root folder
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Backfill statuses after which the daemon does nothing more (BulkActionStatus).
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on PartitionSetNotFoundError { message }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id
      status
      partitionNames
      error { message }
      runs(limit: 20) { runId status startTime endTime }
    }
    ... on PythonError { message }
  }
}
"""

LOCATION_STATUS = """
{ workspaceOrError { __typename ... on Workspace {
    locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def simulate_raw(out: Path) -> Path:
    """Four tiny simulated days: enough for ranges inside March, cheap on 2 cores."""
    from compass_pipeline.simulate import simulate

    simulate(out, start=date(2026, 3, 1), days=4, seed=5, scale=80)
    return out


def refresh_keys(first_day: int, last_day: int, hours: Sequence[int] = (4, 12, 20)) -> list[str]:
    """LIVE-list refresh keys of March 2026 days `first_day..last_day`, in order."""
    return [
        f"2026-03-{day:02d}T{hour:02d}:00"
        for day in range(first_day, last_day + 1)
        for hour in hours
    ]


@dataclass
class DagsterDev:
    """A running `dagster dev` and the directories it works on."""

    url: str
    home: Path
    raw_dir: Path
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def log_tail(self, chars: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    def launch_job_backfill(self, job: str, partition_keys: Sequence[str]) -> str:
        """Launch a backfill of a job's partitions with the very request the UI sends from
        the job page (*Materialize all…*, a range, *Launch backfill*)."""
        params = {
            "selector": {
                "partitionSetName": f"{job}_partition_set",
                "repositorySelector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": "__repository__",
                },
            },
            "partitionNames": list(partition_keys),
            "fromFailure": False,
            "tags": [{"key": "dagster/from_ui", "value": "true"}],
        }
        result = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        result = self.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        assert result["__typename"] == "PartitionBackfill", result
        return result

    def wait_for_backfills(self, backfill_ids: Sequence[str], timeout: float = 420) -> list[dict]:
        """Poll until every backfill is terminal and each of its runs has finished."""
        deadline = time.monotonic() + timeout
        while True:
            states = [self.backfill(backfill_id) for backfill_id in backfill_ids]
            done = all(
                state["status"] in TERMINAL and all(run["endTime"] for run in state["runs"])
                for state in states
            )
            if done:
                return states
            if time.monotonic() > deadline or self.process.poll() is not None:
                summary = [(s["id"], s["status"], [r["status"] for r in s["runs"]]) for s in states]
                raise AssertionError(
                    f"backfills not finished after {timeout:.0f}s: {summary}\n"
                    f"--- dagster dev log (tail) ---\n{self.log_tail()}"
                )
            time.sleep(2)

    def instance(self):
        """The instance the server uses, opened read-mostly from the test process."""
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.home))


def _wait_until_ready(dev: DagsterDev, timeout: float) -> None:
    """Wait for `/server_info`, then for the code location to be loaded."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if dev.process.poll() is not None:
            raise RuntimeError(
                f"dagster dev exited with {dev.process.returncode}\n{dev.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{dev.url}/server_info", timeout=5) as response:
                response.read()
            workspace = dev.graphql(LOCATION_STATUS)["workspaceOrError"]
            entries = {e["name"]: e for e in workspace.get("locationEntries", [])}
            entry = entries.get(LOCATION)
            if entry and entry["loadStatus"] == "LOADED":
                error = entry["locationOrLoadError"]
                if error and error["__typename"] == "PythonError":
                    raise RuntimeError(f"code location failed to load: {error['message']}")
                return
            last_error = f"code location not loaded yet: {entry}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, AssertionError) as exc:
            last_error = repr(exc)
        time.sleep(1)
    raise RuntimeError(
        f"dagster dev not ready after {timeout:.0f}s ({last_error})\n{dev.log_tail()}"
    )


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Terminate the server's whole process group (webserver, daemon, code server, runs).

    The group is the session `Popen(start_new_session=True)` created, so only processes
    this test started are signalled; stragglers after the grace period are killed.
    """
    pgid = process.pid
    if _group_members(pgid):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _group_members(pgid):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def dagster_dev(
    root: Path, raw_dir: Path, data_dir: Path, timeout: float = 240
) -> Iterator[DagsterDev]:
    """Run `dagster dev -m assets_defs.definitions` on a free port over these directories."""
    home = ensure_instance(root / HOME_DIR)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMPASS_") and key != "DAGSTER_HOME"
    }
    env.update(
        COMPASS_RAW_DIR=str(raw_dir),
        COMPASS_DATA_DIR=str(data_dir),
        COMPASS_PARTITIONS_START=PARTITIONS_START,
        DAGSTER_HOME=str(home),
        PYTHONUNBUFFERED="1",
    )
    command = [sys.executable, "-m", "dagster", "dev", "-m", LOCATION]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log_path = root / "dagster_dev.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    dev = DagsterDev(f"http://127.0.0.1:{port}", home, raw_dir, data_dir, log_path, process)
    try:
        _wait_until_ready(dev, timeout)
        yield dev
    finally:
        _stop(process)


# the data directory, read as a user would ----------------------------------------------
def catalog_partitions(data_dir: Path) -> list[tuple[str, str]]:
    """Every (asset, partition key) row of `_partitions`, duplicates kept."""
    con = duckdb.connect(str(data_dir / "compass.duckdb"), read_only=True)
    try:
        return con.execute(
            "select asset, partition_key from _partitions where partition_key is not null "
            "order by asset, partition_key"
        ).fetchall()
    finally:
        con.close()


def partition_keys_of(data_dir: Path, asset: str) -> list[str]:
    con = duckdb.connect(str(data_dir / "compass.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select distinct partition_key from _partitions where asset = ? order by 1", [asset]
        ).fetchall()
    finally:
        con.close()
    return [row[0] for row in rows]


def copy_artifact(path: Path) -> None:
    """Copy a screenshot or log to `COMPASS_TEST_ARTIFACTS` when CI asks for them."""
    target = os.environ.get("COMPASS_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)
