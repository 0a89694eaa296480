"""The stored raw tables as files that an ingestion adds to, not rewrites.

Layout of a raw snapshot folder (the data directory's `raw` link points at the current one)::

    raw/<table>/part-000001-0000.parquet ...   rows in effect, files per ingestion
    raw/raw_quarantine.parquet                 every rejected row so far
    raw/_ingest/manifest.parquet               the landing zone's files ingested so far
    raw/_ingest/versions/<table>/part-....parquet   superseded versions (mutable tables)

An ingestion writes a new snapshot folder: its own part per table (the new rows and the
stored rows it judged again), each earlier part hard-linked unchanged, or rewritten
without the rows it judged again, then swaps the link (`DataDir.swap_raw_snapshot`). So
a day's drop writes about a day of rows, and a crash before the swap leaves the previous
snapshot whole. Each part records the greatest instant of its rows, from which the data
watermark of the whole snapshot is taken without reading the rows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from compass_pipeline.ingest.closure import KINDS, ROW_ID, StoredParts
from compass_pipeline.storage import (
    META_PREFIX,
    RAW_SIDE,
    DataDir,
    raw_file_metadata,
    write_parquet_atomic,
)
from schemas.raw import RAW_TABLES, raw_table_info

MAX_INSTANT = f"{META_PREFIX}max_instant"
# Rows per part file: a later ingestion that judges a stored row again rewrites only the
# part that holds it (rows come in the order read, so a day's rows stay together).
PART_ROWS = 1 << 20
COMPACT_AT = 0.25  # a part is rewritten once this share of its rows has left it


def part_name(ingestion: int, chunk: int) -> str:
    return f"part-{ingestion:06d}-{chunk:04d}.parquet"


def deleted_path(root: Path, kind: str, table: str) -> Path:
    """Where the ids of the rows that left a table's files of one kind are listed (the
    rows in effect: `DataDir.raw_deleted_path`, which the catalog reads)."""
    folder = "deleted" if kind == "effect" else "deleted_versions"
    return root / RAW_SIDE / folder / f"{table}.parquet"


def stored_parts(store: DataDir) -> StoredParts:
    """The part files of the raw snapshot in use (resolved: an ingestion that swaps the
    link meanwhile does not move them)."""
    root = store.raw_dir.resolve()
    parts = StoredParts()
    for table in RAW_TABLES:
        parts.effect[table] = sorted((root / table).glob("*.parquet"))
        parts.versions[table] = sorted((root / RAW_SIDE / "versions" / table).glob("*.parquet"))
        for kind in KINDS:
            deleted = deleted_path(root, kind, table)
            if deleted.exists():
                parts.deleted[kind, table] = deleted
    return parts


def max_instant(rows: pa.Table, table: str) -> datetime | None:
    """The greatest instant of any timestamp column of the rows."""
    latest = None
    for column in raw_table_info(table).timestamp_columns:
        value = pc.max(rows.column(column)).as_py() if rows.num_rows else None
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


def snapshot_watermark(parts: StoredParts) -> datetime | None:
    """The data watermark: the greatest instant of the rows in effect, from the parts'
    footers."""
    latest = None
    for files in parts.effect.values():
        for path in files:
            text = (pq.read_schema(path).metadata or {}).get(MAX_INSTANT.encode(), b"").decode()
            value = datetime.fromisoformat(text) if text else None
            if value is not None and (latest is None or value > latest):
                latest = value
    return latest


def write_snapshot(
    folder: Path,
    previous: StoredParts | None,
    ingestion: int,
    *,
    effect: Mapping[str, pa.Table],
    superseded: Mapping[str, pa.Table],
    deleted: Mapping[tuple[str, str], np.ndarray],
) -> StoredParts:
    """Write a new snapshot's parts into `folder`: every earlier part as it is (a hard link),
    this ingestion's own parts, and per table the ids of the rows that left their part.

    A part whose rows have mostly left (`COMPACT_AT`) is rewritten without them, so that
    readers do not keep skipping them.
    """
    written = StoredParts()
    for table in RAW_TABLES:
        for kind, new_rows, target in (
            ("effect", effect.get(table), folder / table),
            ("versions", superseded.get(table), folder / RAW_SIDE / "versions" / table),
        ):
            more = deleted.get((kind, table))
            more = np.array([], dtype=np.int64) if more is None else more
            gone = _gone(previous, kind, table, more)
            target.mkdir(parents=True, exist_ok=True)
            files = []
            for path in getattr(previous, kind).get(table, []) if previous else []:
                kept, gone = _carry(path, target / path.name, table, gone, more)
                files += [kept] if kept is not None else []
            rows = new_rows.num_rows if new_rows is not None else 0
            for chunk, start in enumerate(range(0, rows, PART_ROWS)):
                path = target / part_name(ingestion, chunk)
                _write_part(path, new_rows.slice(start, PART_ROWS), table)
                files.append(path)
            getattr(written, kind)[table] = files
            if len(gone):
                path = deleted_path(folder, kind, table)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_parquet_atomic(path, pa.table({ROW_ID: pa.array(gone, pa.int64())}), {})
                written.deleted[kind, table] = path
    return written


def _gone(previous: StoredParts | None, kind: str, table: str, more: np.ndarray) -> np.ndarray:
    """The ids of the rows that left a table's files of one kind: the earlier ones and
    `more`."""
    earlier = np.array([], dtype=np.int64)
    if previous is not None and (kind, table) in previous.deleted:
        earlier = pq.read_table(previous.deleted[kind, table]).column(ROW_ID).to_numpy()
    return np.union1d(earlier, more) if len(more) else earlier


def _carry(
    source: Path, target: Path, table: str, gone: np.ndarray, more: np.ndarray
) -> tuple[Path | None, np.ndarray]:
    """An earlier part in the new snapshot: linked as it is, or, once at least `COMPACT_AT`
    of its rows have left, rewritten without them (their ids are then forgotten). Only a
    part that rows left in this ingestion (`more`) is looked at: its footer's id range
    says so without reading it."""
    if not len(more) or not _may_hold(source, more):
        os.link(source, target)
        return target, gone
    ids = pq.read_table(source, columns=[ROW_ID]).column(ROW_ID).to_numpy()
    left = np.isin(ids, gone)
    if left.sum() < COMPACT_AT * len(ids):
        os.link(source, target)
        return target, gone
    remaining = np.setdiff1d(gone, ids[left])
    if left.all():
        return None, remaining
    rows = pq.read_table(source).filter(pa.array(~left))
    _write_part(target, rows, table)
    return target, remaining


def _may_hold(path: Path, ids: np.ndarray) -> bool:
    """Whether any of `ids` lies within the row-id range of a part's row groups."""
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.names.index(ROW_ID)
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            return True
        if np.any((ids >= stats.min) & (ids <= stats.max)):
            return True
    return False


def _write_part(path: Path, rows: pa.Table, table: str) -> None:
    """A part, with the greatest instant of its rows (the snapshot's watermark is in its
    manifest: a part linked into later snapshots keeps the metadata it was written with)."""
    latest = max_instant(rows, table)
    metadata = raw_file_metadata(table, None)
    metadata[MAX_INSTANT] = latest.isoformat() if latest else ""
    # the key's statistics let a lookup of new keys skip the row groups of other days
    key = raw_table_info(table).key
    write_parquet_atomic(path, rows.replace_schema_metadata(None), metadata, statistics=key)
