"""The rows simulated but not delivered yet: the exporter's queue between two daily drops.

A cohort (`day.py`) is drawn whole, so many of its rows (a cancellation, a refund's
decision, a settlement, the room events after midnight) are due in later drops. They wait
here, sorted by the day that delivers them; a drop takes that day's rows of every cohort,
oldest cohort first. At the end of a run the queue is saved beside the drops, one
Parquet file per table, in the order the drops will take it, so that `--append` delivers
exactly what a longer run would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from compass_pipeline.simulate.columns import DAILY_TABLES, SCHEMAS
from compass_pipeline.simulate.day import Rows

# the tables whose rows can fall due on a later day: orders and what follows from them
QUEUED_TABLES = DAILY_TABLES[DAILY_TABLES.index("orders") :]
DAY_COLUMN = "_day"  # in a saved queue: the day (0 = the run's start) that delivers the row


@dataclass
class _Piece:
    rows: pa.Table
    day: np.ndarray  # sorted
    taken: int = 0  # rows before this one are delivered


class Outbox:
    """Per table, the pieces (one per cohort, or the saved queue) still holding due rows."""

    def __init__(self) -> None:
        self._pieces: dict[str, list[_Piece]] = {name: [] for name in QUEUED_TABLES}

    def add(self, name: str, rows: Rows) -> None:
        day = np.asarray(rows.day, dtype=np.int64)
        if len(day) > 1 and (np.diff(day) < 0).any():
            raise ValueError(f"{name}: rows not sorted by delivery day")
        if len(day):
            self._pieces[name].append(_Piece(rows.table, day))

    def take(self, name: str, d: int) -> pa.Table:
        """The rows of `name` due on day `d`, oldest cohort first; earlier days were taken."""
        parts = []
        for piece in self._pieces[name]:
            end = int(np.searchsorted(piece.day, d, side="right"))
            if piece.taken < len(piece.day) and piece.day[piece.taken] < d:
                raise ValueError(f"{name}: rows of day {piece.day[piece.taken]} never delivered")
            if end > piece.taken:
                parts.append(piece.rows.slice(piece.taken, end - piece.taken))
                piece.taken = end
            if len(piece.day) > piece.taken * 2 or piece.taken == len(piece.day):
                continue
            # most of it delivered: keep a copy of the rest, so the day's rows (a whole day
            # of orders waiting on a late cancellation) are not held in memory for it
            rest = np.arange(piece.taken, len(piece.day))
            piece.rows, piece.day, piece.taken = piece.rows.take(pa.array(rest)), piece.day[rest], 0
        self._pieces[name] = [p for p in self._pieces[name] if p.taken < len(p.day)]
        if len(parts) == 1:
            return parts[0]
        return pa.concat_tables([SCHEMAS[name].empty_table(), *parts]).combine_chunks()

    def save(self, folder: Path) -> None:
        """One file per table: every row still due, by day, then cohort, then as drawn."""
        folder.mkdir(parents=True)
        for name, pieces in self._pieces.items():
            rows = pa.concat_tables(
                [SCHEMAS[name].empty_table()] + [p.rows.slice(p.taken) for p in pieces]
            )
            day = np.concatenate([np.zeros(0, np.int64)] + [p.day[p.taken :] for p in pieces])
            order = np.argsort(day, kind="stable")
            rows = rows.take(pa.array(order)).append_column(
                DAY_COLUMN, pa.array(day[order], pa.int32())
            )
            pq.write_table(rows.combine_chunks(), folder / f"{name}.parquet", compression="snappy")

    @classmethod
    def load(cls, folder: Path) -> Outbox:
        """The queue `save` wrote, as one piece per table, its rows exactly as saved."""
        outbox = cls()
        for name in QUEUED_TABLES:
            saved = pq.read_table(folder / f"{name}.parquet")
            day = saved.column(DAY_COLUMN).to_numpy().astype(np.int64)
            rows = saved.drop_columns([DAY_COLUMN]).cast(SCHEMAS[name]).combine_chunks()
            outbox.add(name, Rows(rows, day))
        return outbox
