"""Per-partition materializations and check results for single-run range backfills.

One run computes a whole range of partitions in one query; each partition still gets its
own materialization (row count, GMV total) and its own validation check result, as
measured in notes/dagster-1.13-partitions.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import dagster as dg

from assets_defs.metadata import column_schema, failure_table_md, latest_materialization_targets
from compass_pipeline.pipeline import PartitionResult
from compass_pipeline.registry import OutputSpec

VALID_CHECK = "schema_valid"


def partitioned_spec(spec: OutputSpec) -> dg.AssetSpec:
    """A partitioned output: skippable, since it yields one materialization per partition
    instead of an output (a `multi_asset` with `can_subset=True`, so check results per
    partition count as the check's output)."""
    return dg.AssetSpec(
        spec.name,
        group_name=spec.group,
        description=spec.description,
        deps=list(spec.deps),
        skippable=True,
        kinds={"duckdb", "parquet"},
        metadata={
            "dagster/column_schema": column_schema(spec.arrow_schema()),
            "faq": spec.faq,
            **extra_metadata(spec),
        },
    )


def extra_metadata(spec: OutputSpec) -> dict[str, dg.MetadataValue]:
    """The reconciliations' checks, each with its plain-English explanation and the FAQ
    question it answers, shown on the asset in the UI."""
    if spec.group != "reconciliation":
        return {}
    from compass_pipeline.reconcile import checks_of

    rows = [
        f"| {c.check_id} | {c.explanation} | {c.faq_ref}: {c.faq_question} |"
        for c in checks_of(spec.name)
    ]
    table = "\n".join(["| check | what explains A − B | FAQ |", "|---|---|---|", *rows])
    return {"checks": dg.MetadataValue.md(table)}


def validation_check_spec(
    asset_name: str, partitions_def: dg.PartitionsDefinition
) -> dg.AssetCheckSpec:
    # Partitioned check specs are a preview feature in dagster 1.13; they are what gives each
    # partition its own check status in the UI (notes/dagster-1.13-partitions.md).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
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
    context: dg.AssetExecutionContext, results: Iterable[PartitionResult]
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Yield one materialization and one check evaluation per asset partition; then fail if
    any partition failed validation.

    Materializations come first, so one query per asset finds them all for the check
    evaluations' targets (the UI ties a partition's check status to its latest
    materialization).
    """
    results = list(results)
    by_asset: dict[str, list[PartitionResult]] = {}
    for result in results:
        by_asset.setdefault(result.asset, []).append(result)
    for result in results:
        if not result.passed:
            continue
        metadata = {"dagster/row_count": result.row_count, "validation": "passed"}
        if result.gmv_total is not None:
            metadata["gmv_total"] = dg.MetadataValue.text(result.gmv_total)
        yield dg.AssetMaterialization(
            asset_key=result.asset, partition=result.partition_key, metadata=metadata
        )
    for asset_name, asset_results in by_asset.items():
        key = dg.AssetKey(asset_name)
        targets = latest_materialization_targets(
            context.instance, key, [r.partition_key for r in asset_results if r.passed]
        )
        for result in asset_results:
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
                target_materialization_data=targets.get(result.partition_key),
            )
    failed = [result for result in results if not result.passed]
    if failed:
        keys = ", ".join(f"{result.asset} {result.partition_key}" for result in failed)
        raise dg.Failure(
            description=(
                f"partitions {keys} failed validation and were not stored.\n"
                + failed[0].message[:4000]
            ),
        )
