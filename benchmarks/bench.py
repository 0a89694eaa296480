"""Throughput and peak memory of each pipeline stage, at a given scale.

    python benchmarks/bench.py --scale 1000000 --days 3 [--stages simulate,ingest,...]

Each stage runs in its own child process, so its peak memory (max RSS) is its own.
Prints one line per stage: seconds, order lines per second, CPU seconds (user and system,
all threads and child processes: over the seconds, how many cores the stage kept busy),
peak RSS; and a JSON summary.
Work files go to --work (default: a temporary folder, removed afterwards).

The `live` stage computes every LIVE-list and dashboard refresh of the simulated days twice:
as one single-run backfill per partition set, and one refresh per call, and reports both.
For 30 days at a million lines a day (150 M raw rows) the ingestion does not fit in memory
(it holds the typed raw tables: ~22 GiB just after reading); `load_unchecked` stores the
simulated tables as the raw snapshot with DuckDB alone instead, e.g.

    python benchmarks/bench.py --days 30 --stages simulate,load_unchecked,facts,live

`end_to_end` is `compass run` over the simulated days as a user runs it (a new data
directory and Dagster instance, every asset of every partition set); its progress goes to
stderr and its peak RSS is that of its largest process.

A day of new data on top of a stored history: `append` adds the next simulated day to the
landing zone as a new drop, and `update` is `compass run --start D --end D` for that day on
the data directory the `ingest` stage (and any earlier `update`) left, e.g.

    python benchmarks/bench.py --days 30 --stages simulate,ingest,facts,append,update
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

STAGES = (
    "simulate",
    "ingest",
    "raw_scan",
    "facts",
    "daily",
    "live",
    "reconciliation",
    "load_unchecked",
    "end_to_end",
    "append",
    "update",
)


def load_unchecked(raw: Path, data: Path) -> int:
    """Store the simulator's tables as the raw snapshot without the ingestion's checks.

    Benchmark set-up only, for data too large for the ingestion's memory: the simulator's
    output is valid by construction; each table's rows in effect (latest `updated_at` per
    key) are cast to the contract's types and streamed from DuckDB into the snapshot.
    """
    import pyarrow.parquet as pq

    from compass_pipeline import catalog
    from compass_pipeline.ingest.core import QUARANTINE_SCHEMA, QUARANTINE_TABLE
    from compass_pipeline.storage import (
        DataDir,
        connect,
        copy_query_to_parquet,
        raw_file_metadata,
        sql_literal,
        write_parquet_atomic,
    )
    from schemas.raw import RAW_TABLES, raw_arrow_schema, raw_table_info

    con = connect()
    for table in RAW_TABLES:
        info = raw_table_info(table)
        files = raw / table / "*.parquet" if (raw / table).is_dir() else raw / f"{table}.parquet"
        latest = ""
        if info.version_column:
            latest = (
                f"qualify row_number() over (partition by {', '.join(info.key)} "
                f"order by {info.version_column} desc) = 1"
            )
        con.execute(
            f"create temp view {table} as select * from read_parquet({sql_literal(str(files))}) "
            f"{latest}"
        )
    instants = [
        f"select max({column}) as m from {table}"
        for table in RAW_TABLES
        for column in raw_table_info(table).timestamp_columns
    ]
    watermark = con.execute(f"select max(m) from ({' union all '.join(instants)})").fetchone()[0]

    def write_all(staging: Path) -> None:
        for table in RAW_TABLES:
            copy_query_to_parquet(
                con,
                f"select * from {table}",
                None,
                staging / f"{table}.parquet",
                raw_arrow_schema(table),
                raw_file_metadata(table, watermark),
            )
        write_parquet_atomic(
            staging / f"{QUARANTINE_TABLE}.parquet",
            QUARANTINE_SCHEMA.empty_table(),
            raw_file_metadata(QUARANTINE_TABLE, watermark),
        )

    store = DataDir(data)
    store.swap_raw_snapshot(write_all)
    catalog.refresh_catalog(store)
    # rows stored, from the files' footers (no second pass over the tables)
    return sum(pq.ParquetFile(store.raw_table_path(t)).metadata.num_rows for t in RAW_TABLES)


def _stage(name: str, work: Path, days: int, scale: int, seed: int) -> dict:
    """Run one stage in this process; return what it measured."""
    raw, data = work / "raw", work / "data"
    start = date(2026, 3, 1)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    extra: dict = {}
    if name == "simulate":
        from compass_pipeline.simulate import simulate

        summary = simulate(raw, start=start, days=days, seed=seed, scale=scale)
        extra["rows_all_tables"] = sum(summary.tables.values())
    elif name == "ingest":
        from compass_pipeline.ingest import ingest_to_data_dir

        result = ingest_to_data_dir(raw, data)
        extra["rows_all_tables"] = sum(t.num_rows for t in result.tables.values())
    elif name == "raw_scan":
        from compass_pipeline.storage import DataDir, connect

        con = connect()
        path = DataDir(data).raw_table_glob("order_lines")
        extra["sum_quantity"] = con.execute(
            f"select sum(quantity), sum(unit_price * quantity) from read_parquet('{path}')"
        ).fetchone()[0]
    elif name == "facts":
        from compass_pipeline.config import Settings
        from compass_pipeline.pipeline import build_facts

        extra["rows"] = build_facts(data, Settings())
    elif name == "daily":
        from compass_pipeline.config import Settings
        from compass_pipeline.daily import DAILY_SPECS
        from compass_pipeline.pipeline import materialize_partitions

        keys = [(start + timedelta(days=i)).isoformat() for i in range(days)]
        per_asset = {}
        for spec in DAILY_SPECS:
            t0 = time.perf_counter()
            results = materialize_partitions(data, spec.name, keys, Settings())
            per_asset[spec.name] = round(time.perf_counter() - t0, 2)
            assert all(r.passed for r in results), spec.name
        extra["seconds_per_asset"] = per_asset
    elif name == "load_unchecked":
        extra["rows_all_tables"] = load_unchecked(raw, data)
    elif name == "live":
        from compass_pipeline.config import Settings
        from compass_pipeline.live import DASHBOARD_ASSETS, LIST_ASSETS
        from compass_pipeline.pipeline import materialize_partitions

        hours = Settings().live_list_hours
        list_keys = [
            f"{start + timedelta(days=i)}T{hour:02d}:00" for i in range(days) for hour in hours
        ]
        dash_keys = [(start + timedelta(days=i + 1)).isoformat() for i in range(days)]
        single, per_key = {}, {}
        for label, assets, keys in (
            ("live_list", LIST_ASSETS, list_keys),
            ("dashboard", DASHBOARD_ASSETS, dash_keys),
        ):
            t0 = time.perf_counter()
            results = materialize_partitions(data, assets, keys, Settings())
            single[label] = round(time.perf_counter() - t0, 2)
            assert all(r.passed for r in results), label
            t0 = time.perf_counter()
            for key in keys:
                materialize_partitions(data, assets, [key], Settings())
            per_key[label] = round(time.perf_counter() - t0, 2)
            print(
                f"  {label}: {len(keys)} refreshes, single run {single[label]} s, "
                f"one per refresh {per_key[label]} s",
                file=sys.stderr,
            )
        extra["refreshes"] = {"live_list": len(list_keys), "dashboard": len(dash_keys)}
        extra["single_run_seconds"] = single
        extra["one_per_refresh_seconds"] = per_key
        extra["single_run_total_seconds"] = round(sum(single.values()), 2)
        extra["speedup"] = round(sum(per_key.values()) / sum(single.values()), 1)
    elif name == "reconciliation":
        from compass_pipeline.config import Settings
        from compass_pipeline.pipeline import materialize_partitions

        stat_keys = [(start + timedelta(days=i)).isoformat() for i in range(days)]
        list_keys = [
            f"{start + timedelta(days=i)}T{hour:02d}:00"
            for i in range(days)
            for hour in Settings().live_list_hours
        ]
        for asset, keys in (
            ("reconciliation_daily", stat_keys),
            ("reconciliation_live", list_keys),
        ):
            results = materialize_partitions(data, asset, keys, Settings())
            assert all(r.passed for r in results), asset
    elif name == "append":
        from compass_pipeline.simulate import append

        summary = append(raw, days=1)
        extra["rows_all_tables"] = sum(summary.tables.values())
        extra["day"] = str(summary.snapshot_at.date() - timedelta(days=1))
    elif name == "update":
        from compass_pipeline.simulate.marketplace import STATE_FILE

        state = json.loads((raw / STATE_FILE).read_text())
        day = date.fromisoformat(state["start"]) + timedelta(days=state["days"] - 1)
        _compass_run(raw, data, day, day)
        extra["day"] = str(day)
    elif name == "end_to_end":
        data = work / "end_to_end"
        shutil.rmtree(data, ignore_errors=True)
        _compass_run(raw, data, start, start + timedelta(days=days - 1))
    else:
        raise SystemExit(f"unknown stage {name}")
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    peak_kib = max(
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    peak_mib = peak_kib / 1024  # Linux: KiB
    return {
        "stage": name,
        "seconds": seconds,
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_rss_mib": round(peak_mib, 1),
        **extra,
    }


def _compass_run(raw: Path, data: Path, first: date, last: date) -> None:
    """`compass run` as a user runs it (the console script's entry), progress to stderr."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    run = ["run", "--raw", str(raw), "--data", str(data), "--start", str(first)]
    code = "from compass_pipeline.cli import entry; entry()"  # as the `compass` script
    subprocess.run(
        [sys.executable, "-c", code, *run, "--end", str(last)],
        stdout=sys.stderr,
        env=env,
        check=True,
    )


def _cpu_seconds() -> float:
    """User and system CPU time of this process and the children it has waited for (the
    `end_to_end` stage's `compass run` and its worker)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="order lines per day")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stages", default=",".join(STAGES[:3]))
    parser.add_argument("--work", help="work folder to keep (default: temporary)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        out = _stage(args.child, Path(args.work), args.days, args.scale, args.seed)
        print("RESULT " + json.dumps(out, default=str))
        return

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="compass-bench-"))
    lines = args.scale * args.days
    print(f"scale {args.scale:,} order lines/day × {args.days} days = {lines:,} lines; work {work}")
    summary = []
    try:
        for stage in args.stages.split(","):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    stage,
                    "--work",
                    str(work),
                    "--days",
                    str(args.days),
                    "--scale",
                    str(args.scale),
                    "--seed",
                    str(args.seed),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            if proc.returncode:
                print(proc.stdout, file=sys.stderr)
                raise SystemExit(f"stage {stage} failed")
            result = json.loads(proc.stdout.split("RESULT ", 1)[1])
            # a day's drop is a day of lines
            stage_lines = args.scale if stage in ("append", "update") else lines
            result["lines_per_s"] = round(stage_lines / result["seconds"])
            summary.append(result)
            print(
                f"{stage:<10} {result['seconds']:8.2f} s  {result['lines_per_s']:>12,} lines/s  "
                f"CPU {result['cpu_seconds']:7.1f} s  peak RSS {result['peak_rss_mib']:,.0f} MiB"
            )
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary, default=str, indent=1))


if __name__ == "__main__":
    main()
