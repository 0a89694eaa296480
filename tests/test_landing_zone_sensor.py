"""The landing-zone sensor (raw-contract.md, first section): a run for new or changed files,
none when nothing changed; and the scheduled jobs no longer ingest."""

from __future__ import annotations

import os

import dagster as dg
from raw_fixture import good_rows, write_raw_dir, write_table_file

from assets_defs.definitions import DAILY_JOB, DASHBOARD_JOB, INGEST_JOB, LIVE_LIST_JOB, defs
from assets_defs.resources import CompassResource
from assets_defs.sensors import LANDING_ZONE_SENSOR
from compass_pipeline.ingest import ingest_to_data_dir


def _tick(raw, data, cursor=None):
    sensor = defs.resolve_sensor_def(LANDING_ZONE_SENSOR)
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"compass": CompassResource(raw_dir=str(raw), data_dir=str(data))},
    )
    return sensor(context), context


def _requests(result) -> list[dg.RunRequest]:
    if isinstance(result, dg.SensorResult):
        return list(result.run_requests or [])
    return []


def test_a_new_landing_zone_requests_an_ingestion(tmp_path):
    raw = write_raw_dir(tmp_path / "raw")
    result, _ = _tick(raw, tmp_path / "data")
    (request,) = _requests(result)
    assert request.tags["compass/landing_files"] == "16"
    assert defs.resolve_sensor_def(LANDING_ZONE_SENSOR).job_name == INGEST_JOB


def test_nothing_new_requests_nothing(tmp_path):
    raw, data = write_raw_dir(tmp_path / "raw"), tmp_path / "data"
    ingest_to_data_dir(raw, data)
    result, _ = _tick(raw, data)
    assert isinstance(result, dg.SkipReason)
    assert "no new or changed file" in result.skip_message


def test_a_new_file_requests_one_run_until_it_is_ingested(tmp_path):
    raw, data = write_raw_dir(tmp_path / "raw", folders=("refunds",)), tmp_path / "data"
    ingest_to_data_dir(raw, data)
    refund = dict(good_rows()["refunds"][2], refund_id="R7", updated_at="2026-03-04T00:00:00Z")
    write_table_file(raw / "refunds" / "part-9.csv", "refunds", [refund])

    first, _ = _tick(raw, data)
    (request,) = _requests(first)
    assert request.tags["compass/landing_files"] == "1"
    again, _ = _tick(raw, data, cursor=first.cursor)  # the run has not ingested it yet
    assert isinstance(again, dg.SkipReason)

    ingest_to_data_dir(raw, data)
    after, _ = _tick(raw, data, cursor=first.cursor)
    assert isinstance(after, dg.SkipReason)


def test_a_file_changed_in_place_requests_a_run(tmp_path):
    raw, data = write_raw_dir(tmp_path / "raw"), tmp_path / "data"
    ingest_to_data_dir(raw, data)
    path = raw / "cart_adds.csv"
    path.write_text(path.read_text() + "C8,B1,K1,P1,2026-03-01T10:31:00Z,search,\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    result, _ = _tick(raw, data)
    assert len(_requests(result)) == 1


def test_scheduled_jobs_compute_their_marts_only():
    """A refresh reads the facts as stored at its instant; ingestion is the sensor's."""
    for name in (DAILY_JOB, LIVE_LIST_JOB, DASHBOARD_JOB):
        job = defs.resolve_job_def(name)
        keys = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
        assert keys and not {"raw_orders", "line_facts"} & keys, name
    ingest = defs.resolve_job_def(INGEST_JOB)
    keys = {key.to_user_string() for key in ingest.asset_layer.selected_asset_keys}
    assert {"raw_orders", "line_facts"} <= keys
