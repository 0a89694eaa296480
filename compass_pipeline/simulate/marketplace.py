"""`simulate` and `append`: write a raw directory (raw-contract.md) of a simulated
multi-shop marketplace as a stream of daily drops.

The shops, accounts, products and SKUs never grow: one file each. Every other table is a
folder with one file per simulated day (`orders/part-2026-03-01.parquet`), holding what an
exporter delivers at the end of that UTC day: the rows created that day and the new
versions of rows that changed that day, nothing from after it. A run of N days is
therefore the first N drops of any longer run, and `append` adds the next days as new
drops: the parameters and the rows not delivered yet are kept beside the drops (`STATE_FILE`,
`STATE_DIR`; the ingestion reads only table entries).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from pathlib import Path

from compass_pipeline.simulate.columns import DAILY_TABLES, SCHEMAS, STATIC_TABLES, write
from compass_pipeline.simulate.day import Rows, live_room_tables, sales_tables
from compass_pipeline.simulate.outbox import Outbox
from compass_pipeline.simulate.world import World, build_world

DEFAULT_START = date(2026, 3, 1)
FORMATS = ("parquet", "csv")
STATE_FILE = ".compass-simulation.json"
STATE_DIR = ".compass-simulation"  # the queue of rows not delivered yet
# Bumped when the same parameters would draw other data: an older directory cannot be
# continued by this simulator.
GENERATION = 2


class SimulationStateError(ValueError):
    """`append` cannot continue this directory: no simulation state, or other parameters."""


@dataclass(frozen=True)
class SimulationSummary:
    """Rows written per table by this call (versions and duplicates included), and the
    snapshot instant: 00:00 UTC after the last simulated day, the latest instant anywhere
    in the data. `first_day` and `days`: the drops this call wrote."""

    tables: dict[str, int]
    snapshot_at: datetime
    first_day: date | None = None
    days: int = 0


@dataclass(frozen=True)
class _State:
    """What `append` needs to continue a run: its parameters and how many days it has."""

    start: str
    seed: int
    scale: int
    format: str
    days: int
    generation: int = GENERATION

    @property
    def start_day(self) -> date:
        return date.fromisoformat(self.start)


def _clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote here, so stale days never join this simulation.

    Only the simulator's own file names are touched.
    """
    for name in STATIC_TABLES + DAILY_TABLES:
        for fmt in FORMATS:
            (out_dir / f"{name}.{fmt}").unlink(missing_ok=True)
            (out_dir / f".{name}.{fmt}.partial").unlink(missing_ok=True)
        folder = out_dir / name
        if folder.is_dir():
            for fmt in FORMATS:
                for part in chain(
                    folder.glob(f"part-*.{fmt}"), folder.glob(f".part-*.{fmt}.partial")
                ):
                    part.unlink()
    (out_dir / STATE_FILE).unlink(missing_ok=True)
    shutil.rmtree(out_dir / STATE_DIR, ignore_errors=True)


def _later(tables: Future[dict[str, Rows]]) -> Iterator[tuple[str, Rows]]:
    yield from tables.result().items()


def _check(fmt: str, days: int, scale: int) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt={fmt!r}: expected one of {', '.join(FORMATS)}")
    if days < 1 or scale < 1:
        raise ValueError(f"days={days}, scale={scale}: both must be at least 1")


def _queue_dir(out_dir: Path, state: _State) -> Path:
    """The saved queue, named after the first day it delivers (a new one per state)."""
    first_due = state.start_day + timedelta(days=state.days)
    return out_dir / STATE_DIR / f"queue-{first_due.isoformat()}"


def _save_state(out_dir: Path, state: _State, outbox: Outbox) -> None:
    """The queue first, then the state file naming it, then the older queues removed: an
    interruption leaves the previous state whole (the drops it wrote are rewritten
    identically by the next `append`)."""
    queue = _queue_dir(out_dir, state)
    partial = queue.with_name(f".{queue.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    outbox.save(partial)
    shutil.rmtree(queue, ignore_errors=True)
    os.replace(partial, queue)
    text = json.dumps(asdict(state), indent=2, sort_keys=True) + "\n"
    partial_state = out_dir / f"{STATE_FILE}.partial"
    partial_state.write_text(text)
    os.replace(partial_state, out_dir / STATE_FILE)
    for other in (out_dir / STATE_DIR).iterdir():
        if other != queue:
            shutil.rmtree(other)


def _run(
    out_dir: Path,
    world: World,
    state: _State,
    first: int,
    outbox: Outbox,
    report: Callable[[str], None],
) -> dict[str, int]:
    """Write the drops of days `first` .. `state.days - 1`; return the rows written."""
    start = state.start_day
    counts = dict.fromkeys(DAILY_TABLES, 0)
    for name in DAILY_TABLES:
        (out_dir / name).mkdir(exist_ok=True)
    # two workers: the LIVE-room tables are computed and files written while the main
    # thread builds the sales tables (numpy and Arrow release the GIL); a day is finished
    # before the next starts, so memory holds one day (and the queue) at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        for d in range(first, state.days):
            day = start + timedelta(days=d)
            room = pool.submit(live_room_tables, world, state.seed, d, day)
            writes = []

            def deliver(name, tbl, day=day, writes=writes):
                path = out_dir / name / f"part-{day.isoformat()}.{state.format}"
                writes.append(pool.submit(write, tbl, path, state.format))
                counts[name] += tbl.num_rows

            for name, tbl in world.drop_tables(d).items():
                deliver(name, tbl)
            for name, rows in chain(sales_tables(world, state.seed, d, day), _later(room)):
                outbox.add(name, rows)
                deliver(name, outbox.take(name, d))
            for done in writes:
                done.result()
            report(f"{day.isoformat()}: {world.scale:,} order lines")
    _save_state(out_dir, state, outbox)
    return counts


def _summary(state: _State, counts: dict[str, int], first: int) -> SimulationSummary:
    start = state.start_day
    snapshot = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=state.days)
    return SimulationSummary(
        tables={name: counts.get(name, 0) for name in SCHEMAS},
        snapshot_at=snapshot,
        first_day=start + timedelta(days=first),
        days=state.days - first,
    )


def simulate(
    out_dir: Path,
    *,
    start: date = DEFAULT_START,
    days: int = 45,
    seed: int = 7,
    scale: int = 2000,
    fmt: str = "parquet",
    progress: Callable[[str], None] | None = None,
) -> SimulationSummary:
    """Simulate `days` days from `start` with about `scale` order lines a day into `out_dir`,
    replacing what an earlier run wrote there.

    Deterministic: the same arguments give byte-identical files, and the files of a shorter
    run are the first files of a longer one. Each day draws from its own generators seeded
    by (`seed`, day), so no day depends on how many follow.
    """
    _check(fmt, days, scale)
    report = progress or (lambda _message: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear(out_dir)

    world = build_world(start, days, scale, seed)
    counts: dict[str, int] = {}
    for name in STATIC_TABLES:
        write(world.tables[name], out_dir / f"{name}.{fmt}", fmt)
        counts[name] = world.tables[name].num_rows
    report(
        f"world: {len(world.shop_ids)} shops, {len(world.acc_ids)} accounts, "
        f"{len(world.prod_ids)} products, {len(world.live_ids)} LIVEs, "
        f"{len(world.video_ids)} videos"
    )
    state = _State(start=start.isoformat(), seed=seed, scale=scale, format=fmt, days=days)
    counts.update(_run(out_dir, world, state, 0, Outbox(), report))
    return _summary(state, counts, 0)


def _read_state(out_dir: Path) -> _State:
    """The parameters of the simulation in `out_dir`, as `simulate` recorded them."""
    path = Path(out_dir) / STATE_FILE
    if not path.is_file():
        raise SimulationStateError(
            f"{out_dir} holds no simulation to append to (no {STATE_FILE}): "
            "write it with `compass simulate --out DIR` first"
        )
    try:
        state = _State(**json.loads(path.read_text()))
    except (TypeError, ValueError) as exc:
        raise SimulationStateError(f"{path} is not a simulation state: {exc}") from exc
    if state.generation != GENERATION:
        raise SimulationStateError(
            f"{out_dir} was written by another version of the simulator "
            f"(generation {state.generation}, this one {GENERATION}): simulate it again"
        )
    return state


def append(
    out_dir: Path,
    *,
    days: int = 1,
    start: date | None = None,
    seed: int | None = None,
    scale: int | None = None,
    fmt: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationSummary:
    """Add the next `days` days to the simulation in `out_dir`, as new drops.

    `start`, `seed`, `scale` and `fmt` default to the recorded ones; given, they must equal
    them (another value would draw another marketplace). The files written are those a
    single longer `simulate` run would have written.
    """
    out_dir = Path(out_dir)
    recorded = _read_state(out_dir)
    given = {"start": start and start.isoformat(), "seed": seed, "scale": scale, "format": fmt}
    differing = [
        f"--{name} {value} (recorded: {getattr(recorded, name)})"
        for name, value in given.items()
        if value is not None and value != getattr(recorded, name)
    ]
    if differing:
        raise SimulationStateError(
            f"{out_dir} was simulated with other parameters: {', '.join(differing)}; "
            "an append continues the recorded simulation"
        )
    _check(recorded.format, days, recorded.scale)
    queue = _queue_dir(out_dir, recorded)
    if not queue.is_dir():
        raise SimulationStateError(
            f"{queue} is missing: the simulation state is incomplete; simulate it again"
        )
    report = progress or (lambda _message: None)
    outbox = Outbox.load(queue)
    total = recorded.days + days
    world = build_world(recorded.start_day, total, recorded.scale, recorded.seed)
    state = _State(**{**asdict(recorded), "days": total})
    counts = _run(out_dir, world, state, recorded.days, outbox, report)
    return _summary(state, counts, recorded.days)
