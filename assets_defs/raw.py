"""Raw ingestion: one step that replaces every normalized raw table as one set."""

import dagster as dg

from assets_defs.metadata import column_schema
from assets_defs.resources import SNAPSHOT_POOL, CompassResource
from compass_pipeline import pipeline
from compass_pipeline.catalog import QUARANTINE_ASSET, raw_specs

REJECTED_CHECK = "no_rejected_rows"


def _table_of(asset_name: str) -> str:
    return asset_name.removeprefix("raw_")


def build_raw_assets() -> dg.AssetsDefinition:
    specs = raw_specs()
    tables = [spec for spec in specs if spec.name != QUARANTINE_ASSET]

    @dg.multi_asset(
        pool=SNAPSHOT_POOL,
        name="raw_ingest",
        specs=[
            dg.AssetSpec(
                spec.name,
                group_name="raw",
                description=spec.description,
                kinds={"parquet", "duckdb"},
                metadata={"dagster/column_schema": column_schema(spec.arrow_schema())},
            )
            for spec in specs
        ],
        check_specs=[
            dg.AssetCheckSpec(
                REJECTED_CHECK,
                asset=spec.name,
                description=(
                    "Counts the rows of this table rejected by the raw contract (quarantine "
                    "mode); fails when any row was rejected."
                ),
            )
            for spec in tables
        ],
    )
    def raw_ingest(context: dg.AssetExecutionContext, compass: CompassResource):
        """Read the raw directory, validate it against raw-contract.md and store it."""
        try:
            result = pipeline.ingest(
                compass.raw_path, compass.data_path, quarantine=compass.quarantine
            )
        except Exception as exc:
            from compass_pipeline.ingest import RawDataError

            if isinstance(exc, RawDataError):
                raise dg.Failure(description=str(exc)) from exc
            raise
        for warning in result.warnings:
            context.log.warning(warning)
        watermark = result.data_watermark.isoformat() if result.data_watermark else None
        for spec in tables:
            table = _table_of(spec.name)
            rejected = result.rows_rejected.get(table, 0)
            yield dg.MaterializeResult(
                asset_key=spec.name,
                metadata={
                    "dagster/row_count": result.tables[table].num_rows,
                    "rows_read": result.rows_read.get(table, 0),
                    "rows_rejected": rejected,
                    "data_watermark": watermark,
                },
            )
            yield dg.AssetCheckResult(
                asset_key=spec.name,
                check_name=REJECTED_CHECK,
                passed=rejected == 0,
                metadata={"rows_rejected": rejected},
                description=(
                    f"{rejected} rows rejected; query raw_quarantine for them"
                    if rejected
                    else "no row rejected"
                ),
            )
        yield dg.MaterializeResult(
            asset_key=QUARANTINE_ASSET,
            metadata={"dagster/row_count": result.quarantine.num_rows},
        )

    return raw_ingest
