"""One ingestion of the landing zone into the data directory (raw-contract.md, first section).

Reads the files that are new or changed since the manifest, merges their rows into the
stored tables under the contract's rules (`core.ingest_raw` with the stored rows), then
replaces the stored set — tables, superseded versions, quarantine and manifest — in one
swap. All or nothing: a drop with a bad row raises before anything is written, so the
stored state stays byte for byte as it was (quarantine mode keeps the valid rows).

`rebuild=True` forgets the stored state and ingests every file from scratch; it gives the
same tables as the incremental path, as long as no file was removed from the landing zone
or changed in place (their earlier rows stay stored incrementally, a rebuild reads the
files as they are now). Readings: the rows of the raw views come in the order ingested
(stored rows first, then the new files by name); a stored row that a later drop gets
rejected is shown in `raw_quarantine` with its stored, typed values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from compass_pipeline.ingest.core import (
    QUARANTINE_SCHEMA,
    QUARANTINE_TABLE,
    IngestResult,
    StoredRaw,
    ingest_raw,
)
from compass_pipeline.ingest.errors import RawDataError
from compass_pipeline.ingest.landing import changes, next_ingestion, next_manifest, with_times
from compass_pipeline.ingest.snapshot import snapshot_watermark, stored_parts, write_snapshot
from compass_pipeline.storage import META_PREFIX, RAW_SIDE, DataDir, write_parquet_atomic
from schemas.raw import RAW_TABLES

log = logging.getLogger(__name__)

MANIFEST = "manifest"
LAYOUT = f"{META_PREFIX}layout"
PARTS_LAYOUT = "parts-1"  # the layout of `snapshot`; a snapshot of another is rebuilt
# Row ids of ingestion n start at n << ROW_ID_BITS: unique across ingestions.
ROW_ID_BITS = 36


def stored_manifest(store: DataDir) -> pa.Table | None:
    """The manifest of the stored raw snapshot; None before the first ingestion (or for a
    snapshot stored in an earlier layout, which the next ingestion rebuilds)."""
    manifest = store.read_raw_side(MANIFEST)
    if manifest is None:
        return None
    layout = (manifest.schema.metadata or {}).get(LAYOUT.encode(), b"").decode()
    return manifest if layout == PARTS_LAYOUT else None


def ingest_to_data_dir(
    raw_dir: Path,
    data_dir: Path,
    *,
    quarantine: bool = False,
    rebuild: bool = False,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest what is new in the landing zone and store the merged tables as one set.

    Returns the ingestion's result; when nothing is new, its `tables` are empty and
    `file_rows` too, and nothing but the manifest's file times is written.
    """
    say = progress or log.info
    store = DataDir(data_dir)
    manifest = None if rebuild else stored_manifest(store)
    if manifest is None and store.has_raw_snapshot() and not rebuild:
        say("the stored raw tables are of an earlier layout: ingesting every file again")
    found, problems = changes(Path(raw_dir), manifest)
    if problems:
        raise RawDataError(problems)
    if manifest is not None and not found.count:
        if found.touched:
            store.write_raw_side(MANIFEST, with_times(manifest, found.touched))
        say("no new or changed file in the landing zone")
        return IngestResult(
            tables={},
            quarantine=QUARANTINE_SCHEMA.empty_table(),
            data_watermark=store.raw_watermark(),
            rows_read=dict.fromkeys(RAW_TABLES, 0),
            rows_rejected=dict.fromkeys(RAW_TABLES, 0),
        )
    say(f"{found.count} new or changed file(s) in the landing zone")
    parts = stored_parts(store) if manifest is not None else None
    stored = None
    if parts is not None:
        stored = StoredRaw(
            quarantine=pq.read_table(store.raw_table_path(QUARANTINE_TABLE)).select(
                QUARANTINE_SCHEMA.names
            ),
            parts=parts,
        )
    number = next_ingestion(manifest)
    result = ingest_raw(
        raw_dir,
        quarantine=quarantine,
        progress=say,
        sources={table: found.new.get(table, []) for table in RAW_TABLES},
        stored=stored,
        first_row_id=number << ROW_ID_BITS,
    )
    say("writing the normalized raw tables")
    manifest = next_manifest(manifest, found, result.file_rows)

    def write_all(folder: Path) -> None:
        written = write_snapshot(
            folder,
            parts,
            number,
            effect=result.stored,
            superseded=result.superseded,
            deleted=result.deleted,
        )
        result.data_watermark = snapshot_watermark(written)
        write_parquet_atomic(
            folder / f"{QUARANTINE_TABLE}.parquet",
            result.quarantine,
            {f"{META_PREFIX}asset": QUARANTINE_TABLE},
        )
        side = folder / RAW_SIDE / f"{MANIFEST}.parquet"
        side.parent.mkdir(parents=True, exist_ok=True)
        watermark = result.data_watermark.isoformat() if result.data_watermark else ""
        write_parquet_atomic(
            side,
            manifest,
            {f"{META_PREFIX}data_watermark": watermark, LAYOUT: PARTS_LAYOUT},
        )

    store.swap_raw_snapshot(write_all)
    return result
