"""Raw ingestion: one step that merges what is new in the landing zone into the stored raw
tables and stores them as one set (raw-contract.md, first section)."""

import dagster as dg

from assets_defs.metadata import column_schema
from assets_defs.resources import CompassResource
from compass_pipeline import pipeline
from compass_pipeline.catalog import QUARANTINE_ASSET, raw_specs
from compass_pipeline.locks import snapshot_lock

REJECTED_CHECK = "no_rejected_rows"


class IngestConfig(dg.Config):
    """`rebuild`: forget the stored raw tables and ingest every file of the landing zone."""

    rebuild: bool = False


def _table_of(asset_name: str) -> str:
    return asset_name.removeprefix("raw_")


def build_raw_assets() -> dg.AssetsDefinition:
    specs = raw_specs()
    tables = [spec for spec in specs if spec.name != QUARANTINE_ASSET]

    @dg.multi_asset(
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
    def raw_ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, compass: CompassResource
    ):
        """Read the new or changed files of the landing zone, validate them against
        raw-contract.md together with the stored rows, and store the merged tables."""
        try:
            with snapshot_lock(compass.data_path, context.run.run_id, "raw_ingest", context.log):
                result = pipeline.ingest(
                    compass.raw_path,
                    compass.data_path,
                    quarantine=compass.quarantine,
                    rebuild=config.rebuild,
                )
        except Exception as exc:
            from compass_pipeline.ingest import RawDataError

            if isinstance(exc, RawDataError):
                raise dg.Failure(description=str(exc)) from exc
            raise
        for warning in result.warnings:
            context.log.warning(warning)
        watermark = result.data_watermark.isoformat() if result.data_watermark else None
        landing = pipeline.landing_zone(compass.data_path)
        for spec in tables:
            table = _table_of(spec.name)
            rejected = result.rows_rejected.get(table, 0)
            yield dg.MaterializeResult(
                asset_key=spec.name,
                metadata={
                    "dagster/row_count": landing.rows_stored[spec.name],
                    "rows_read": result.rows_read.get(table, 0),
                    "rows_rejected": rejected,
                    "data_watermark": watermark,
                    **_manifest_metadata(landing.manifest, table),
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
            metadata={"dagster/row_count": landing.rows_stored[QUARANTINE_ASSET]},
        )

    return raw_ingest


def _manifest_metadata(manifest, table: str) -> dict:
    """The table's files in the manifest: how many, the rows, the last ingestion, and the
    files of that ingestion (raw-contract.md, first section)."""
    if manifest is None:
        return {}
    rows = [row for row in manifest.to_pylist() if row["table_name"] == table]
    if not rows:
        return {"landing_files": 0}
    last = max(row["ingestion"] for row in rows)
    latest = [row for row in rows if row["ingestion"] == last]
    return {
        "landing_files": len(rows),
        "landing_rows": sum(row["rows"] for row in rows),
        "last_ingestion": last,
        "last_ingested_at": max(row["ingested_at"] for row in latest).isoformat(),
        "last_files": dg.MetadataValue.table(
            records=[
                dg.TableRecord(
                    {"path": row["path"], "rows": row["rows"], "sha256": row["content_hash"][:16]}
                )
                for row in latest
            ],
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("path", "string"),
                    dg.TableColumn("rows", "int"),
                    dg.TableColumn("sha256", "string"),
                ]
            ),
        ),
    }
