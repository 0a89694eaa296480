"""Partitioned outputs: daily modules, LIVE-list and LIVE dashboard refreshes.

Every partitioned asset has a single-run backfill policy: a range of partitions is one
run and one query (ARCHITECTURE.md, "As-of is a filter, not a copy").
"""

from collections.abc import Sequence

import dagster as dg

from assets_defs.partitioned import partitioned_spec, report_partitions, validation_check_spec
from assets_defs.resources import CompassResource
from compass_pipeline import pipeline
from compass_pipeline.config import Settings
from compass_pipeline.registry import OutputSpec


def build_partitioned_asset(
    spec: OutputSpec, partitions_def: dg.PartitionsDefinition, settings: Settings
) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=spec.name,
        specs=[partitioned_spec(spec)],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        check_specs=[validation_check_spec(spec.name, partitions_def)],
    )
    def _asset(context: dg.AssetExecutionContext, compass: CompassResource):
        results = pipeline.materialize_partitions(
            compass.data_path, spec.name, list(context.partition_keys), settings
        )
        yield from report_partitions(context, spec.name, results)

    return _asset


def build_partitioned_assets(
    specs: Sequence[OutputSpec], partitions_def: dg.PartitionsDefinition, settings: Settings
) -> list[dg.AssetsDefinition]:
    return [build_partitioned_asset(spec, partitions_def, settings) for spec in specs]
