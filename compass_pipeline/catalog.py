"""Every stored asset, gathered from the modules that define them, and the catalog built
from that list.

The list is the one declarative table (STYLE.md rule 5) that the Dagster definitions, the
catalog views and the CLI read.
"""

from __future__ import annotations

from functools import cache

import duckdb

from compass_pipeline.registry import OutputSpec
from compass_pipeline.storage import CatalogEntry, DataDir

RAW_GROUP = "raw"
QUARANTINE_ASSET = "raw_quarantine"


def raw_asset_name(table: str) -> str:
    return f"raw_{table}"


@cache
def raw_specs() -> tuple[OutputSpec, ...]:
    """The normalized raw tables (raw-contract.md) and the quarantine table, as assets."""
    from compass_pipeline.ingest import QUARANTINE_SCHEMA
    from schemas.raw import RAW_TABLES, raw_arrow_schema, raw_table_info

    specs = [
        OutputSpec(
            name=raw_asset_name(table),
            group=RAW_GROUP,
            partitions=None,
            description=(
                f"Normalized raw `{table}`: one row per key, latest version, validated against "
                "raw-contract.md, in the order read (files by name, rows as in the file)."
            ),
            arrow_schema=lambda table=table: raw_arrow_schema(table),
            key=tuple(raw_table_info(table).key),
        )
        for table in RAW_TABLES
    ]
    specs.append(
        OutputSpec(
            name=QUARANTINE_ASSET,
            group=RAW_GROUP,
            partitions=None,
            description=(
                "Rows rejected in quarantine mode, unchanged, with the table, file, row, "
                "column and the raw-contract rule they break."
            ),
            arrow_schema=lambda: QUARANTINE_SCHEMA,
        )
    )
    return tuple(specs)


def all_specs() -> tuple[OutputSpec, ...]:
    """Raw tables, facts and every output asset, in data-flow order."""
    from compass_pipeline.daily import DAILY_SPECS
    from compass_pipeline.facts import FACT_SPECS
    from compass_pipeline.live import LIVE_SPECS
    from compass_pipeline.reconcile import RECON_SPECS

    return raw_specs() + tuple(FACT_SPECS) + tuple(DAILY_SPECS) + tuple(LIVE_SPECS) + RECON_SPECS


def spec_by_name(name: str) -> OutputSpec:
    for spec in all_specs():
        if spec.name == name:
            return spec
    raise KeyError(f"unknown asset {name!r}")


@cache
def catalog_entries() -> tuple[CatalogEntry, ...]:
    """Every asset's view, with its Arrow schema (built once per process: it is static)."""
    return tuple(
        CatalogEntry(
            name=spec.name,
            schema=spec.arrow_schema(),
            raw=spec.group == RAW_GROUP,
            latest_key=tuple(spec.latest_key),
        )
        for spec in all_specs()
    )


def refresh_catalog(data_dir: DataDir) -> None:
    """Rebuild `compass.duckdb` so every asset has its typed view (outputs.md, Storage)."""
    data_dir.refresh_catalog(catalog_entries())


def attach(data_dir: DataDir, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Expose every stored asset in a compute connection under its asset name."""
    data_dir.attach_views(con, catalog_entries())
    return con
