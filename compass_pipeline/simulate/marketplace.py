"""`simulate`: write a raw directory (raw-contract.md) of a simulated multi-shop marketplace.

The static tables are one file each; the seven tables that grow with sales are folders
with one file per simulated day (`orders/part-2026-03-01.parquet`), so the output also
exercises the folder layout of the contract. See `day.py` for what a day's files hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from pathlib import Path

import pyarrow as pa

from compass_pipeline.simulate.columns import DAILY_TABLES, STATIC_TABLES, write
from compass_pipeline.simulate.day import live_room_tables, sales_tables
from compass_pipeline.simulate.world import build_world

DEFAULT_START = date(2026, 3, 1)
FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class SimulationSummary:
    """Rows written per table (versions and duplicates included), and the snapshot instant:
    00:00 UTC after the last simulated day, the latest instant anywhere in the data."""

    tables: dict[str, int]
    snapshot_at: datetime


def _clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote here, so stale days never join this snapshot.

    Only the simulator's own file names are touched.
    """
    for name in STATIC_TABLES + DAILY_TABLES:
        for fmt in FORMATS:
            (out_dir / f"{name}.{fmt}").unlink(missing_ok=True)
        folder = out_dir / name
        if folder.is_dir():
            for fmt in FORMATS:
                for part in folder.glob(f"part-*.{fmt}"):
                    part.unlink()


def _later(tables: Future[dict[str, pa.Table]]) -> Iterator[tuple[str, pa.Table]]:
    yield from tables.result().items()


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
    """Simulate `days` days from `start` with about `scale` order lines a day into `out_dir`.

    Deterministic: the same arguments give byte-identical files. Each day draws from its
    own generator seeded by (`seed`, day), so days are independent of each other.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt={fmt!r}: expected one of {', '.join(FORMATS)}")
    if days < 1 or scale < 1:
        raise ValueError(f"days={days}, scale={scale}: both must be at least 1")
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
    for name in DAILY_TABLES:
        (out_dir / name).mkdir(exist_ok=True)
        counts[name] = 0
    # two workers: the LIVE-room tables are computed and files written while the main
    # thread builds the sales tables (numpy and Arrow release the GIL); a day is finished
    # before the next starts, so memory holds one day at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        for d in range(days):
            day = start + timedelta(days=d)
            room = pool.submit(live_room_tables, world, seed, d, day)
            writes = []
            for name, tbl in chain(sales_tables(world, seed, d, day), _later(room)):
                path = out_dir / name / f"part-{day.isoformat()}.{fmt}"
                writes.append(pool.submit(write, tbl, path, fmt))
                counts[name] += tbl.num_rows
            for done in writes:
                done.result()
            report(f"{day.isoformat()}: {world.scale:,} order lines")
    snapshot = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=days)
    return SimulationSummary(tables=counts, snapshot_at=snapshot)
