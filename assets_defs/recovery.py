"""Runs whose process died: found, marked failed (or canceled) and their pool slots freed.

A run killed with SIGKILL (the OOM killer, a lost machine) writes no end event: Dagster
keeps it `STARTED` forever, it counts against the instance's `max_concurrent_runs`, and
any pool slot it held stays taken (ARCHITECTURE.md, "measured traps"). Dagster 1.13's run
monitoring does not see such a run here: the `DefaultRunLauncher` (the UI's) cannot check
a run worker's health, and `compass run`'s in-process runs have no run worker at all. So
each run is checked against its own process:

- `compass run` and `compass backfill` tag every run they launch with their process
  (`compass/host`, `compass/pid`, `compass/process_started`);
- a run launched by the UI's `DefaultRunLauncher` carries the code server's address
  (`.dagster/grpc_info`); when that is this machine, its run worker is the process that
  wrote the run's start event (its `pid`), started before that event. Only the sensor
  judges these runs: it runs in that code server, beside the run workers it started,
  whereas a `compass run` may share the instance from another container, where the same
  process id means nothing.

A run whose process is gone (or whose process id now belongs to a later process) is
marked failed (`CANCELING` ones: canceled), and its concurrency slots are freed, as the
daemon's `free_slots_after_run_end_seconds` and the UI's "free slots" button do. A run on
another machine, or of unknown origin, is left alone: only its own host can tell.

`recover_dead_runs` runs at the start of every `compass run` / `compass backfill` (the runs
of `compass` processes), and in the UI's daemon as the sensor `compass_dead_run_monitor`
(every 30 s, on by default; the runs of `compass` processes and of the run launcher).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from compass_pipeline.locks import hostname, process_alive, process_identity

HOST_TAG = "compass/host"
PID_TAG = "compass/pid"
STARTED_TAG = "compass/process_started"
COMMAND_TAG = "compass/command"
GRPC_INFO_TAG = ".dagster/grpc_info"  # set by the DefaultRunLauncher on each run it launches
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def process_tags() -> dict[str, str]:
    """The tags that tie a run launched in this process to this process."""
    me = process_identity()
    return {
        HOST_TAG: me["host"],
        PID_TAG: me["pid"],
        STARTED_TAG: me["started"],
        COMMAND_TAG: me["command"],
    }


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    status: str  # what it was marked: "failed" or "canceled"
    process: str  # "pid 42 on host"
    slots_freed: int

    def __str__(self) -> str:
        return f"{self.run_id[:8]} ({self.job_name}, {self.process})"


def _is_local(run: dg.DagsterRun) -> bool:
    """A run the DefaultRunLauncher started through a code server on this machine."""
    try:
        info = json.loads(run.tags.get(GRPC_INFO_TAG) or "{}")
    except ValueError:
        return False
    host = info.get("host")
    return bool(info) and (info.get("socket") is not None or host in LOCAL_HOSTS | {hostname()})


def _process_of(
    instance: dg.DagsterInstance, run: dg.DagsterRun, launcher_runs: bool
) -> tuple[bool | None, str]:
    """(alive, "pid N on host") of the run's process; alive is None when it can't be told."""
    tags = run.tags
    if PID_TAG in tags and HOST_TAG in tags:
        started = float(tags[STARTED_TAG]) if tags.get(STARTED_TAG) else None
        host, pid = tags[HOST_TAG], int(tags[PID_TAG])
        return process_alive(host, pid, started), f"pid {pid} on {host}"
    if not (launcher_runs and _is_local(run)):
        return None, "unknown process"
    starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_START)
    if not starts or starts[0].dagster_event is None:
        return None, "no run worker yet"  # STARTING: run monitoring's start timeout
    event = starts[0]
    pid = event.dagster_event.pid
    if pid is None:
        return None, "unknown process"
    alive = process_alive(hostname(), pid, started_before=event.timestamp)
    return alive, f"run worker pid {pid} on {hostname()}"


def _free_slots(instance: dg.DagsterInstance, run_id: str) -> int:
    """Free the concurrency slots a run holds, as the run-monitoring daemon does for a
    finished run (`free_slots_after_run_end_seconds`); the number freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    held = waiting = 0
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        held += sum(1 for slot in info.claimed_slots if slot.run_id == run_id)
        waiting += sum(1 for step in info.pending_steps if step.run_id == run_id)
    if held or waiting:
        storage.free_concurrency_slots_for_run(run_id)
    return held


def recover_dead_runs(
    instance: dg.DagsterInstance, *, launcher_runs: bool = False
) -> list[DeadRun]:
    """Mark every unfinished run whose process died as failed (a `CANCELING` one as
    canceled) and free its slots; also free the slots still held by finished runs.
    `launcher_runs`: judge the runs of the run launcher too (from its code server only).
    Returns the runs it marked."""
    recovered = []
    for run in instance.get_runs(dg.RunsFilter(statuses=UNFINISHED)):
        alive, process = _process_of(instance, run, launcher_runs)
        if alive is not False:
            continue
        run = instance.get_run_by_id(run.run_id)  # it may have ended meanwhile, then exited
        if run is None or run.status not in UNFINISHED:
            continue
        message = (
            f"The process of this run ({process}) is gone: it was killed or its machine "
            "stopped before the run finished."
        )
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message + " Marked canceled.")
            status = "canceled"
        else:
            instance.report_run_failed(run, message + " Marked failed.")
            status = "failed"
        recovered.append(DeadRun(run.run_id, run.job_name, status, process, 0))
    recovered = [
        DeadRun(r.run_id, r.job_name, r.status, r.process, _free_slots(instance, r.run_id))
        for r in recovered
    ]
    _free_slots_of_finished_runs(instance)
    return recovered


def _free_slots_of_finished_runs(instance: dg.DagsterInstance) -> None:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    holders = storage.get_concurrency_run_ids()
    if not holders:
        return
    for run in instance.get_runs(dg.RunsFilter(run_ids=list(holders))):
        if run.is_finished:
            storage.free_concurrency_slots_for_run(run.run_id)


def summary(recovered: Sequence[DeadRun]) -> str:
    """One line: which runs were recovered and what was freed."""
    slots = sum(r.slots_freed for r in recovered)
    marked = sorted({r.status for r in recovered})
    return (
        f"recovered {len(recovered)} run{'s' if len(recovered) != 1 else ''} whose process "
        f"died: {', '.join(str(r) for r in recovered)}; marked {' or '.join(marked)}"
        + (f", {slots} pool slot{'s' if slots != 1 else ''} freed" if slots else "")
    )


def build_dead_run_sensor() -> dg.SensorDefinition:
    """The UI daemon's side: every 30 s, recover runs whose process died."""

    @dg.sensor(
        name="compass_dead_run_monitor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Marks runs whose process died (SIGKILL, out of memory, power loss) as failed "
            "and frees their concurrency slots, so they neither show as running nor hold "
            "the run queue. Requests no run."
        ),
    )
    def compass_dead_run_monitor(context: dg.SensorEvaluationContext):
        recovered = recover_dead_runs(context.instance, launcher_runs=True)
        if not recovered:
            return dg.SkipReason("no run whose process died")
        context.log.warning(summary(recovered))
        return dg.SkipReason(summary(recovered))

    return compass_dead_run_monitor
