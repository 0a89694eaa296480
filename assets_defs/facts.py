"""The facts layer: line, refund, settlement and video facts, recomputed after ingestion."""

import dagster as dg

from assets_defs.metadata import column_schema
from assets_defs.resources import CompassResource
from compass_pipeline import pipeline
from compass_pipeline.catalog import raw_specs
from compass_pipeline.config import Settings
from compass_pipeline.locks import snapshot_lock


def build_fact_assets(settings: Settings) -> dg.AssetsDefinition:
    from compass_pipeline.facts import FACT_SPECS

    @dg.multi_asset(
        name="facts",
        specs=[
            dg.AssetSpec(
                spec.name,
                group_name="facts",
                description=spec.description,
                deps=[raw.name for raw in raw_specs()],
                kinds={"duckdb", "parquet"},
                metadata={"dagster/column_schema": column_schema(spec.arrow_schema())},
            )
            for spec in FACT_SPECS
        ],
    )
    def facts(context: dg.AssetExecutionContext, compass: CompassResource):
        """Every definition of metrics.md §1–4 applied once: GMV, shares, attribution, dates."""
        with snapshot_lock(compass.data_path, context.run.run_id, "facts", context.log):
            counts = pipeline.build_facts(compass.data_path, settings)
        for name, rows in counts.items():
            yield dg.MaterializeResult(asset_key=name, metadata={"dagster/row_count": rows})

    return facts
