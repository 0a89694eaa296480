"""The command line as a user runs it: `compass simulate | run | demo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from compass_pipeline.cli import main


def test_simulate_writes_a_raw_directory(compass_env, capsys):
    out = compass_env / "raw"
    code = main(["simulate", "--out", str(out), "--days", "2", "--scale", "50", "--seed", "3"])
    assert code == 0
    assert (out / "shops.parquet").exists()
    assert "simulated 2 days" in capsys.readouterr().out


def test_run_materializes_the_range_and_records_runs_in_the_persistent_instance(
    small_raw_dir, compass_env, capfd
):
    """The ingestion and facts first, then the marts of the three partition sets, one run
    after another in this process, each run's queries on every core (DuckDB's default), and
    each run tagged with this process (for the recovery of runs whose process died)."""
    data = compass_env / "data"
    code = main(
        [
            "run",
            "--raw",
            str(small_raw_dir),
            "--data",
            str(data),
            "--start",
            "2026-03-02",
            "--end",
            "2026-03-03",
        ]
    )
    out = capfd.readouterr().out
    assert code == 0, out
    computed = [line for line in out.splitlines() if "partitions computed in" in line]
    assert len(computed) == 5, out  # three sets: 2 + 1 (daily), 1 + 1 (list), 1 (dashboard)
    every_core = duckdb.connect().sql("select current_setting('threads')").fetchall()[0][0]
    assert all(line.endswith(f"on {every_core} DuckDB thread(s)") for line in computed), computed
    for step in (
        "[1/4] ingest the new files of the landing zone and update the facts done in",
        "[2/4] LIVE list refreshes and reconciliation 2026-03-02T04:00..2026-03-03T20:00 done in",
        "[3/4] daily modules and reconciliation 2026-03-02..2026-03-03 done in",
        "[4/4] LIVE dashboard refreshes 2026-03-02..2026-03-03 00:00 UTC done in",
    ):
        assert step in out
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    keys = con.execute(
        "select distinct partition_key from _partitions where asset = 'core_data_daily' order by 1"
    ).fetchall()
    assert keys == [("2026-03-02",), ("2026-03-03",)]
    refreshes = con.execute(
        "select count(distinct partition_key) from _partitions "
        "where asset in ('live_list_snapshot', 'reconciliation_live', 'big_screen_snapshot') "
        "group by asset order by asset"
    ).fetchall()
    assert refreshes == [(2,), (6,), (6,)]  # big_screen, live_list, reconciliation_live
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        runs = instance.get_runs()
        assert sorted(run.job_name for run in runs) == [
            "daily_job",
            "ingest_job",
            "live_dashboard_job",
            "live_list_job",
        ]
        assert all(run.is_success for run in runs)
        assert {run.tags["compass/pid"] for run in runs} == {str(os.getpid())}
        assert instance.get_materialized_partitions(dg.AssetKey("core_data_daily")) == {
            "2026-03-02",
            "2026-03-03",
        }


def test_a_failed_step_stops_the_steps_after_it_and_fails_the_command(small_raw_dir, compass_env):
    """A failure (here, refreshes asked of a data directory without facts) stops the steps:
    the ones after it never run, and the command fails with the step's own message."""
    from compass_pipeline.cli import CliError, Step, _execute, _use_instance
    from compass_pipeline.config import Settings

    data = compass_env / "empty"
    _use_instance(small_raw_dir, data)
    steps = [
        Step("LIVE list", "live_list_job", "2026-03-02T04:00", "2026-03-02T04:00", "live_list"),
        Step("dashboard", "live_dashboard_job", "2026-03-02", "2026-03-02", "dashboard"),
    ]
    with pytest.raises(CliError, match="step live_list_modules failed") as caught:
        _execute(Settings.from_env(), steps, data)
    assert "Traceback" not in str(caught.value)
    assert caught.value.trace  # printed with --verbose
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        assert [run.job_name for run in instance.get_runs()] == ["live_list_job"]
        assert not instance.get_runs()[0].is_success


def test_run_on_bad_input_exits_non_zero_naming_the_rule_and_keeps_stored_data(
    small_raw_dir, compass_env, capsys
):
    data = compass_env / "data"
    args = ["--data", str(data), "--start", "2026-03-02", "--end", "2026-03-02"]
    assert main(["run", "--raw", str(small_raw_dir), *args]) == 0
    stored = (data / "raw").resolve()
    before = {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()}

    raw = compass_env / "bad_raw"
    shutil.copytree(small_raw_dir, raw)
    path = raw / "skus.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["product_id"] = "NO_SUCH_PRODUCT"
    pq.write_table(table.from_pylist(rows, schema=table.schema), path)
    capsys.readouterr()
    # a rebuild judges the landing zone alone (incrementally, the changed file's SKU would
    # conflict with the stored one: tests/test_ingest_incremental.py)
    code = main(["run", "--raw", str(raw), "--rebuild", *args])
    err = capsys.readouterr().err
    assert code != 0
    assert "skus" in err and "product_id" in err and "NO_SUCH_PRODUCT" in err
    assert (data / "raw").resolve() == stored
    after = {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()}
    assert after == before


def test_run_rejects_a_range_outside_the_partitions(small_raw_dir, compass_env, capsys):
    code = main(
        [
            "run",
            "--raw",
            str(small_raw_dir),
            "--data",
            str(compass_env / "d"),
            "--start",
            "2026-02-01",
            "--end",
            "2026-02-02",
        ]
    )
    assert code == 2
    assert "COMPASS_PARTITIONS_START" in capsys.readouterr().err


def test_demo_prints_its_summary(compass_env, capsys):
    raw, data = compass_env / "raw", compass_env / "data"
    code = main(["demo", "--raw", str(raw), "--data", str(data), "--days", "3", "--scale", "60"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Catalog: {data / 'compass.duckdb'}" in out
    assert "core_data_daily" in out and "compass ui" in out
    assert f"Report: {data / 'report.html'}" in out
    html = (data / "report.html").read_text()
    assert "R01" in html and "R13" in html


def test_report_names_a_missing_catalog(compass_env, capsys):
    code = main(["report", "--data", str(compass_env / "nothing")])
    assert code == 2
    assert "error:" in capsys.readouterr().err


def test_backfill_materializes_a_sub_day_range_of_refreshes_over_the_stored_facts(
    small_raw_dir, compass_env, capsys
):
    """outputs.md: a backfill of any range of any partition set, from the command line."""
    data = compass_env / "data"
    run = ["run", "--raw", str(small_raw_dir), "--data", str(data)]
    assert main([*run, "--start", "2026-03-02", "--end", "2026-03-02"]) == 0
    snapshot = (data / "raw").resolve()
    capsys.readouterr()

    code = main(
        [
            "backfill",
            "--data",
            str(data),
            "--set",
            "live-list",
            "--from",
            "2026-03-03T04:00",
            "--to",
            "2026-03-03T12:00",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 LIVE-list refreshes 2026-03-03T04:00..2026-03-03T12:00 done in" in out
    # one run at a time: DuckDB's own default, a thread per core
    every_core = duckdb.connect().sql("select current_setting('threads')").fetchall()[0][0]
    assert f"on {every_core} DuckDB thread(s)" in out
    assert (data / "raw").resolve() == snapshot  # no re-ingestion
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    keys = con.execute(
        "select distinct partition_key from _partitions "
        "where asset = 'live_list_snapshot' order by 1"
    ).fetchall()
    assert keys == [
        ("2026-03-02T04:00",),
        ("2026-03-02T12:00",),
        ("2026-03-02T20:00",),
        ("2026-03-03T04:00",),
        ("2026-03-03T12:00",),
    ]
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        latest = instance.get_runs(limit=1)[0]
        assert latest.is_success
        assert latest.tags["dagster/asset_partition_range_start"] == "2026-03-03T04:00"
        assert {key.to_user_string() for key in latest.asset_selection} == {
            "live_list_snapshot",
            "creator_live_snapshot",
            "reconciliation_live",
        }


def test_run_with_a_bad_duckdb_threads_setting_fails_before_any_run(
    small_raw_dir, compass_env, monkeypatch, capsys
):
    monkeypatch.setenv("COMPASS_DUCKDB_THREADS", "all")
    data = compass_env / "data"
    args = ["run", "--raw", str(small_raw_dir), "--data", str(data), "--start", "2026-03-02"]
    assert main([*args, "--end", "2026-03-02"]) == 2
    assert "configuration error: COMPASS_DUCKDB_THREADS='all'" in capsys.readouterr().err
    assert not data.exists()


def test_backfill_rejects_a_key_that_is_not_a_partition(small_raw_dir, compass_env, capsys):
    data = compass_env / "data"
    run = ["run", "--raw", str(small_raw_dir), "--data", str(data)]
    backfill = ["backfill", "--data", str(data), "--set", "live-list"]
    assert main([*backfill, "--from", "2026-03-02T04:00", "--to", "2026-03-02T04:00"]) == 2
    assert "run `compass run` first" in capsys.readouterr().err

    assert main([*run, "--start", "2026-03-02", "--end", "2026-03-02"]) == 0
    capsys.readouterr()
    assert main([*backfill, "--from", "2026-03-02T05:00", "--to", "2026-03-02T12:00"]) == 2
    err = capsys.readouterr().err
    assert "--from 2026-03-02T05:00 is not a partition of the LIVE-list refreshes" in err
    assert main([*backfill, "--from", "2026-03-02T12:00", "--to", "2026-03-02T04:00"]) == 2
    assert "--to 2026-03-02T04:00 is before --from 2026-03-02T12:00" in capsys.readouterr().err


def _console_script(args: list[str], cwd) -> subprocess.CompletedProcess:
    """`compass ARGS` as the console script runs it, with stdout block-buffered (piped and
    PYTHONUNBUFFERED unset), so output that is not flushed before the exit is lost."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", "from compass_pipeline.cli import entry; entry()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "code", "stream", "text"),
    [
        (["simulate", "--days", "1", "--scale", "20", "--seed", "1"], 0, "stdout", "simulated 1"),
        (["report", "--data", "missing"], 2, "stderr", "error:"),
    ],
)
def test_the_console_script_flushes_its_output_and_keeps_the_exit_code(
    compass_env, args, code, stream, text
):
    """Piped (block-buffered) output arrives, and the exit code is main's."""
    if args[0] == "simulate":
        args = [*args, "--out", str(compass_env / "raw")]
    done = _console_script(args, compass_env)
    assert done.returncode == code, done.stderr
    assert text in getattr(done, stream)


def test_the_console_script_runs_the_pipeline_and_leaves_nothing_behind(small_raw_dir, compass_env):
    """Every step's line arrives, and nothing is reported leaked at exit."""
    args = ["run", "--raw", str(small_raw_dir), "--data", str(compass_env / "data")]
    done = _console_script([*args, "--start", "2026-03-02", "--end", "2026-03-02"], compass_env)
    assert done.returncode == 0, done.stderr
    assert all(f"[{n}/4]" in done.stdout and "done in" in done.stdout for n in range(1, 5))
    assert "leaked" not in done.stderr, done.stderr
