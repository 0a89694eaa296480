"""Partitioned outputs: daily modules, LIVE-list and LIVE dashboard refreshes.

Every partitioned asset has a single-run backfill policy: a range of partitions is one
run and one query (ARCHITECTURE.md, "As-of is a filter, not a copy"). Assets computed
together (`pipeline.PartitionKind`) share one step: the LIVE-list snapshots of a range of
refreshes, or the dashboard's snapshot, traffic and trend, come from one pass over the
facts; selecting some of them computes only those (`can_subset`).
"""

from collections.abc import Sequence

import dagster as dg

from assets_defs.partitioned import (
    VALID_CHECK,
    partitioned_spec,
    report_partitions,
    validation_check_spec,
)
from assets_defs.resources import CompassResource
from compass_pipeline import pipeline
from compass_pipeline.config import Settings
from compass_pipeline.registry import OutputSpec

# The step name of each kind computed together; a kind not named here gets one step per asset.
STEP_NAMES = {
    "stat_date": "daily_modules",
    "live_list": "live_list_modules",
    "dashboard": "live_dashboard_modules",
}


def build_partitioned_step(
    name: str,
    specs: Sequence[OutputSpec],
    partitions_def: dg.PartitionsDefinition,
    settings: Settings,
) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=name,
        specs=[partitioned_spec(spec) for spec in specs],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        check_specs=[validation_check_spec(spec.name, partitions_def) for spec in specs],
    )
    def _step(context: dg.AssetExecutionContext, compass: CompassResource):
        selected = [
            spec.name for spec in specs if dg.AssetKey(spec.name) in context.selected_asset_keys
        ]
        if not selected:
            raise dg.Failure(
                description=(
                    f"{VALID_CHECK} is evaluated while its asset is materialized: select the "
                    "asset itself to validate its partitions."
                )
            )
        results = pipeline.materialize_partitions(
            compass.data_path, selected, list(context.partition_keys), settings
        )
        yield from report_partitions(context, results)

    return _step


def build_partitioned_assets(
    specs: Sequence[OutputSpec], partitions_def: dg.PartitionsDefinition, settings: Settings
) -> list[dg.AssetsDefinition]:
    """One step per kind of `STEP_NAMES`, one per asset otherwise (the reconciliations)."""
    steps: dict[str, list[OutputSpec]] = {}
    for spec in specs:
        kind = pipeline.partition_kind(spec).name
        steps.setdefault(STEP_NAMES.get(kind, spec.name), []).append(spec)
    return [
        build_partitioned_step(name, members, partitions_def, settings)
        for name, members in steps.items()
    ]
