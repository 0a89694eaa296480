"""`compass simulate | run | backfill | demo | report | ui` (outputs.md, "Command line")."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from compass_pipeline.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_PARTITIONS_START,
    DEFAULT_RAW_DIR,
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

INSTANCE_HEADER = """\
# Dagster instance of compass-pipeline, written by `compass run` / `compass ui` when missing.
# Sized for one 2-core machine: two runs at a time (e.g. a daily backfill beside a refresh
# backfill). One ingestion or facts build at a time per data directory is enforced by a
# file lock in the data directory (compass_pipeline/locks.py), which dies with its holder,
# not by a concurrency pool, whose slot a killed run kept. Run monitoring marks runs stuck
# starting or canceling, and frees the slots of finished runs; the sensor
# `compass_dead_run_monitor` marks runs whose process died as failed. `storage` is
# Dagster's SQLite storage in this folder (assets_defs/instance.py says what it changes;
# `base_dir` is this folder when the file was written: change it if the folder moves); for
# production, point it at PostgreSQL (see the README).
"""


def instance_config(home: Path) -> dict:
    """The instance settings `ensure_instance` writes (as YAML) into a new instance."""
    return {
        "storage": {
            "custom": {
                "module": "assets_defs.instance",
                "class": "CompassSqliteStorage",
                "config": {"base_dir": str(home)},
            }
        },
        "telemetry": {"enabled": False},
        "concurrency": {"runs": {"max_concurrent_runs": 2}},
        # The DefaultRunLauncher cannot resume a run (max_resume_run_attempts must be 0).
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": 180,
            "cancel_timeout_seconds": 60,
            "max_resume_run_attempts": 0,
            "poll_interval_seconds": 30,
            "free_slots_after_run_end_seconds": 30,
        },
    }


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2; `trace` (Dagster's
    stack trace of the failure) is printed too with `--verbose`."""

    def __init__(self, message: str, trace: str | None = None):
        super().__init__(message)
        self.trace = trace


class Stopped(KeyboardInterrupt):
    """`compass` was stopped by SIGINT (Ctrl-C) or SIGTERM; `canceled`: the runs it marked
    canceled."""

    def __init__(self, signum: int, canceled: Sequence[str] = ()):
        super().__init__(signum)
        self.signum = signum
        self.canceled = list(canceled)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args) or 0
    except CliError as exc:
        if args.verbose and exc.trace:
            print(exc.trace, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        canceled = getattr(exc, "canceled", [])
        runs = f"; canceled run{'s' if len(canceled) != 1 else ''} " + ", ".join(
            run_id[:8] for run_id in canceled
        )
        print(
            f"stopped by {signal.Signals(signum).name}{runs if canceled else ''}; "
            "the stored data is as it was before the interrupted write",
            file=sys.stderr,
        )
        return 128 + signum


def entry() -> None:
    """The `compass` console script."""
    sys.exit(main())


# commands ------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    """`--append` continues the recorded simulation: the options left out are the recorded
    ones, and one given with another value is an error (it would draw another marketplace)."""
    from compass_pipeline.simulate import SimulationStateError, append, simulate

    started = time.perf_counter()
    if args.append:
        try:
            summary = append(
                Path(args.out),
                days=args.days or 1,
                start=args.start,
                seed=args.seed,
                scale=args.scale,
                fmt=args.format,
                progress=log.info,
            )
        except SimulationStateError as exc:
            raise CliError(str(exc)) from exc
        verb = "appended"
    else:
        summary = simulate(
            Path(args.out),
            start=args.start or DEMO_START,
            days=args.days or DEMO_DAYS,
            seed=DEMO_SEED if args.seed is None else args.seed,
            scale=args.scale or DEMO_SCALE,
            fmt=args.format or "parquet",
            progress=log.info,
        )
        verb = "simulated"
    elapsed = time.perf_counter() - started
    lines = summary.tables.get("order_lines", 0)
    days = f"{summary.days} day{'' if summary.days == 1 else 's'}"
    print(
        f"{verb} {days} from {summary.first_day} into {Path(args.out).resolve()} "
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
    """Write `home/dagster.yaml` (`instance_config`) unless it exists.

    An existing file is left as it is: one written by an older version (with the pool
    `compass_snapshot`) keeps working, since no step claims a pool slot any more. It is
    written whole or not at all (a temporary file, then `os.replace`): two `compass run`
    starting at once on a new data directory never read half of it.
    """
    import yaml

    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        text = INSTANCE_HEADER + yaml.safe_dump(instance_config(home.resolve()), sort_keys=False)
        tmp = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, config)
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
    every asset for [start, end], through Dagster (in this process, one run after another).

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
    _run_all(settings, start, end, data_dir, rebuild)


def ingest_run_config(rebuild: bool) -> dict:
    """The run config of `ingest_job`: `rebuild` re-ingests every file from scratch."""
    return {"ops": {"raw_ingest": {"config": {"rebuild": rebuild}}}}


def _run_all(
    settings: Settings, start: date, end: date, data_dir: Path, rebuild: bool = False
) -> None:
    """`compass run`'s four runs: the ingestion and facts once, then the marts of the three
    partition sets (each reads only the facts, never another set)."""
    from assets_defs.definitions import DAILY_JOB, DASHBOARD_JOB, INGEST_JOB, LIVE_LIST_JOB

    first_refresh = f"{start.isoformat()}T{min(settings.live_list_hours):02d}:00"
    last_refresh = f"{end.isoformat()}T{max(settings.live_list_hours):02d}:00"
    _execute(
        settings,
        [
            Step(
                "ingest every file of the landing zone and build the facts"
                if rebuild
                else "ingest the new files of the landing zone and update the facts",
                INGEST_JOB,
                run_config=ingest_run_config(rebuild),
            ),
            Step(
                f"LIVE list refreshes and reconciliation {first_refresh}..{last_refresh}",
                LIVE_LIST_JOB,
                first_refresh,
                last_refresh,
                LIVE_LIST,
            ),
            Step(
                f"daily modules and reconciliation {start}..{end}",
                DAILY_JOB,
                str(start),
                str(end),
                STAT_DATE,
            ),
            Step(
                f"LIVE dashboard refreshes {start}..{end} 00:00 UTC",
                DASHBOARD_JOB,
                str(start),
                str(end),
                DASHBOARD,
            ),
        ],
        data_dir,
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
    if not store.has_raw_snapshot() or not store.partition_path("line_facts", None).exists():
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
    _execute(
        settings,
        [Step(f"{count} {label} {first}..{last}", job_name, first, last, partition_set)],
        data_dir,
    )


def _use_instance(raw_dir: Path, data_dir: Path) -> None:
    """Point this process's runs at the directories and the persistent instance."""
    env = _pipeline_env(raw_dir, data_dir)
    os.environ.update({k: env[k] for k in ("COMPASS_RAW_DIR", "COMPASS_DATA_DIR", "DAGSTER_HOME")})
    ensure_instance(Path(env["DAGSTER_HOME"]))


@dataclass(frozen=True)
class Step:
    """One run of `compass run` / `compass backfill`: a job, and for a partitioned job the
    range of partition keys (inclusive) and the partition set whose assets it materializes
    (None: every asset of the job)."""

    label: str
    job: str
    first: str | None = None
    last: str | None = None
    partition_set: str | None = None
    run_config: Mapping | None = None  # e.g. the ingest job's `ingest_run_config(rebuild)`


def _execute(settings: Settings, steps: Sequence[Step], data_dir: Path) -> None:
    """Run the steps one after another in this process, each one in-process Dagster run (a
    single-run backfill for a range), printed as it starts and ends; the first failure stops
    them and raises `CliError` with the failed step's own message.

    First, runs of the instance whose process died are marked failed and their slots freed
    (`recover_dead_runs`), and temporary files left by killed writers are removed.
    SIGINT and SIGTERM stop the runs (`_StopOnSignal`).

    One run at a time, in this process, is Dagster's own execution and nothing else: no
    second process to start, feed, stop and clean up after, and a signal reaches the one
    run there is. The hand-made two-process scheduler it replaces ran the three sets of
    marts two at a time, and that was faster: on 3 days of 200,000 lines (2 cores, shared
    at a load of 2-3), alternating four runs each, `compass run` took 13.9-19.0 s (median
    17.0) against 11.4-15.8 s (median 14.5), the marts 5.6-8.9 s against 3.7-5.4 s, for the
    same CPU time (16.5-18.7 CPU-s against 17.0-17.9).
    """
    import dagster as dg

    with _StopOnSignal() as stop, _Runs(settings, stop) as runs:
        runs.recover(data_dir)
        try:
            for number, step in enumerate(steps, start=1):
                runs.run(number, len(steps), step)
        except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError) as exc:
            if isinstance(exc, Stopped) and exc.canceled:
                raise
            signum = stop.signum or getattr(exc, "signum", None) or signal.SIGINT
            raise Stopped(signum, runs.cancel_own_runs(signum)) from None


class _StopOnSignal:
    """SIGINT (Ctrl-C) and SIGTERM stop `compass` within a few seconds, its runs canceled.

    While a run executes, Dagster's in-process execution handles both signals itself: it
    interrupts the step (a sleep, a wait for the snapshot lock, a DuckDB query) and ends the
    run, as CANCELED if the run was marked CANCELING by then, else as FAILURE. So the signal
    is also read here from a wakeup file descriptor (`signal.set_wakeup_fd`, which sees
    every signal whatever handler is installed): a thread marks this process's unfinished
    runs CANCELING at once (`on_signal`), and when the run returns, `_Runs.run` marks what
    is still unfinished or failed as canceled and raises `Stopped`. Between runs, the
    handler installed here raises `Stopped` directly.

    If the process still runs `GRACE` seconds after the signal (a long call in native code
    that checks no signal), or at a second signal, the thread marks the runs canceled and
    stops the process with SIGKILL: that leaves what any killed run leaves (no partial file
    visible, the lock released by the kernel), which the next run recovers from.
    """

    GRACE = 4.0
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.on_signal: Callable[[int], object] | None = None  # mark runs CANCELING
        self.on_force: Callable[[int], object] | None = None  # mark runs canceled
        self._done = threading.Event()
        self._active = False
        self._timer: threading.Timer | None = None

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers belong to the main thread
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._saved_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._saved = {signum: signal.signal(signum, self._raise) for signum in self.SIGNALS}
        self._active = True
        threading.Thread(target=self._watch, name="compass-signals", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if not self._active:
            return
        self._done.set()
        if self._timer is not None:
            self._timer.cancel()
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._saved_fd)
        os.close(self._write)  # the watcher reads the end of the pipe and stops

    def _raise(self, signum: int, _frame) -> None:
        self.signum = self.signum or signum
        raise Stopped(signum)

    def _watch(self) -> None:
        try:
            while data := os.read(self._read, 64):
                for signum in data:
                    if signum not in self.SIGNALS or self._done.is_set():
                        continue
                    if self._timer is None:  # the first signal
                        self.signum = self.signum or signum
                        self._timer = threading.Timer(self.GRACE, self._force, (signum,))
                        self._timer.daemon = True
                        self._timer.start()
                        self._call(self.on_signal, signum)
                    else:
                        self._force(signum)
        finally:
            os.close(self._read)

    def _force(self, signum: int) -> None:
        if self._done.is_set():
            return
        print(
            f"compass: still running {self.GRACE:.0f} s after {signal.Signals(signum).name} "
            "(or a second signal): canceling its runs and stopping at once",
            file=sys.stderr,
            flush=True,
        )
        self._call(self.on_force, signum)
        if not self._done.is_set():
            os.kill(os.getpid(), signal.SIGKILL)

    def _call(self, callback: Callable[[int], object] | None, signum: int) -> None:
        if callback is None:
            return
        try:
            callback(signum)
        except Exception as exc:  # noqa: BLE001 - stopping goes on; the next run recovers
            print(f"compass: could not mark the runs: {exc}", file=sys.stderr, flush=True)


class _Runs:
    """This process's Dagster definitions and persistent instance, to run steps on.

    Every run is tagged with this process (`process_tags`), so that a later `compass` or the
    UI's daemon can tell that its process died (`recover_dead_runs`), and so that a stop
    finds this process's runs.
    """

    def __init__(self, settings: Settings, stop: _StopOnSignal) -> None:
        import dagster as dg

        from assets_defs.definitions import build_definitions
        from assets_defs.recovery import process_tags
        from compass_pipeline.locks import exclusive

        self.defs = build_definitions(settings)
        # Two processes creating a new instance's SQLite databases at once collide (a
        # duplicate alembic version row): one opens it at a time.
        home = Path(os.environ["DAGSTER_HOME"])
        with exclusive(home / ".open.lock", f"the opening lock of the Dagster instance {home}"):
            self.instance = dg.DagsterInstance.get()
        self.tags = process_tags()
        self.stop = stop
        self._marking = threading.Lock()  # the signal thread and this one mark the same runs
        self._stopped = False
        stop.on_signal = self._mark_canceling
        stop.on_force = self.cancel_own_runs

    def __enter__(self) -> _Runs:
        return self

    def __exit__(self, *exc) -> None:
        self.instance.dispose()

    def recover(self, data_dir: Path) -> None:
        """Mark runs whose process died, and remove what killed writers left (one line each
        when there was something)."""
        from assets_defs.recovery import recover_dead_runs, summary
        from compass_pipeline.storage import remove_orphaned_temporary_files

        recovered = recover_dead_runs(self.instance)
        if recovered:
            print(summary(recovered), flush=True)
        removed = remove_orphaned_temporary_files(data_dir.resolve())
        if removed:
            print(
                f"removed {len(removed)} temporary file(s) left by killed writers in {data_dir}",
                flush=True,
            )

    def _own_runs(self, *statuses):
        import dagster as dg

        return self.instance.get_runs(dg.RunsFilter(statuses=list(statuses), tags=self.tags))

    def _mark_canceling(self, signum: int) -> None:
        import dagster as dg

        status = dg.DagsterRunStatus
        with self._marking:
            if self._stopped:
                return
            for run in self._own_runs(status.NOT_STARTED, status.STARTING, status.STARTED):
                self.instance.report_run_canceling(
                    run, message=f"compass got {signal.Signals(signum).name}: stopping the run"
                )

    def cancel_own_runs(self, signum: int) -> list[str]:
        """Mark every run of this process that neither succeeded nor was canceled as
        canceled (a run interrupted by the signal may have ended as FAILURE); the ids of
        this process's canceled runs."""
        import dagster as dg

        status = dg.DagsterRunStatus
        with self._marking:
            self._stopped = True
            runs = self._own_runs(
                status.NOT_STARTED,
                status.STARTING,
                status.STARTED,
                status.CANCELING,
                status.FAILURE,
                status.CANCELED,
            )
            message = f"compass was stopped by {signal.Signals(signum).name}: run canceled"
            for run in runs:
                if run.status != status.CANCELED:
                    self.instance.report_run_canceled(run, message)
        return [run.run_id for run in runs]

    def run(self, number: int, total: int, step: Step) -> None:
        """One step; a failure raises `CliError` with the failed step's own message, a stop
        `Stopped`."""
        import dagster as dg

        from assets_defs.definitions import partitioned_asset_names

        print(f"[{number}/{total}] {step.label} ...", flush=True)
        started = time.perf_counter()
        job = self.defs.resolve_job_def(step.job)
        selection = None
        if step.partition_set:
            selection = [dg.AssetKey(n) for n in partitioned_asset_names(step.partition_set)]
        tags = dict(self.tags)
        if step.first is not None:
            tags["dagster/asset_partition_range_start"] = step.first
            tags["dagster/asset_partition_range_end"] = step.last
        # Dagster's console output of a failure is the error three times over in two stack
        # traces; `main` prints the step's own message instead (and the trace once with
        # --verbose). The event log keeps every event and trace for the UI.
        console = {"console": {"config": {"log_level": "CRITICAL"}}}
        result = job.execute_in_process(
            instance=self.instance,
            tags=tags,
            run_config={**(step.run_config or {}), "loggers": console},
            raise_on_error=False,
            asset_selection=selection,
        )
        if self.stop.signum is not None:
            raise Stopped(self.stop.signum, self.cancel_own_runs(self.stop.signum))
        if not result.success:
            raise CliError(*_failure(result))
        print(
            f"[{number}/{total}] {step.label} done in {time.perf_counter() - started:.1f}s "
            f"(run {result.run_id[:8]})",
            flush=True,
        )


# Errors whose message says all: shown without their class name.
_SELF_EXPLAINING = {"Failure", "RawDataError", "StorageError", "DamagedFileError"}


def _failure(result) -> tuple[str, str | None]:
    """The first step failure's own message (e.g. the raw-contract violations, or the file a
    full disk failed to write) and Dagster's full trace of it (for `--verbose`)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            trace = error.to_string()
            while error.cause is not None and "dagster._core" in (error.message or ""):
                error = error.cause
            text = error.message.strip()
            name = error.cls_name or ""
            head, colon, rest = text.partition(": ")
            if colon and head.rsplit(".", 1)[-1] == name:
                text = rest if name in _SELF_EXPLAINING else f"{name}: {rest}"
            if event.step_failure_data.user_failure_data:
                text = event.step_failure_data.user_failure_data.description or text
            return f"step {event.step_key} failed: {text}", trace
    return f"run {result.run_id} failed", None


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

    # no defaults here: with --append an option left out means "as recorded"
    sim = sub.add_parser("simulate", help="write a simulated raw directory")
    sim.add_argument("--out", required=True, help="raw directory to write")
    sim.add_argument("--start", type=_date, help=f"first day (UTC; default {DEMO_START})")
    sim.add_argument(
        "--days", type=_positive, help=f"days to write (default {DEMO_DAYS}; 1 with --append)"
    )
    sim.add_argument("--seed", type=int, help=f"default {DEMO_SEED}")
    sim.add_argument("--scale", type=_positive, help=f"order lines per day (default {DEMO_SCALE})")
    sim.add_argument("--format", choices=("parquet", "csv"), help="default parquet")
    sim.add_argument(
        "--append",
        action="store_true",
        help="add the next day(s) as new drops to a directory written by `compass simulate`",
    )
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
