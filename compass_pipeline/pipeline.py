"""The pipeline's steps as plain functions: ingest, facts, partitioned marts.

Dagster assets (`assets_defs/`) and tests call these; each step opens its own in-memory
DuckDB connection over the stored Parquet, writes atomically, then refreshes the catalog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from compass_pipeline import catalog
from compass_pipeline.config import Settings
from compass_pipeline.refresh_calendar import parse_refresh_key
from compass_pipeline.registry import LIVE_LIST, STAT_DATE, OutputSpec
from compass_pipeline.storage import DataDir, connect, sql_literal

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


def ingest(raw_dir: Path, data_dir: Path, *, quarantine: bool = False, rebuild: bool = False):
    """Ingest what is new in the landing zone (every file with `rebuild`) into the data
    directory, then refresh the catalog."""
    from compass_pipeline.ingest import ingest_to_data_dir

    started = time.perf_counter()
    store = DataDir(data_dir)
    if store.has_raw_snapshot() and (
        not store.catalog_path.exists()
        or store.catalog_path.stat().st_mtime_ns < store.raw_dir.lstat().st_mtime_ns
    ):
        # an ingestion stopped between its snapshot swap and the catalog: mend the views
        # before this one prunes the snapshot they still read
        catalog.refresh_catalog(store)
    result = ingest_to_data_dir(
        raw_dir, data_dir, quarantine=quarantine, rebuild=rebuild, progress=log.info
    )
    catalog.refresh_catalog(DataDir(data_dir))
    log.info("ingested %s in %.1fs", raw_dir, time.perf_counter() - started)
    return result


@dataclass(frozen=True)
class LandingZone:
    """What the data directory holds of the landing zone: its manifest and stored rows."""

    manifest: pa.Table | None
    rows_stored: dict[str, int]  # per raw asset (`raw_<table>`, `raw_quarantine`)


def landing_zone(data_dir: Path) -> LandingZone:
    """The stored manifest and the rows stored per raw asset (as its view counts them)."""
    from compass_pipeline.ingest.incremental import stored_manifest

    store = DataDir(data_dir)
    con = connect()
    counts = {}
    for entry in catalog.catalog_entries():
        if entry.raw:
            source = store.asset_source(entry)
            query = f"select count(*) from {source}" if source else "select 0"
            counts[entry.name] = con.sql(query).fetchall()[0][0]
    con.close()
    return LandingZone(stored_manifest(store), counts)


def build_facts(data_dir: Path, settings: Settings) -> dict[str, int]:
    """Recompute the facts layer from the stored raw snapshot (one place per rule).

    Each fact is streamed from DuckDB into its Parquet file one row group at a time, each
    validated before it is written, so tens of millions of lines never sit in memory at
    once; the later facts read the earlier ones from their files. Facts already computed
    from the stored raw snapshot and these settings are kept as they are.
    """
    from compass_pipeline import facts
    from schemas.daily import validate_output

    store = DataDir(data_dir)
    _require_raw(store)
    inputs = f"{store.raw_snapshot_id()} {settings}"
    if all(store.partition_inputs(spec.name, None) == inputs for spec in facts.FACT_SPECS):
        log.info("facts: up to date with the stored raw tables")
        return {
            spec.name: pq.ParquetFile(store.partition_path(spec.name, None)).metadata.num_rows
            for spec in facts.FACT_SPECS
        }
    watermark = store.raw_watermark()
    con = catalog.attach(store, connect())
    counts = {}
    for spec in facts.FACT_SPECS:
        started = time.perf_counter()

        def validate(rows: pa.Table, name: str = spec.name) -> None:
            validate_output(name, rows, None)

        path = store.copy_query_to_partition(
            con,
            facts.fact_sql(spec.name),
            facts.fact_params(spec.name, settings),
            spec.name,
            None,
            spec.arrow_schema(),
            data_watermark=watermark,
            validate=validate,
            ordered=bool(spec.sort_by),
            inputs=inputs,
        )
        con.execute(
            f"create or replace temporary view {spec.name} as "
            f"select * from read_parquet({sql_literal(str(path))})"
        )
        counts[spec.name] = pq.ParquetFile(path).metadata.num_rows
        log.info(
            "facts: %s %d rows in %.1fs",
            spec.name,
            counts[spec.name],
            time.perf_counter() - started,
        )
    catalog.refresh_catalog(store)
    return counts


@dataclass(frozen=True)
class PartitionKind:
    """How assets of one partition set map keys to the values their compute and schema take.

    Assets of one kind are computed together: `compute` takes several of them and returns
    each one's rows, so the LIVE assets of a refresh set share one pass over the facts.
    """

    name: str  # assets of one kind can be computed in one call
    column: str  # the partition column every row carries
    parse: Callable[[str], object]  # partition key -> stat date or refresh instant
    # (con, assets, values, settings, as_of) -> {asset: rows of every value}
    compute: Callable[..., dict[str, pa.Table]]
    validate: Callable[[str, pa.Table, object], None]  # raises OutputValidationError


def partition_kind(spec: OutputSpec) -> PartitionKind:
    """The one table of how each partitioned asset is computed and validated."""
    from compass_pipeline import daily, live, reconcile
    from schemas.daily import validate_output
    from schemas.live import validate_live_output
    from schemas.reconciliation import validate_reconciliation

    if spec.group == "reconciliation":
        column = "stat_date" if spec.partitions == STAT_DATE else "snapshot_at"
        parse = date.fromisoformat if spec.partitions == STAT_DATE else parse_refresh_key
        return PartitionKind(
            f"reconciliation_{spec.partitions}",
            column,
            parse,
            lambda con, assets, values, settings, as_of: {
                asset: reconcile.compute_reconciliation(con, asset, values, settings, as_of=as_of)
                for asset in assets
            },
            validate_reconciliation,
        )
    if spec.partitions == STAT_DATE:
        return PartitionKind(
            STAT_DATE,
            "stat_date",
            date.fromisoformat,
            lambda con, assets, values, settings, as_of: {
                asset: daily.compute_daily_range(con, asset, values) for asset in assets
            },
            validate_output,
        )
    compute = (
        live.compute_live_list_assets
        if spec.partitions == LIVE_LIST
        else live.compute_dashboard_assets
    )
    return PartitionKind(
        spec.partitions,
        "snapshot_at",
        parse_refresh_key,
        lambda con, assets, values, settings, as_of: compute(con, values, settings, assets),
        validate_live_output,
    )


def materialize_partitions(
    data_dir: Path,
    assets: str | Sequence[str],
    partition_keys: Sequence[str],
    settings: Settings,
) -> list[PartitionResult]:
    """Compute a range of partitions of one or more assets of one kind in one call, then
    store each partition of each asset.

    Each partition is validated before it is written; a failing partition is not stored,
    the others are, and the caller fails the run naming the failing ones.
    """
    names = [assets] if isinstance(assets, str) else list(assets)
    if not names:
        raise ValueError("materialize_partitions: no asset given")
    store = DataDir(data_dir)
    _require_raw(store)
    specs = [catalog.spec_by_name(name) for name in names]
    kinds = {spec.name: partition_kind(spec) for spec in specs}
    kind = kinds[names[0]]
    mixed = [name for name in names if kinds[name].name != kind.name]
    if mixed:
        raise ValueError(f"{mixed} cannot be computed in one call with {names[0]!r}")
    values = [kind.parse(key) for key in partition_keys]
    watermark = store.raw_watermark()
    con = catalog.attach(store, connect())
    started = time.perf_counter()
    tables = kind.compute(con, names, values, settings, watermark)
    log.info(
        "%s: %d partitions computed in %.1fs on %s DuckDB thread(s)",
        ", ".join(names),
        len(values),
        time.perf_counter() - started,
        con.sql("select current_setting('threads')").fetchall()[0][0],
    )
    results = []
    for spec in specs:
        results += _store_partitions(
            store, spec, kind, tables.pop(spec.name), partition_keys, values, watermark
        )
    catalog.refresh_catalog(store)
    return results


def _store_partitions(store, spec, kind, table, partition_keys, values, watermark):
    """Validate and write each partition of one asset's computed range."""
    from schemas.daily import OutputValidationError

    asset = spec.name
    partition_type = table.schema.field(kind.column).type
    # a row outside every requested partition (a null one included) fails the call
    stray = pc.invert(pc.is_in(table[kind.column], pa.array(values, partition_type)))
    if table.num_rows and pc.any(stray).as_py():
        raise ValueError(
            f"{asset}: rows outside the requested partitions, e.g. "
            f"{table.filter(stray).slice(0, 3).to_pylist()}"
        )
    # One validation of the whole range; only when it fails is each partition validated
    # alone, to tell which ones to store (a key holds its partition column, so per-range
    # uniqueness is per-partition uniqueness).
    try:
        kind.validate(asset, table, None)
        range_valid = True
    except OutputValidationError:
        range_valid = False
    results = []
    passing = []
    parts = _split(table, kind.column, pa.array(values, partition_type))
    for key, value, part in zip(partition_keys, values, parts, strict=True):
        if not range_valid:
            try:
                kind.validate(asset, part, value)
            except OutputValidationError as exc:
                results.append(
                    PartitionResult(
                        asset,
                        key,
                        part.num_rows,
                        _gmv_total(part),
                        False,
                        exc.failure_cases,
                        str(exc),
                    )
                )
                continue
        passing.append((key, part))
        results.append(PartitionResult(asset, key, part.num_rows, _gmv_total(part), True))

    def write(item: tuple[str, pa.Table]) -> None:
        store.write_partition(
            asset, item[0], item[1], data_watermark=watermark, sort_by=spec.sort_by
        )

    # pyarrow releases the GIL while encoding: two writers keep both cores busy
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, passing))
    return results


def _split(table: pa.Table, column: str, values: pa.Array) -> list[pa.Table]:
    """Each value's rows: one sort by the partition column, then one slice per value (not
    one scan of the whole range per partition)."""
    table = table.take(pc.sort_indices(table[column]))
    sorted_keys = table[column].to_numpy()
    wanted = values.to_numpy(zero_copy_only=False)
    starts = np.searchsorted(sorted_keys, wanted, side="left")
    ends = np.searchsorted(sorted_keys, wanted, side="right")
    return [table.slice(start, end - start) for start, end in zip(starts, ends, strict=True)]


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
