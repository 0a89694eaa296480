"""The README's benchmark command runs: each stage in its own process, one line per stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def _bench(work: Path, stages: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """The benchmark at 40 lines a day for 2 days, and the summary it prints."""
    command = [sys.executable, str(BENCH), "--scale", "40", "--days", "2", "--work", str(work)]
    proc = subprocess.run(
        [*command, "--stages", stages], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(proc.stdout[proc.stdout.index("\n[\n") :])


def test_bench_runs_the_simulator_and_compass_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    work = tmp_path / "work"
    proc, summary = _bench(work, "simulate,end_to_end")
    assert [stage["stage"] for stage in summary] == ["simulate", "end_to_end"]
    assert all(stage["lines_per_s"] > 0 and stage["peak_rss_mib"] > 0 for stage in summary)
    # the stage's own process only waits: its CPU time is that of `compass run`, which
    # imports Dagster (over a second of CPU on its own)
    end_to_end = summary[1]
    assert end_to_end["cpu_seconds"] > 1.0
    assert "CPU" in proc.stdout.splitlines()[2]
    assert "[4/4] LIVE dashboard refreshes 2026-03-01..2026-03-02 00:00 UTC done in" in proc.stderr
    catalog = work / "end_to_end" / "compass.duckdb"
    assert catalog.exists()
    # the simulate stage's row count, against the files it wrote, counted independently
    import pyarrow.parquet as pq

    raw = work / "raw"  # the table entries (the simulation's own queue lies deeper)
    files = [*raw.glob("*.parquet"), *raw.glob("*/*.parquet")]
    written = sum(pq.ParquetFile(path).metadata.num_rows for path in files)
    assert summary[0]["rows_all_tables"] == written > 0


def test_bench_update_runs_compass_run_for_the_appended_day_only(tmp_path, monkeypatch):
    """`append` adds a day's drop; `update` is `compass run` for that day on the stored
    history: the day's partitions, nothing re-materialized before it."""
    import duckdb

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    work = tmp_path / "work"
    proc, summary = _bench(work, "simulate,ingest,append,update")
    append, update = summary[2], summary[3]
    assert append["day"] == update["day"] == "2026-03-03"
    # the day's drop: a file for each of the 12 tables that grow day by day
    assert "12 new or changed file(s) in the landing zone" in proc.stderr
    con = duckdb.connect(str(work / "data" / "compass.duckdb"), read_only=True)
    keys = con.sql(
        "select distinct partition_key from _partitions where asset = 'core_data_daily'"
    ).fetchall()
    assert keys == [("2026-03-03",)]
