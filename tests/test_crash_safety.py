"""Fault injection: what `compass run` survives, and how it says so (issue 22).

- a process killed (SIGKILL: the OOM killer, a lost machine) in any phase: the next plain
  run recovers its runs, completes, and every catalog view equals a clean run's; after the
  kill, every catalog view is readable;
- Ctrl-C (SIGINT) and SIGTERM: the process exits within 5 s, its runs canceled; also while
  it waits for another run's snapshot lock;
- two `compass run` on one data directory: the second waits (saying for what) and both
  finish with the catalog of a single run;
- a full disk (ENOSPC), injected into the writer or from a small tmpfs: a clear message
  naming the file, the catalog readable and unchanged, the next run succeeds;
- a truncated Parquet partition: named, set aside, rewritten by the next run of its
  partition;
- a run left behind holding a pool slot under an instance file of the older version:
  marked failed and the slot freed, nothing hangs; the UI daemon's sensor does the same;
- bad input: each violation printed once, no stack trace.

The end-to-end cases run the console script in a subprocess on 3 simulated days of 300
order lines. Kill moments are drawn from seeded generators, within the phase's length as a
clean run measured it, once the phase has started (its Dagster event).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compass_pipeline import locks, storage
from compass_pipeline.cli import main

START, END = "2026-03-01", "2026-03-03"
RANGE = ["--start", START, "--end", END]
PHASES = ("ingestion", "facts", "live_list", "daily", "dashboard")
MART_JOBS = {"live_list": "live_list_job", "daily": "daily_job", "dashboard": "live_dashboard_job"}
STEP_OF_PHASE = {"ingestion": "raw_ingest", "facts": "facts"}
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
LOCK_ERROR = re.compile(
    r"conflicting lock|could not set lock|database is locked|lock.{0,40}(error|timed? ?out)",
    re.IGNORECASE,
)
EXIT_WITHIN = 5.0  # seconds, from the signal to the process's exit


# helpers ---------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COMPASS_") and k not in {"DAGSTER_HOME", "PYTHONUNBUFFERED"}
    }
    env["PYTHONUNBUFFERED"] = "1"  # progress lines arrive as they are printed
    return env


def start_compass(args: list[str], logs: Path, env: dict | None = None) -> subprocess.Popen:
    """`compass ARGS` as the console script runs it; stdout and stderr into `logs`.out/.err."""
    logs.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", "from compass_pipeline.cli import entry; entry()", *args],
        stdout=open(logs.with_suffix(".out"), "w"),  # noqa: SIM115 - the child writes it
        stderr=open(logs.with_suffix(".err"), "w"),  # noqa: SIM115
        env={**_env(), **(env or {})},
    )


@dataclass
class Done:
    code: int
    out: str
    err: str


def finish(proc: subprocess.Popen, logs: Path, timeout: float = 300) -> Done:
    code = proc.wait(timeout=timeout)
    return Done(code, logs.with_suffix(".out").read_text(), logs.with_suffix(".err").read_text())


def compass(args: list[str], logs: Path, env: dict | None = None) -> Done:
    return finish(start_compass(args, logs, env), logs)


def run_args(raw: Path, data: Path, *extra: str) -> list[str]:
    return ["run", "--raw", str(raw), "--data", str(data), *RANGE, *extra]


def catalog_views(data: Path) -> dict[str, str]:
    """Every view of the catalog: a digest of its rows, sorted (the `_partitions` view
    without its materialization times)."""
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    try:
        names = [
            row[0]
            for row in con.sql(
                "select view_name from duckdb_views() where not internal order by 1"
            ).fetchall()
        ]
        digests = {}
        for name in names:
            columns = "*"
            if name == "_partitions":
                columns = "asset, partition_key, row_count, data_watermark"
            rows = con.sql(f'select {columns} from "{name}" order by all').fetchall()
            digests[name] = f"{len(rows)} rows " + hashlib.sha256(repr(rows).encode()).hexdigest()
        return digests
    finally:
        con.close()


def assert_catalog_readable(data: Path) -> None:
    """Every view of the catalog can be read to its end (if there is a catalog yet)."""
    if not (data / "compass.duckdb").exists():
        return
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    try:
        names = con.sql("select view_name from duckdb_views() where not internal").fetchall()
        assert names
        for (name,) in names:
            con.sql(f'select * from "{name}"').fetchall()
    finally:
        con.close()


def leftovers(data: Path) -> list[Path]:
    """Temporary files or folders in the data directory (outside the Dagster instance)."""
    return [
        p
        for p in data.rglob("*")
        if ".dagster" not in p.relative_to(data).parts
        and (p.name.endswith(".tmp") or ".tmp." in p.name or p.name.endswith(".lnk"))
    ]


def unfinished_runs(home: Path) -> list:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_runs(dg.RunsFilter(statuses=UNFINISHED))


def _phase_started(instance: dg.DagsterInstance, pid: int, phase: str) -> bool:
    runs = instance.get_runs(dg.RunsFilter(tags={"compass/pid": str(pid)}))
    if phase in MART_JOBS:
        return any(run.job_name == MART_JOBS[phase] for run in runs)
    for run in runs:
        if run.job_name == "ingest_job":
            starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            if any(event.step_key == STEP_OF_PHASE[phase] for event in starts):
                return True
    return False


def wait_for_phase(proc: subprocess.Popen, home: Path, phase: str, timeout: float = 120) -> None:
    """Until the run of `proc` has started `phase` (its step's or its run's start event)."""
    deadline = time.monotonic() + timeout
    while not (home / "dagster.yaml").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while not _phase_started(instance, proc.pid, phase):
            assert proc.poll() is None, f"compass exited before the {phase} phase"
            assert time.monotonic() < deadline, f"no {phase} phase within {timeout} s"
            time.sleep(0.02)


def wait_for_output(logs: Path, text: str, proc: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = logs.with_suffix(".out").read_text()
        if text in out:
            return out
        assert proc.poll() is None, f"compass exited without printing {text!r}:\n{out}"
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{out}"
        time.sleep(0.05)


def phase_lengths(home: Path) -> dict[str, float]:
    """How long each phase took in the runs recorded in `home` (seconds)."""
    lengths = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records():
            run = record.dagster_run
            if run.job_name == "ingest_job":
                events = instance.all_logs(
                    run.run_id,
                    of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS},
                )
                for phase, step in STEP_OF_PHASE.items():
                    times = [e.timestamp for e in events if e.step_key == step]
                    lengths[phase] = max(times) - min(times)
            for phase, job in MART_JOBS.items():
                if run.job_name == job:
                    lengths[phase] = record.end_time - record.start_time
    assert set(lengths) == set(PHASES), lengths
    return lengths


# fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """3 simulated days of 300 order lines (read-only: copy to change)."""
    from compass_pipeline.simulate import simulate

    out = tmp_path_factory.mktemp("crash_raw") / "raw"
    simulate(out, start=date.fromisoformat(START), days=3, seed=22, scale=300)
    return out


@dataclass(frozen=True)
class Clean:
    data: Path
    views: dict[str, str]
    lengths: dict[str, float]


@pytest.fixture(scope="module")
def clean(raw, tmp_path_factory) -> Clean:
    """One uninterrupted `compass run` over the raw directory into a new data directory:
    its catalog views and how long each phase took."""
    root = tmp_path_factory.mktemp("crash_clean")
    data = root / "data"
    done = compass(run_args(raw, data), root / "logs" / "clean")
    assert done.code == 0, done.err
    return Clean(data, catalog_views(data), phase_lengths(data / ".dagster"))


@pytest.fixture
def isolated(monkeypatch, tmp_path) -> Path:
    for name in list(os.environ):
        if name.startswith("COMPASS_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    return tmp_path


# SIGKILL in every phase ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_a_run_killed_in_any_phase_is_recovered_by_the_next_plain_run(phase, raw, clean, isolated):
    """A complete run, then `compass run --rebuild` (every phase rewrites stored data)
    killed at a seeded moment inside `phase`: the catalog stays readable; the next plain
    `compass run` marks the dead run failed, completes and leaves a clean run's catalog."""
    data, logs = isolated / "data", isolated / "logs"
    assert compass(run_args(raw, data), logs / "first").code == 0

    delay = random.Random(f"issue-22-{phase}").uniform(0.1, 0.9) * clean.lengths[phase]
    proc = start_compass(run_args(raw, data, "--rebuild"), logs / "killed")
    wait_for_phase(proc, data / ".dagster", phase)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert_catalog_readable(data)

    done = compass(run_args(raw, data), logs / "again")
    assert done.code == 0, done.err
    assert "whose process died" in done.out  # the killed run, recovered
    assert catalog_views(data) == clean.views
    assert unfinished_runs(data / ".dagster") == []
    assert leftovers(data) == []


# Ctrl-C and SIGTERM ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "phase"), [(signal.SIGINT, "facts"), (signal.SIGTERM, "ingestion")]
)
def test_a_signal_stops_the_run_within_seconds_and_the_next_run_completes(
    signum, phase, raw, clean, isolated
):
    data, logs = isolated / "data", isolated / "logs"
    proc = start_compass(run_args(raw, data), logs / "stopped")
    wait_for_phase(proc, data / ".dagster", phase)
    sent = time.monotonic()
    proc.send_signal(signum)
    stopped = finish(proc, logs / "stopped", timeout=30)
    assert time.monotonic() - sent < EXIT_WITHIN
    assert stopped.code == 128 + signum, stopped.err
    assert f"stopped by {signal.Signals(signum).name}" in stopped.err
    assert "Traceback" not in stopped.err
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        statuses = {run.job_name: run.status for run in instance.get_runs()}
    assert statuses == {"ingest_job": dg.DagsterRunStatus.CANCELED}
    assert_catalog_readable(data)
    assert leftovers(data) == []

    done = compass(run_args(raw, data), logs / "again")
    assert done.code == 0, done.err
    assert catalog_views(data) == clean.views


def test_a_run_waiting_for_another_says_for_what_and_stops_at_sigterm(raw, isolated):
    """The issue's hang: a run whose ingestion waits for another holder of the data
    directory prints what it waits for and since when, spins no core, and SIGTERM stops it
    within seconds, its run canceled."""
    data, logs = isolated / "data", isolated / "logs"
    with locks.snapshot_lock(data, run_id="0123456789abcdef-holder", step="a test"):
        proc = start_compass(run_args(raw, data), logs / "waiting")
        out = wait_for_output(logs / "waiting", "waiting for the snapshot lock", proc)
        line = next(line for line in out.splitlines() if "waiting for the snapshot lock" in line)
        assert "held by run 01234567 (a test)" in line and f"pid {os.getpid()}" in line
        assert "waiting since" in line
        cpu = _cpu_seconds(proc.pid)
        time.sleep(1.0)
        assert _cpu_seconds(proc.pid) - cpu < 0.3  # polls with sleeps, no busy loop
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stopped = finish(proc, logs / "waiting", timeout=30)
    assert time.monotonic() - sent < EXIT_WITHIN
    assert stopped.code == 128 + signal.SIGTERM, stopped.err
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.CANCELED]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# two runs at once ------------------------------------------------------------------------
@pytest.mark.slow
def test_two_runs_on_one_data_directory_both_finish_with_a_single_run_s_catalog(
    raw, clean, isolated
):
    data, logs = isolated / "data", isolated / "logs"
    procs = [start_compass(run_args(raw, data), logs / f"run{n}") for n in (1, 2)]
    done = [finish(proc, logs / f"run{n}") for n, proc in zip((1, 2), procs, strict=True)]
    for result in done:
        assert result.code == 0, result.err
        assert not LOCK_ERROR.search(result.out + result.err), result.err
    assert catalog_views(data) == clean.views
    assert unfinished_runs(data / ".dagster") == []


# a full disk -----------------------------------------------------------------------------
def test_a_full_disk_fails_the_run_naming_the_file_and_leaves_the_catalog_unchanged(
    raw, isolated, monkeypatch, capsys
):
    """ENOSPC injected into the Parquet writer: it writes half a file, then fails."""
    data = isolated / "data"
    args = ["run", "--raw", str(raw), "--data", str(data)]
    assert main([*args, "--start", START, "--end", "2026-03-02"]) == 0
    before = catalog_views(data)
    write_table = pq.write_table

    def disk_full(table, where, **kwargs):
        write_table(table.slice(0, table.num_rows // 2), where, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", disk_full)
    capsys.readouterr()
    assert main([*args, *RANGE]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"could not write {re.escape(str(data.resolve()))}/\S+\.parquet", err), err
    assert "No space left on device (ENOSPC)" in err
    assert "Traceback" not in err and '  File "' not in err
    assert catalog_views(data) == before
    assert leftovers(data) == []

    monkeypatch.setattr(pq, "write_table", write_table)
    assert main([*args, *RANGE]) == 0
    with duckdb.connect(str(data / "compass.duckdb"), read_only=True) as con:
        dates = con.sql(
            "select distinct partition_key from _partitions "
            "where asset = 'core_data_daily' order by 1"
        ).fetchall()
    assert dates == [("2026-03-01",), ("2026-03-02",), ("2026-03-03",)]


@pytest.mark.slow
def test_a_run_on_a_full_filesystem_fails_cleanly_and_succeeds_once_there_is_room(
    raw, clean, isolated
):
    """A real full disk: the data directory on a 700 KiB tmpfs (root only), the Dagster
    instance beside it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mount = isolated / "small_disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        data, logs = mount / "data", isolated / "logs"
        env = {"DAGSTER_HOME": str(isolated / "instance")}
        failed = compass(run_args(raw, data), logs / "full", env)
        assert failed.code == 2, failed.err
        assert f"could not write {data}" in failed.err
        assert "No space left on device (ENOSPC)" in failed.err
        assert "Traceback" not in failed.err
        assert_catalog_readable(data)
        assert leftovers(data) == []

        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        done = compass(run_args(raw, data), logs / "room", env)
        assert done.code == 0, done.err
        assert catalog_views(data) == clean.views
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_failed_write_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "asset" / "2026-03-01.parquet"
    path.parent.mkdir()
    old = pa.table({"x": [1, 2, 3]})
    storage.write_parquet_atomic(path, old, {})

    def disk_full(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(storage.pq, "write_table", disk_full)
    with pytest.raises(storage.StorageError) as caught:
        storage.write_parquet_atomic(path, pa.table({"x": [9]}), {})
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value).startswith(f"could not write {path}: ")
    assert "(ENOSPC)" in str(caught.value)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert pq.read_table(path).equals(old)


# damaged files ---------------------------------------------------------------------------
def test_a_truncated_partition_is_named_set_aside_and_rewritten_by_its_next_run(
    raw, isolated, capsys
):
    data = isolated / "data"
    run = ["run", "--raw", str(raw), "--data", str(data), "--start", START, "--end", "2026-03-02"]
    assert main(run) == 0
    views = catalog_views(data)
    damaged = data / "core_data_daily" / "2026-03-02.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])

    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    with pytest.raises(duckdb.Error, match=re.escape(str(damaged))):
        con.sql("select * from core_data_daily").fetchall()
    con.close()

    # a run of other partitions: the file is named and set aside, the catalog readable
    capsys.readouterr()
    fill = ["backfill", "--data", str(data), "--raw", str(raw)]
    assert main([*fill, "--set", "dashboard", "--from", START, "--to", START]) == 0
    out = capsys.readouterr().out
    assert f"damaged Parquet file {damaged}" in out and "truncated" in out
    assert "the next run of partition 2026-03-02 of core_data_daily recomputes it" in out
    assert_catalog_readable(data)
    assert not damaged.exists() and (damaged.parent / ".2026-03-02.parquet.damaged").exists()

    # the run of its partition writes it anew
    assert main([*fill, "--set", "stat-dates", "--from", "2026-03-02", "--to", "2026-03-02"]) == 0
    assert pq.read_metadata(damaged).num_rows > 0
    assert not (damaged.parent / ".2026-03-02.parquet.damaged").exists()
    assert catalog_views(data) == views


def test_parquet_damage_tells_whole_files_from_cut_or_overwritten_ones(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"x": list(range(100))}), path)
    whole = path.read_bytes()
    assert storage.parquet_damage(path) is None
    path.write_bytes(whole[:-5])
    assert "truncated" in storage.parquet_damage(path)
    path.write_bytes(whole[:7])
    assert storage.parquet_damage(path) == "truncated: 7 bytes"
    path.write_bytes(whole[:-8] + (10**6).to_bytes(4, "little") + b"PAR1")
    assert "footer" in storage.parquet_damage(path)
    path.write_bytes(b"x" * len(whole))
    assert "no Parquet footer" in storage.parquet_damage(path)


def test_a_damaged_raw_table_fails_the_catalog_refresh_naming_it(tmp_path):
    from compass_pipeline.storage import CatalogEntry, DataDir

    store = DataDir(tmp_path)
    store.swap_raw_snapshot(
        lambda folder: storage.write_parquet_atomic(
            folder / "orders.parquet", pa.table({"order_id": ["O1"]}), {}
        )
    )
    entry = CatalogEntry("raw_orders", pa.schema([("order_id", pa.string())]), raw=True)
    store.refresh_catalog([entry])
    table = store.raw_table_path("orders").resolve()
    table.write_bytes(table.read_bytes()[:20])
    with pytest.raises(storage.DamagedFileError, match=re.escape(str(table))):
        store.refresh_catalog([entry])


def test_temporary_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    folder = tmp_path / "core_data_daily"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = locks.hostname()
    orphan = folder / f".2026-03-01.parquet.{dead.pid}@{host}.0123456789ab.tmp"
    live = folder / f".2026-03-02.parquet.{os.getpid()}@{host}.0123456789ab.tmp"
    other_host = folder / f".2026-03-03.parquet.{dead.pid}@elsewhere.0123456789ab.tmp"
    staging = tmp_path / "raw.20260301T000000.0123abcd.tmp"
    staging.mkdir()
    for path in (orphan, live, other_host, staging / "orders.parquet"):
        path.write_bytes(b"partial")
    removed = storage.remove_orphaned_temporary_files(tmp_path)
    assert sorted(removed) == sorted([orphan, staging])
    assert live.exists() and other_host.exists()
    # a raw snapshot's staging folder stays while an ingestion holds the snapshot lock
    staging.mkdir()
    with locks.snapshot_lock(tmp_path):
        assert storage.remove_orphaned_temporary_files(tmp_path) == []
    assert staging.exists()


# the snapshot lock -----------------------------------------------------------------------
class Said:
    """A logger that keeps what it is told: (level, message)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def debug(self, message: str) -> None:
        self.lines.append(("debug", message))


def test_a_waiter_says_who_holds_the_lock_and_since_when_at_every_interval(tmp_path):
    logger = Said()
    got = threading.Event()

    def wait() -> None:
        with locks.exclusive(tmp_path / "x.lock", "the x lock", logger=logger, report_every=0.2):
            got.set()

    with locks.exclusive(tmp_path / "x.lock", "the x lock", run_id="feedc0de-1234", step="facts"):
        waiter = threading.Thread(target=wait)
        cpu = time.process_time()
        waiter.start()
        time.sleep(1.1)
        assert not got.is_set()
        assert time.process_time() - cpu < 0.3
    waiter.join(timeout=5)
    assert got.is_set()
    said = logger.lines
    waiting = [line for level, line in said if line.startswith("waiting for the x lock")]
    assert len(waiting) >= 4, said  # at once, then every 0.2 s
    assert all("held by run feedc0de (facts)" in line for line in waiting)
    assert all(f"pid {os.getpid()} on {locks.hostname()}" in line for line in waiting)
    assert all("waiting since" in line for line in waiting)
    assert said[-2][0] == "info" and said[-2][1].startswith("took the x lock after waiting")
    assert said[-1][0] == "debug" and said[-1][1].startswith("released the x lock after")


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path):
    """The kernel releases a dead holder's `flock`: no slot to free, nothing to wait for."""
    code = (
        "import os, signal, sys; from compass_pipeline import locks\n"
        f"with locks.snapshot_lock({str(tmp_path)!r}, 'dead-run'):\n"
        "    print('held', flush=True); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    holder = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert holder.returncode == -signal.SIGKILL and "held" in holder.stdout
    logger = Said()
    with locks.snapshot_lock(tmp_path, logger=logger):
        pass
    assert [level for level, _ in logger.lines] == ["debug", "debug"]  # took, released


# runs whose process died -----------------------------------------------------------------
DOOMED_JOB = """
import json, os, signal, sys
import dagster as dg
from assets_defs.recovery import process_tags

@dg.op(pool="compass_snapshot")
def die():
    os.kill(os.getpid(), signal.SIGKILL)

@dg.job
def doomed():
    die()

tags = process_tags() if sys.argv[1] == "cli" else {
    ".dagster/grpc_info": json.dumps({"host": "localhost", "port": 4266})
}
doomed.execute_in_process(instance=dg.DagsterInstance.get(), tags=tags)
"""

OLD_INSTANCE_YAML = """\
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


def _doomed_run(home: Path, launched_by: str) -> str:
    """A run that holds the slot of pool `compass_snapshot` when its process is killed."""
    done = subprocess.run(
        [sys.executable, "-c", DOOMED_JOB, launched_by],
        env={**_env(), "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED
        held = instance.event_log_storage.get_concurrency_info("compass_snapshot")
        assert [slot.run_id for slot in held.claimed_slots] == [run.run_id]
        return run.run_id


def test_an_older_instance_file_and_a_dead_run_holding_its_pool_slot_hang_nothing(
    raw, isolated, capsys
):
    """The issue's instance: the old `dagster.yaml` (pool `compass_snapshot`, limit 1) and
    a run killed holding the pool's one slot. `compass run` marks the run failed, frees
    the slot (it no longer needs it anyway) and completes."""
    data = isolated / "data"
    home = data / ".dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(OLD_INSTANCE_YAML.format(home=json.dumps(str(home))))
    dead = _doomed_run(home, "cli")

    run = ["run", "--raw", str(raw), "--data", str(data), "--start", START, "--end", START]
    assert main(run) == 0
    out = capsys.readouterr().out
    assert f"recovered 1 run whose process died: {dead[:8]} (doomed, pid " in out
    assert "marked failed, 1 pool slot freed" in out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        held = instance.event_log_storage.get_concurrency_info("compass_snapshot")
        assert held.claimed_slots == [] and held.pending_steps == []
    assert "pools" in (home / "dagster.yaml").read_text()  # the user's file, untouched


def test_the_ui_daemon_s_sensor_marks_a_dead_run_of_the_run_launcher_failed(isolated):
    """A run launched by the UI (the DefaultRunLauncher's code-server address as its tag)
    whose run worker was killed: the sensor, which runs in that code server, marks it
    failed and frees its slot (`compass run` leaves such runs to it); a second evaluation
    finds nothing."""
    from assets_defs.recovery import build_dead_run_sensor, recover_dead_runs

    home = isolated / "instance"
    home.mkdir()
    (home / "dagster.yaml").write_text(OLD_INSTANCE_YAML.format(home=json.dumps(str(home))))
    dead = _doomed_run(home, "ui")
    sensor = build_dead_run_sensor()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert recover_dead_runs(instance) == []  # `compass run` leaves the launcher's runs
        result = sensor(dg.build_sensor_context(instance=instance))
        assert f"{dead[:8]} (doomed, run worker pid" in result.skip_message
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        held = instance.event_log_storage.get_concurrency_info("compass_snapshot")
        assert held.claimed_slots == []
        again = sensor(dg.build_sensor_context(instance=instance))
        assert again.skip_message == "no run whose process died"


def test_a_new_instance_file_turns_run_monitoring_on_and_names_no_pool(isolated):
    import yaml

    from compass_pipeline.cli import ensure_instance

    home = ensure_instance(isolated / "it's here")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["custom"]["config"]["base_dir"] == str(home.resolve())
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_resume_run_attempts"] == 0
    assert "pools" not in config["concurrency"]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled


# bad input -------------------------------------------------------------------------------
def test_bad_input_prints_each_violation_once_and_no_stack_trace(raw, isolated):
    bad = isolated / "bad_raw"
    shutil.copytree(raw, bad)
    path = bad / "skus.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["product_id"] = "NO_SUCH_PRODUCT"
    rows[2]["product_id"] = "NOR_THIS_ONE"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)

    done = compass(run_args(bad, isolated / "data"), isolated / "logs" / "bad")
    assert done.code == 2
    lines = done.err.splitlines()
    assert lines[0].startswith("error: step raw_ingest failed: raw data breaks the raw contract")
    assert "(2 violations)" in lines[0]
    assert "skus: 2 rows break rule" in done.err and "(column product_id)" in done.err
    for product in ("NO_SUCH_PRODUCT", "NOR_THIS_ONE"):
        assert done.err.count(product) == 1, done.err
        assert f"skus.parquet row {1 if product == 'NO_SUCH_PRODUCT' else 3}" in done.err
    assert not [line for line in lines if line.startswith(("Traceback", '  File "'))]
    assert "Traceback" not in done.out and "Stack Trace" not in done.out + done.err

    verbose = compass(["-v", *run_args(bad, isolated / "data")], isolated / "logs" / "verbose")
    assert verbose.code == 2 and "Stack Trace" in verbose.err
