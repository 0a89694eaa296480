"""`compass simulate | run | backfill | demo | report | ui` (outputs.md, "Command line")."""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from compass_pipeline.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_PARTITIONS_START,
    DEFAULT_RAW_DIR,
    DUCKDB_THREADS_VARIABLE,
    ConfigError,
    Settings,
    duckdb_threads,
)
from compass_pipeline.registry import DASHBOARD, LIVE_LIST, STAT_DATE

log = logging.getLogger("compass_pipeline")

DEMO_START = DEFAULT_PARTITIONS_START
DEMO_DAYS = 45
DEMO_SCALE = 2000
DEMO_SEED = 7

INSTANCE_YAML = """\
# Dagster instance of compass-pipeline, written by `compass run` / `compass ui` when missing.
# Sized for one 2-core machine: two runs at a time (e.g. a daily backfill beside a refresh
# backfill); the ingestion and facts steps share the pool `compass_snapshot`, limited to one
# at a time, because they replace the one stored raw snapshot. A second run starts at once
# and its ingestion waits for the pool inside the run (op_granularity_run_buffer), instead
# of the whole run waiting in the queue. `storage` is Dagster's SQLite storage in this folder
# (assets_defs/instance.py says what it changes; `base_dir` is this folder when the file was
# written: change it if the folder moves); for production, point it at PostgreSQL (see the
# README).
storage:
  custom:
    module: assets_defs.instance
    class: CompassSqliteStorage
    config:
      base_dir: {home}
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1
    op_granularity_run_buffer: 1
"""


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args) or 0
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The `compass` console script: `main`, the exit handlers, then `_leave`."""
    code = main()
    atexit._run_exitfuncs()  # finalizers (the worker queue's semaphores), log handlers
    _leave(code)


def _leave(code: int) -> None:
    """Exit at once, without the interpreter's teardown.

    Unloading Dagster and the other modules at exit takes 0.6-0.9 s of a 2-core machine per
    process, after the work is done: the files, the catalog and the instance's storage are
    closed by then, so only the standard streams need flushing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# commands ------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    from compass_pipeline.simulate import simulate

    started = time.perf_counter()
    summary = simulate(
        Path(args.out),
        start=args.start,
        days=args.days,
        seed=args.seed,
        scale=args.scale,
        fmt=args.format,
        progress=log.info,
    )
    elapsed = time.perf_counter() - started
    lines = summary.tables.get("order_lines", 0)
    print(
        f"simulated {args.days} days from {args.start} into {Path(args.out).resolve()} "
        f"in {elapsed:.1f}s ({lines:,} order lines; "
        f"snapshot at {summary.snapshot_at:%Y-%m-%dT%H:%MZ})"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    run_pipeline(
        raw_dir=Path(args.raw),
        data_dir=Path(args.data),
        start=args.start,
        end=args.end,
        quarantine=args.quarantine,
        rebuild=args.rebuild,
    )
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    backfill(
        data_dir=Path(args.data),
        raw_dir=Path(args.raw),
        name=args.set,
        first=args.first,
        last=args.last,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from compass_pipeline.simulate import simulate

    raw_dir, data_dir = Path(args.raw).resolve(), Path(args.data).resolve()
    end = DEMO_START + timedelta(days=args.days - 1)
    print(f"[demo] simulating {args.days} days of a marketplace into {raw_dir}")
    simulate(
        raw_dir,
        start=DEMO_START,
        days=args.days,
        seed=args.seed,
        scale=args.scale,
        progress=log.debug,
    )
    run_pipeline(raw_dir=raw_dir, data_dir=data_dir, start=DEMO_START, end=end)
    report = make_report(data_dir)
    print_summary(data_dir, raw_dir)
    print(f"Report: {report}  (open it in a browser)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    path = make_report(
        Path(args.data), Path(args.out) if args.out else None, args.shop, args.start, args.end
    )
    print(f"Report: {path}")
    return 0


def make_report(
    data_dir: Path,
    out: Path | None = None,
    shop: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Path:
    """Write the reconciliation report (one self-contained HTML file) from the catalog."""
    from compass_pipeline.report import write_report

    out = out or data_dir / "report.html"
    try:
        return write_report(data_dir, out, shop=shop, start=start, end=end)
    except (FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from exc


def cmd_ui(args: argparse.Namespace) -> int:
    raw_dir, data_dir = Path(args.raw).resolve(), Path(args.data).resolve()
    env = _pipeline_env(raw_dir, data_dir)
    ensure_instance(Path(env["DAGSTER_HOME"]))
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "assets_defs.definitions",
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {env['DAGSTER_HOME']})")
    return subprocess.call(command, env=env)


# the run ---------------------------------------------------------------------------------
def instance_dir(data_dir: Path) -> Path:
    """`DAGSTER_HOME` when set, else DATA_DIR/.dagster (outputs.md)."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home).resolve() if home else (data_dir / ".dagster").resolve()


def ensure_instance(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # a JSON string is a YAML string, whatever the path holds
        config.write_text(INSTANCE_YAML.replace("{home}", json.dumps(str(home.resolve()))))
    return home


def _pipeline_env(raw_dir: Path, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["COMPASS_RAW_DIR"] = str(raw_dir.resolve())
    env["COMPASS_DATA_DIR"] = str(data_dir.resolve())
    env["DAGSTER_HOME"] = str(instance_dir(data_dir.resolve()))
    return env


def run_pipeline(
    *,
    raw_dir: Path,
    data_dir: Path,
    start: date,
    end: date,
    quarantine: bool = False,
    rebuild: bool = False,
) -> None:
    """Ingest what is new in the landing zone (every file with `rebuild`), then materialize
    every asset for [start, end], through Dagster (in this process and one worker process).

    Runs are recorded in the persistent instance, so `compass ui` shows them.
    """
    if end < start:
        raise CliError(f"--end {end} is before --start {start}")
    if not raw_dir.exists():
        raise CliError(f"raw directory {raw_dir} does not exist")
    settings = Settings.from_env()
    duckdb_threads()  # a bad COMPASS_DUCKDB_THREADS fails here, before any run
    if start < settings.partitions_start:
        raise CliError(
            f"--start {start} is before the first partition {settings.partitions_start}; "
            "set COMPASS_PARTITIONS_START to an earlier date"
        )
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    if end > yesterday:
        raise CliError(
            f"--end {end} is not over yet: the last complete UTC date is {yesterday} "
            "(`compass backfill` takes the refreshes of today that have passed)"
        )
    _use_instance(raw_dir, data_dir)
    if quarantine:
        os.environ["COMPASS_QUARANTINE"] = "true"
    with ExitStack() as stack:
        # Started before this process imports Dagster, so that the two imports share the
        # two cores instead of the worker's taking one from the ingestion.
        worker = _worker_pool(stack, settings)
        _run_all(settings, start, end, worker, rebuild)


def ingest_run_config(rebuild: bool) -> dict:
    """The run config of `ingest_job`: `rebuild` re-ingests every file from scratch."""
    return {"ops": {"raw_ingest": {"config": {"rebuild": rebuild}}}}


def _run_all(
    settings: Settings, start: date, end: date, worker: tuple | None, rebuild: bool = False
) -> None:
    """`compass run`'s four steps, the last three side by side on this process and `worker`."""
    from assets_defs.definitions import DAILY_JOB, DASHBOARD_JOB, INGEST_JOB, LIVE_LIST_JOB

    first_refresh = f"{start.isoformat()}T{min(settings.live_list_hours):02d}:00"
    last_refresh = f"{end.isoformat()}T{max(settings.live_list_hours):02d}:00"
    # The ingestion and facts run once; then the marts of the three partition sets, two at
    # a time (each reads only the facts, never another set).
    _execute(
        settings,
        [
            (
                "ingest every file of the landing zone and build the facts"
                if rebuild
                else "ingest the new files of the landing zone and update the facts",
                INGEST_JOB,
                None,
                None,
                None,
            )
        ],
        rebuild=rebuild,
        worker=worker,
        side_by_side=[
            (
                f"LIVE list refreshes and reconciliation {first_refresh}..{last_refresh}",
                LIVE_LIST_JOB,
                first_refresh,
                last_refresh,
                LIVE_LIST,
            ),
            (
                f"daily modules and reconciliation {start}..{end}",
                DAILY_JOB,
                str(start),
                str(end),
                STAT_DATE,
            ),
            (
                f"LIVE dashboard refreshes {start}..{end} 00:00 UTC",
                DASHBOARD_JOB,
                str(start),
                str(end),
                DASHBOARD,
            ),
        ],
    )


# `compass backfill --set NAME`: the partition set, its name in messages, an example key.
BACKFILL_SETS = {
    "stat-dates": (STAT_DATE, "stat dates", "2026-03-01"),
    "live-list": (LIVE_LIST, "LIVE-list refreshes", "2026-03-01T04:00"),
    "dashboard": (DASHBOARD, "dashboard refreshes", "2026-03-01"),
}


def backfill(*, data_dir: Path, raw_dir: Path, name: str, first: str, last: str) -> None:
    """Materialize the partitions `first..last` (keys, inclusive) of one partition set as one
    single-run backfill over the stored facts, e.g. a few LIVE-list refreshes of today.

    The ingestion and facts are not re-run: they come from the data directory's last
    `compass run` (or the UI's ingest job), as a backfill from the UI on the marts does.
    """
    from assets_defs.definitions import PARTITIONED_JOBS, partitions_defs
    from compass_pipeline.storage import DataDir

    partition_set, label, example = BACKFILL_SETS[name]
    job_name = next(job for job, jobs_set, _ in PARTITIONED_JOBS if jobs_set == partition_set)
    store = DataDir(data_dir)
    if not store.has_raw_snapshot() or not store.asset_dir("line_facts").is_dir():
        raise CliError(
            f"{data_dir} has no ingested raw snapshot and facts; run `compass run` first"
        )
    settings = Settings.from_env()
    duckdb_threads()  # a bad COMPASS_DUCKDB_THREADS fails here, before any run
    keys = partitions_defs(settings)[partition_set].get_partition_keys()
    for flag, key in (("--from", first), ("--to", last)):
        if key not in keys:
            span = f"{keys[0]} .. {keys[-1]}" if keys else "none yet"
            raise CliError(
                f"{flag} {key} is not a partition of the {label} (keys like {example}; "
                f"existing: {span})"
            )
    count = keys.index(last) - keys.index(first) + 1
    if count < 1:
        raise CliError(f"--to {last} is before --from {first}")
    _use_instance(raw_dir, data_dir)
    _execute(settings, [(f"{count} {label} {first}..{last}", job_name, first, last, partition_set)])


def _use_instance(raw_dir: Path, data_dir: Path) -> None:
    """Point this process's runs at the directories and the persistent instance."""
    env = _pipeline_env(raw_dir, data_dir)
    os.environ.update({k: env[k] for k in ("COMPASS_RAW_DIR", "COMPASS_DATA_DIR", "DAGSTER_HOME")})
    ensure_instance(Path(env["DAGSTER_HOME"]))


# (label, job, first key, last key, partition set or None for every asset of the job);
# no keys for a job without partitions
Step = tuple[str, str, str | None, str | None, str | None]


def _execute(
    settings: Settings,
    steps: Sequence[Step],
    side_by_side: Sequence[Step] = (),
    worker: tuple | None = None,
    rebuild: bool = False,
) -> None:
    """Run `steps` one after the other, then the `side_by_side` steps on two runners, this
    process and the `worker` process (`_worker_pool`), each taking the next step as soon as
    it is free; every step is one in-process single-run backfill, printed as it starts and
    ends.

    A failed step stops its runner; the other one takes the steps left, then the error is
    raised (this process's first). Without a worker, the steps run one after another here,
    and the first failure stops them.
    """
    numbered = list(enumerate([*steps, *side_by_side], start=1))
    total = len(numbered)
    first, rest = numbered[: len(steps)], numbered[len(steps) :]
    with _Runs(settings, rebuild) as runs:
        runs.run(first, total)
        if worker is None or len(rest) < 2:
            runs.run(rest, total)
            return
        pool, pending = worker
        for item in [*rest, None, None]:  # one end mark per runner
            pending.put(item)
        threads = _runner_threads()
        worker_share = pool.submit(_run_pending, total, threads)
        try:
            with _duckdb_threads(threads):
                runs.run_pending(pending, total)
        finally:
            error = worker_share.exception()
        if error is not None:
            raise error


def _runner_threads() -> int:
    """The DuckDB threads of each of the two runners: `COMPASS_DUCKDB_THREADS` if set, else
    half the cores (at least one).

    Each step's queries would otherwise take every core, and the two runners' threads
    would take turns on them: on 2 cores, the three mart steps of 3 M lines took 12.4-14.2 s
    with two threads per runner against 10.8-11.9 s with one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return duckdb_threads() or max(1, (cores or 1) // 2)


@contextmanager
def _duckdb_threads(threads: int) -> Iterator[None]:
    """`COMPASS_DUCKDB_THREADS=threads` for the connections this process opens meanwhile."""
    saved = os.environ.get(DUCKDB_THREADS_VARIABLE)
    os.environ[DUCKDB_THREADS_VARIABLE] = str(threads)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(DUCKDB_THREADS_VARIABLE, None)
        else:
            os.environ[DUCKDB_THREADS_VARIABLE] = saved


def _worker_pool(stack: ExitStack, settings: Settings):
    """One worker process, started now so that its imports are done by the time it has work,
    and the queue it takes steps from; None (with a warning) where no worker can be started.

    It is spawned, not forked: a fork inherits Polars' and DuckDB's thread pools without
    their threads and can hang. It takes the environment (directories, instance) as it is
    when it starts.
    """
    context = multiprocessing.get_context("spawn")
    try:
        pending = context.Queue()
    except OSError as exc:  # e.g. no /dev/shm for the queue's semaphores
        log.warning("no worker process (%s): the runs go one after another", exc)
        return None
    pool = stack.enter_context(
        ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_start_worker,
            initargs=(settings, log.level, pending),
        )
    )
    pool.submit(int)
    return pool, pending


class _Runs:
    """This process's Dagster definitions and persistent instance, to run steps on."""

    def __init__(self, settings: Settings, rebuild: bool = False) -> None:
        import dagster as dg

        from assets_defs.definitions import build_definitions

        self.defs = build_definitions(settings)
        self.instance = dg.DagsterInstance.get()
        self.rebuild = rebuild

    def __enter__(self) -> _Runs:
        return self

    def __exit__(self, *exc) -> None:
        self.instance.dispose()

    def run(self, steps: Sequence[tuple[int, Step]], total: int) -> None:
        """The numbered steps in order; the first failure raises `CliError` with the failed
        step's own message."""
        import dagster as dg

        from assets_defs.definitions import INGEST_JOB, partitioned_asset_names

        quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        for number, (label, job_name, first, last, partition_set) in steps:
            print(f"[{number}/{total}] {label} ...", flush=True)
            started = time.perf_counter()
            job = self.defs.resolve_job_def(job_name)
            selection = None
            if partition_set:
                selection = [dg.AssetKey(n) for n in partitioned_asset_names(partition_set)]
            tags = {}
            if first is not None:
                tags = {
                    "dagster/asset_partition_range_start": first,
                    "dagster/asset_partition_range_end": last,
                }
            run_config = quiet
            if job_name == INGEST_JOB:
                run_config = {**quiet, **ingest_run_config(self.rebuild)}
            result = job.execute_in_process(
                instance=self.instance,
                tags=tags,
                run_config=run_config,
                raise_on_error=False,
                asset_selection=selection,
            )
            if not result.success:
                raise CliError(_failure_message(result))
            print(
                f"[{number}/{total}] {label} done in {time.perf_counter() - started:.1f}s "
                f"(run {result.run_id[:8]})",
                flush=True,
            )

    def run_pending(self, pending, total: int) -> None:
        """Take numbered steps from the queue `pending` and run them until its end mark."""
        while (item := pending.get()) is not None:
            self.run([item], total)


_worker: dict = {}  # in a worker process: its settings and the queue of pending steps


def _start_worker(settings: Settings, level: int, pending) -> None:
    """The worker process: the CLI's progress output, and Dagster imported up front."""
    _setup_logging(level <= logging.DEBUG)
    _worker.update(settings=settings, pending=pending)
    import assets_defs.definitions  # noqa: F401


def _run_pending(total: int, threads: int) -> None:
    """The worker's share of the side-by-side steps, on `threads` DuckDB threads; once they
    are done, the worker process leaves without the interpreter's teardown (`_leave`) when
    the pool stops it."""
    with _duckdb_threads(threads), _Runs(_worker["settings"]) as runs:
        runs.run_pending(_worker["pending"], total)
    atexit.register(_leave, 0)


def _failure_message(result) -> str:
    """The first step failure's own message (e.g. the raw-contract violation), not a trace."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and "dagster._core" in (error.message or ""):
                error = error.cause
            text = error.message.strip()
            if event.step_failure_data.user_failure_data:
                text = event.step_failure_data.user_failure_data.description or text
            return f"step {event.step_key} failed: {text}"
    return f"run {result.run_id} failed"


def print_summary(data_dir: Path, raw_dir: Path) -> None:
    import duckdb

    from compass_pipeline.storage import DataDir

    store = DataDir(data_dir)
    con = duckdb.connect(str(store.catalog_path), read_only=True)
    try:
        rows = con.sql(
            "select asset, count(*) as partitions, sum(row_count) as rows "
            "from _partitions group by asset order by asset"
        ).fetchall()
        print("\nAssets in the catalog:")
        for asset, partitions, count in rows:
            print(f"  {asset:<34} {partitions:>5} partitions {count:>12,} rows")
        _print_core_data(con)
    finally:
        con.close()
    print(
        f"\nCatalog: {store.catalog_path}  (open read-only: duckdb.connect(path, read_only=True))"
    )
    print(f"Open the Dagster UI: compass ui --data {data_dir} --raw {raw_dir}")


def _print_core_data(con) -> None:
    try:
        rows = con.sql(
            "select shop_id, stat_date, gmv, gmv_live, gmv_video, gmv_product_card, sku_orders, "
            "refund_amount from core_data_daily "
            "where stat_date > (select max(stat_date) from core_data_daily) - 3 "
            "order by shop_id, stat_date"
        ).fetchall()
    except Exception:  # noqa: BLE001 - the summary is best-effort, the run already succeeded
        return
    if not rows:
        return
    print("\nCore data, last 3 stat dates:")
    header = ("shop", "stat_date", "gmv", "live", "video", "product_card", "sku_orders", "refunds")
    width = max(len(header[0]), *(len(str(row[0])) for row in rows))
    for row in (header, *rows):
        shop, *values = (str(v) for v in row)
        print(f"  {shop:<{width}}  " + "  ".join(f"{v:>12}" for v in values))


# parsing -------------------------------------------------------------------------------
def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-01") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be ≥ 1")
    return value


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(asctime)s %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compass",
        description="TikTok Shop Data Compass metrics, computed and reconciled to the cent.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more progress detail")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write a simulated raw directory")
    sim.add_argument("--out", required=True, help="raw directory to write")
    sim.add_argument("--start", type=_date, default=DEMO_START, help="first day (UTC)")
    sim.add_argument("--days", type=_positive, default=DEMO_DAYS)
    sim.add_argument("--seed", type=int, default=DEMO_SEED)
    sim.add_argument("--scale", type=_positive, default=DEMO_SCALE, help="order lines per day")
    sim.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    sim.set_defaults(func=cmd_simulate)

    run = sub.add_parser(
        "run", help="ingest what is new in a raw directory and materialize every asset"
    )
    run.add_argument("--raw", required=True, help="raw directory (raw-contract.md)")
    run.add_argument("--data", required=True, help="data directory to write")
    run.add_argument("--start", type=_date, required=True, help="first stat date")
    run.add_argument("--end", type=_date, required=True, help="last stat date (inclusive)")
    run.add_argument(
        "--quarantine",
        action="store_true",
        help="keep bad rows in raw_quarantine instead of failing",
    )
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="re-ingest every file of the landing zone from scratch (default: only the "
        "files that are new or changed since the last ingestion)",
    )
    run.set_defaults(func=cmd_run)

    fill = sub.add_parser(
        "backfill",
        help="materialize a range of one partition set over the stored facts (one run)",
        description="Materialize partitions FROM..TO (inclusive) of one partition set, e.g. "
        "--set live-list --from 2026-03-01T12:00 --to 2026-03-02T04:00, as one single-run "
        "backfill over the facts of the last `compass run` (no re-ingestion).",
    )
    fill.add_argument("--data", required=True, help="data directory of a `compass run`")
    fill.add_argument(
        "--raw", default=str(DEFAULT_RAW_DIR), help="raw directory the UI's jobs ingest"
    )
    fill.add_argument("--set", required=True, choices=sorted(BACKFILL_SETS))
    fill.add_argument("--from", dest="first", required=True, help="first partition key")
    fill.add_argument("--to", dest="last", required=True, help="last partition key (inclusive)")
    fill.set_defaults(func=cmd_backfill)

    demo = sub.add_parser("demo", help="simulate a marketplace, run everything, summarize")
    demo.add_argument("--raw", default=str(DEFAULT_RAW_DIR), help="where to simulate")
    demo.add_argument("--data", default=str(DEFAULT_DATA_DIR), help="data directory")
    demo.add_argument("--days", type=_positive, default=DEMO_DAYS)
    demo.add_argument("--scale", type=_positive, default=DEMO_SCALE)
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    demo.set_defaults(func=cmd_demo)

    report = sub.add_parser("report", help="write the reconciliation report (HTML)")
    report.add_argument("--data", required=True, help="data directory of a run")
    report.add_argument("--out", help="HTML file to write (default DATA/report.html)")
    report.add_argument("--shop", help="only this shop")
    report.add_argument("--start", type=_date, help="first stat date")
    report.add_argument("--end", type=_date, help="last stat date")
    report.set_defaults(func=cmd_report)

    ui = sub.add_parser("ui", help="start the Dagster UI and daemon on the same instance")
    ui.add_argument("--data", default=str(DEFAULT_DATA_DIR))
    ui.add_argument("--raw", default=str(DEFAULT_RAW_DIR))
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


if __name__ == "__main__":
    sys.exit(main())
