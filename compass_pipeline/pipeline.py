"""The pipeline's steps as plain functions: ingest, facts, partitioned marts.

Dagster assets (`assets_defs/`) and tests call these; each step opens its own in-memory
DuckDB connection over the stored Parquet, writes atomically, then refreshes the catalog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from compass_pipeline import catalog
from compass_pipeline.config import Settings
from compass_pipeline.storage import DataDir, connect

log = logging.getLogger("compass_pipeline")


@dataclass(frozen=True)
class PartitionResult:
    """What one stored (or rejected) partition reports to the UI and the CLI."""

    asset: str
    partition_key: str
    row_count: int
    gmv_total: str | None
    passed: bool
    failure_cases: pa.Table | None = None
    message: str = ""


def ingest(raw_dir: Path, data_dir: Path, *, quarantine: bool = False):
    """Ingest the raw directory into the data directory, then refresh the catalog."""
    from compass_pipeline.ingest import ingest_to_data_dir

    started = time.perf_counter()
    result = ingest_to_data_dir(raw_dir, data_dir, quarantine=quarantine, progress=log.info)
    catalog.refresh_catalog(DataDir(data_dir))
    log.info("ingested %s in %.1fs", raw_dir, time.perf_counter() - started)
    return result


def build_facts(data_dir: Path, settings: Settings) -> dict[str, int]:
    """Recompute the facts layer from the stored raw snapshot (one place per rule)."""
    from compass_pipeline import facts

    store = DataDir(data_dir)
    _require_raw(store)
    watermark = store.raw_watermark()
    con = catalog.attach(store, connect())
    counts = {}
    for name, table in facts.build_facts(con, settings).items():
        spec = catalog.spec_by_name(name)
        store.write_partition(name, None, table, data_watermark=watermark, sort_by=spec.sort_by)
        counts[name] = table.num_rows
        log.info("facts: %s %d rows", name, table.num_rows)
    catalog.refresh_catalog(store)
    return counts


def materialize_stat_dates(
    data_dir: Path,
    asset: str,
    stat_dates: Sequence[date],
    validate: Callable[[str, pa.Table, date], None] | None = None,
) -> list[PartitionResult]:
    """Compute a range of stat dates of one daily asset in one query, store each partition.

    Each partition is validated before it is written; a failing partition is not stored,
    the others are, and the caller fails the run with the failing ones.
    """
    from compass_pipeline import daily
    from schemas.daily import OutputValidationError, validate_output

    store = DataDir(data_dir)
    _require_raw(store)
    validate = validate or validate_output
    watermark = store.raw_watermark()
    con = catalog.attach(store, connect())
    table = daily.compute_daily_range(con, asset, list(stat_dates))
    spec = catalog.spec_by_name(asset)
    results = []
    for stat_date in stat_dates:
        part = table.filter(pc.equal(table["stat_date"], pa.scalar(stat_date, pa.date32())))
        key = stat_date.isoformat()
        try:
            validate(asset, part, stat_date)
        except OutputValidationError as exc:
            results.append(
                PartitionResult(
                    asset, key, part.num_rows, _gmv_total(part), False, exc.failure_cases, str(exc)
                )
            )
            continue
        store.write_partition(asset, key, part, data_watermark=watermark, sort_by=spec.sort_by)
        results.append(PartitionResult(asset, key, part.num_rows, _gmv_total(part), True))
    catalog.refresh_catalog(store)
    return results


def _gmv_total(table: pa.Table) -> str | None:
    """Total of the asset's main GMV column, as exact decimal text (never float)."""
    for column in ("gmv", "gmv_total"):
        if column in table.column_names:
            total = pc.sum(table[column]).as_py()
            return str(total) if total is not None else "0.00"
    return None


def _require_raw(store: DataDir) -> None:
    if not store.has_raw_snapshot():
        raise FileNotFoundError(
            f"{store.root} holds no ingested raw snapshot; run the ingestion first "
            "(`compass run`, or materialize the raw assets)"
        )
