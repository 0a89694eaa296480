"""Per-partition materializations and check results for single-run range backfills.

One run computes a whole range of partitions in one query; each partition still gets its
own materialization (row count, GMV total) and its own validation check result, as
measured in notes/dagster-1.13-partitions.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import dagster as dg

from assets_defs.metadata import column_schema, failure_table_md, latest_materialization_target
from compass_pipeline.pipeline import PartitionResult
from compass_pipeline.registry import OutputSpec

VALID_CHECK = "schema_valid"


def partitioned_spec(spec: OutputSpec, group: str) -> dg.AssetSpec:
    """A partitioned output: skippable, since it yields one materialization per partition
    instead of an output (a `multi_asset` with `can_subset=True`, so check results per
    partition count as the check's output)."""
    return dg.AssetSpec(
        spec.name,
        group_name=group,
        description=spec.description,
        deps=list(spec.deps),
        skippable=True,
        kinds={"duckdb", "parquet"},
        metadata={
            "dagster/column_schema": column_schema(spec.arrow_schema()),
            "faq": spec.faq,
        },
    )


def validation_check_spec(
    asset_name: str, partitions_def: dg.PartitionsDefinition
) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        VALID_CHECK,
        asset=asset_name,
        partitions_def=partitions_def,
        blocking=True,
        description=(
            "The partition passed its pandera output schema (types, keys, ranges, row "
            "identities) before it was stored; a failing partition is not stored."
        ),
    )


def report_partitions(
    context: dg.AssetExecutionContext, asset_name: str, results: Iterable[PartitionResult]
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Yield one materialization and one check evaluation per partition; fail on any bad one."""
    key = dg.AssetKey(asset_name)
    failed = []
    for result in results:
        if result.passed:
            metadata = {"dagster/row_count": result.row_count, "validation": "passed"}
            if result.gmv_total is not None:
                metadata["gmv_total"] = result.gmv_total
            yield dg.AssetMaterialization(
                asset_key=key, partition=result.partition_key, metadata=metadata
            )
        else:
            failed.append(result)
        yield dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=VALID_CHECK,
            passed=result.passed,
            partition=result.partition_key,
            blocking=True,
            metadata={
                "rows": result.row_count,
                "failure_cases": failure_table_md(result.failure_cases),
            },
            description=result.message or "schema passed",
            target_materialization_data=latest_materialization_target(
                context.instance, key, result.partition_key
            ),
        )
    if failed:
        keys = ", ".join(result.partition_key for result in failed)
        raise dg.Failure(
            description=f"{asset_name}: partitions {keys} failed validation and were not stored",
            metadata={"first_failure": failed[0].message[:4000]},
        )
