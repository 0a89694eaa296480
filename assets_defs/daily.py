"""Daily compass modules on stat-date partitions (outputs.md, "Daily")."""

from datetime import date

import dagster as dg

from assets_defs.partitioned import partitioned_spec, report_partitions, validation_check_spec
from assets_defs.resources import CompassResource
from compass_pipeline import pipeline
from compass_pipeline.registry import OutputSpec


def build_daily_asset(spec: OutputSpec, partitions_def: dg.PartitionsDefinition):
    @dg.multi_asset(
        name=spec.name,
        specs=[partitioned_spec(spec, "daily")],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        check_specs=[validation_check_spec(spec.name, partitions_def)],
    )
    def _daily(context: dg.AssetExecutionContext, compass: CompassResource):
        dates = [date.fromisoformat(key) for key in context.partition_keys]
        results = pipeline.materialize_stat_dates(compass.data_path, spec.name, dates)
        yield from report_partitions(context, spec.name, results)

    return _daily


def build_daily_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    from compass_pipeline.daily import DAILY_SPECS

    return [build_daily_asset(spec, partitions_def) for spec in DAILY_SPECS]
