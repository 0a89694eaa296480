"""Metadata and check results shown in the UI, built from library results."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

# Needed for per-partition check status in the UI; the class is not exported at top level
# in dagster 1.13 (notes/dagster-1.13-partitions.md).
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

MAX_FAILURE_ROWS = 20


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=field.name, type=str(field.type)) for field in schema]
    )


def failure_table_md(cases: pa.Table | None) -> dg.MetadataValue:
    """The first failure cases as a markdown table (truncated, with the total count)."""
    if cases is None or cases.num_rows == 0:
        return dg.MetadataValue.md("(no failure cases)")
    shown = cases.slice(0, MAX_FAILURE_ROWS).to_pylist()
    header = "| " + " | ".join(cases.column_names) + " |"
    rule = "|" + "---|" * len(cases.column_names)
    rows = ["| " + " | ".join(str(row[c]) for c in cases.column_names) + " |" for row in shown]
    more = (
        f"\n\n… {cases.num_rows - MAX_FAILURE_ROWS} more"
        if cases.num_rows > MAX_FAILURE_ROWS
        else ""
    )
    return dg.MetadataValue.md("\n".join([header, rule, *rows]) + more)


def latest_materialization_targets(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition_keys: list[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, so the UI ties each check to it.

    Called right after this run stored them, so the newest `len(partition_keys)` records of
    those partitions are exactly this run's.
    """
    if not partition_keys:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=partition_keys),
        limit=len(partition_keys),
    ).records
    targets = {}
    for record in records:
        partition = record.event_log_entry.dagster_event.partition
        targets.setdefault(
            partition,
            AssetCheckEvaluationTargetMaterializationData(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            ),
        )
    return targets
