"""Which process holds a data directory, and whether a process is still alive.

The ingestion and the facts replace the one stored raw snapshot and the facts, so one step
at a time may run them per data directory, whoever started it (`compass run`, a second
`compass run`, a run of the UI). They take `snapshot_lock`: an exclusive `fcntl.flock` on
`DATA_DIR/.snapshot.lock`.

Why a file lock rather than Dagster's concurrency pool (`compass_snapshot`, used before):
the kernel releases a `flock` when its holder dies, however it dies (SIGKILL, the OOM
killer, a lost machine), so a dead holder can never keep the next run waiting. A pool slot
lives in the instance's database: a run killed while holding it kept it, and every later
ingestion waited for it forever (ARCHITECTURE.md, "measured traps").

A waiter polls (a sleep between tries, no busy loop) and says what it waits for: the
holder writes who it is into the lock file (run id, step, process id and host, command,
when it took the lock), and the waiter repeats it with the time it started waiting, at
once and then every `REPORT_EVERY` seconds.

The process helpers (`process_identity`, `process_alive`) tell a live process from a dead
one by its id *and* its start time, so that a recycled process id is not taken for the
process that died. They read Linux's /proc; elsewhere only the id is checked.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

log = logging.getLogger("compass_pipeline")

SNAPSHOT_LOCK = ".snapshot.lock"
REPORT_EVERY = 30.0  # seconds between two "still waiting" messages
POLL_MAX = 0.5  # seconds between two tries, once the first quick ones failed


# processes -------------------------------------------------------------------------------
def hostname() -> str:
    return socket.gethostname()


@cache
def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def process_started(pid: int) -> float | None:
    """When process `pid` started (epoch seconds, 0.01 s steps), or None when there is no
    such live process (or no /proc to ask). A zombie counts as dead: it has exited and only
    waits for its parent to read its status."""
    boot = _boot_time()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or parentheses
    fields = stat[stat.rindex(")") + 2 :].split()
    if boot is None or fields[0] in ("Z", "X"):
        return None
    return round(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), 2)


def process_identity() -> dict[str, str]:
    """This process: host, pid, start time and command line (as text, for tags and files)."""
    started = process_started(os.getpid())
    command = " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(sys.argv))
    return {
        "host": hostname(),
        "pid": str(os.getpid()),
        "started": "" if started is None else f"{started:.2f}",
        "command": command[:200],
    }


def process_alive(
    host: str, pid: int, started: float | None = None, *, started_before: float | None = None
) -> bool | None:
    """Whether the process `pid` on `host` still runs: True, False, or None when it cannot
    be told (another host).

    `started`: the process's start time as `process_identity` recorded it; a process with
    that id but another start time is a later one that reused the id. `started_before`: an
    instant the process was already running at (e.g. an event it wrote); a process with
    that id started after it is a later one.
    """
    if host != hostname():
        return None
    if _boot_time() is None:  # no /proc: the id alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    now_started = process_started(pid)
    if now_started is None:
        return False
    if started is not None and abs(now_started - started) > 0.05:
        return False
    return not (started_before is not None and now_started > started_before + 1.0)


# the lock --------------------------------------------------------------------------------
def _describe(holder: dict) -> str:
    """`run 1a2b3c4d (raw_ingest) of `compass run ...`, pid 42 on host, since <time>`"""
    if not holder:
        return "a process that has not said who it is yet"
    who = " ".join(
        part
        for part in (
            f"run {holder['run_id'][:8]}" if holder.get("run_id") else "",
            f"({holder['step']})" if holder.get("step") else "",
            (
                ("of " if holder.get("run_id") or holder.get("step") else "")
                + f"`{holder['command']}`"
            )
            if holder.get("command")
            else "",
        )
        if part
    )
    parts = [who] if who else []
    parts.append(f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}")
    if holder.get("taken_at"):
        parts.append(f"since {holder['taken_at']}")
    return ", ".join(parts)


def _read_holder(path: Path) -> dict:
    try:
        text = path.read_text()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):  # being written, or not ours
        return {}


def _clock(instant: datetime) -> str:
    return instant.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


@contextmanager
def exclusive(
    path: Path,
    what: str,
    *,
    run_id: str | None = None,
    step: str = "",
    logger: LoggerLike | None = None,
    report_every: float = REPORT_EVERY,
) -> Iterator[None]:
    """Hold an exclusive `flock` on the file `path` for the body of the `with`.

    While another process holds it, wait (polling, sleeping between tries) and say what
    for, at INFO level, through the `compass_pipeline` logger and `logger` (e.g. a Dagster
    step's `context.log`, so that the UI's run shows it): at once, then every
    `report_every` seconds. When the lock is taken and released is said at DEBUG level
    (the run's event log keeps when each step held it). Signals interrupt the wait as they
    would a sleep.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        waited_since = None
        next_report = 0.0
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            now = time.monotonic()
            if waited_since is None:
                waited_since = (now, datetime.now(UTC))
            if now >= next_report:
                waiting = int(now - waited_since[0])
                message = (
                    f"waiting for {what}, held by {_describe(_read_holder(path))}; "
                    f"waiting since {_clock(waited_since[1])}"
                    + (f" ({waiting} s)" if waiting else "")
                )
                _say(logging.INFO, message, logger)
                next_report = now + report_every
            time.sleep(max(0.001, min(delay, next_report - time.monotonic())))
            delay = min(delay * 2, POLL_MAX)
        taken = time.monotonic()
        waited = "" if waited_since is None else f" after waiting {taken - waited_since[0]:.1f} s"
        _say(logging.INFO if waited else logging.DEBUG, f"took {what}{waited}", logger)
        me = process_identity()
        me.update(
            run_id=run_id or "",
            step=step,
            taken_at=_clock(datetime.now(UTC)),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # no stale description once released
            fcntl.flock(fd, fcntl.LOCK_UN)
            held = time.monotonic() - taken
            _say(logging.DEBUG, f"released {what} after holding it {held:.1f} s", logger)
    finally:
        os.close(fd)


@contextmanager
def try_exclusive(path: Path) -> Iterator[bool]:
    """Take the lock `path` if it is free, without waiting: True while held, else False."""
    if not path.parent.is_dir():
        yield False
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class LoggerLike(Protocol):
    def info(self, msg: str, *args, **kwargs) -> object: ...
    def debug(self, msg: str, *args, **kwargs) -> object: ...


def _say(level: int, message: str, logger: LoggerLike | None) -> None:
    log.log(level, message)
    if logger is not None:
        (logger.info if level >= logging.INFO else logger.debug)(message)


def snapshot_lock(
    data_dir: str | os.PathLike[str],
    run_id: str | None = None,
    step: str = "",
    logger: LoggerLike | None = None,
):
    """The data directory's lock for steps that replace the raw snapshot or the facts."""
    return exclusive(
        Path(data_dir) / SNAPSHOT_LOCK,
        f"the snapshot lock of {data_dir} (one ingestion or facts build at a time)",
        run_id=run_id,
        step=step,
        logger=logger,
    )
