"""Two backfills at the same time, through the daemon, as a data team launches them.

A range of stat dates of `daily_job` and a range of LIVE-list refreshes of `live_list_job`
are launched together against a real `dagster dev`, with the request the UI sends from a
job page, over the facts of an ingestion done before. The instance allows two runs at a
time, so both run at once: each writes its partitions and rebuilds the catalog while the
other does the same. Nothing may fail on a lock, and every partition must be stored exactly
once: in `_partitions`, on disk and in Dagster. (Two ingestions at once, which take the
snapshot lock in turn, are in tests/test_crash_safety.py.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dagster as dg
import duckdb
import pytest
from ui_support import (
    DagsterDev,
    catalog_partitions,
    copy_artifact,
    dagster_dev,
    refresh_keys,
    simulate_raw,
)

from assets_defs.definitions import DAILY_JOB, LIVE_LIST_JOB, partitioned_asset_names
from compass_pipeline.registry import LIVE_LIST, STAT_DATE
from compass_pipeline.storage import partition_file_name

pytestmark = pytest.mark.slow

STAT_DATES = ["2026-03-01", "2026-03-02", "2026-03-03"]
REFRESHES = refresh_keys(1, 3)
LOCK_ERROR = re.compile(
    r"conflicting lock|could not set lock|database is locked|lock.{0,40}(error|timed? ?out)",
    re.IGNORECASE,
)


def expected_partitions() -> dict[str, list[str]]:
    daily = {asset: STAT_DATES for asset in partitioned_asset_names(STAT_DATE)}
    live = {asset: REFRESHES for asset in partitioned_asset_names(LIVE_LIST)}
    return {**daily, **live}


@dataclass(frozen=True)
class Outcome:
    dev: DagsterDev
    backfills: list[dict]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> Outcome:
    """Both backfills launched back to back and waited for; the server is stopped after."""
    from compass_pipeline import pipeline
    from compass_pipeline.config import Settings

    root = tmp_path_factory.mktemp("concurrent")
    raw = simulate_raw(root / "raw")
    # the mart jobs read the stored facts: the landing zone is ingested first
    pipeline.ingest(raw, root / "data")
    pipeline.build_facts(root / "data", Settings())
    with dagster_dev(root, raw, root / "data") as dev:
        ids = [
            dev.launch_job_backfill(DAILY_JOB, STAT_DATES),
            dev.launch_job_backfill(LIVE_LIST_JOB, REFRESHES),
        ]
        backfills = dev.wait_for_backfills(ids, timeout=480)
    copy_artifact(dev.log_path)
    return Outcome(dev, backfills)


def _run_ids(outcome: Outcome) -> list[str]:
    return [run["runId"] for backfill in outcome.backfills for run in backfill["runs"]]


def test_both_backfills_succeed_each_in_one_run_and_the_runs_overlap(outcome):
    for backfill in outcome.backfills:
        assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, outcome.dev.log_tail())
        assert [run["status"] for run in backfill["runs"]] == ["SUCCESS"], backfill
    (daily,), (live,) = (backfill["runs"] for backfill in outcome.backfills)
    # The premise of the test: the two runs were in flight at the same time.
    assert daily["startTime"] < live["endTime"] and live["startTime"] < daily["endTime"]


def test_no_step_fails_and_nothing_reports_a_lock_error(outcome):
    with outcome.dev.instance() as instance:
        for run_id in _run_ids(outcome):
            failures = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            assert not failures, [event.message for event in failures]
            messages = [event.message or "" for event in instance.all_logs(run_id)]
            assert not [m for m in messages if LOCK_ERROR.search(m)]
    assert not LOCK_ERROR.search(outcome.dev.log_path.read_text(errors="replace"))


def test_every_partition_is_in_the_catalog_exactly_once(outcome):
    rows = catalog_partitions(outcome.dev.data_dir)
    expected = sorted((asset, key) for asset, keys in expected_partitions().items() for key in keys)
    assert rows == expected


def test_every_partition_is_one_parquet_file_and_no_temporary_file_is_left(outcome):
    data = outcome.dev.data_dir
    for asset, keys in expected_partitions().items():
        files = sorted(path.name for path in (data / asset).iterdir())
        assert files == sorted(partition_file_name(key) for key in keys), asset
    leftovers = [path for path in data.rglob("*") if path.name.endswith(".tmp")]
    assert not leftovers
    # one ingestion, one raw snapshot
    snapshots = sorted(p.name for p in data.iterdir() if p.name.startswith("raw."))
    assert len(snapshots) == 1 and (data / "raw").resolve().name == snapshots[-1]


def test_catalog_is_readable_and_agrees_with_the_files_and_the_instance(outcome):
    data = outcome.dev.data_dir
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    try:
        for asset in expected_partitions():
            rows = con.execute(f'select count(*) from "{asset}"').fetchone()[0]
            counted = con.execute(
                "select sum(row_count) from _partitions where asset = ?", [asset]
            ).fetchone()[0]
            assert rows == counted, asset
        assert con.execute("select count(*) from core_data_daily").fetchone()[0] > 0
        assert con.execute("select count(*) from live_list_snapshot").fetchone()[0] > 0
    finally:
        con.close()
    with outcome.dev.instance() as instance:
        for asset, keys in expected_partitions().items():
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys), asset


def test_the_runs_were_launched_by_the_daemon_as_single_run_backfills(outcome):
    with outcome.dev.instance() as instance:
        runs = [instance.get_run_by_id(run_id) for run_id in _run_ids(outcome)]
    ranges = {
        run.job_name: (
            run.tags["dagster/asset_partition_range_start"],
            run.tags["dagster/asset_partition_range_end"],
        )
        for run in runs
    }
    assert ranges == {
        DAILY_JOB: (STAT_DATES[0], STAT_DATES[-1]),
        LIVE_LIST_JOB: (REFRESHES[0], REFRESHES[-1]),
    }
    assert all(run.tags.get("dagster/backfill") for run in runs)
