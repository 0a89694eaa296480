"""The code location: assets, checks, jobs, schedules and the resource.

Deployment settings (LIVE-list hours, first partition) are read once here, at load, so
partitions, schedules and `window_close` agree (outputs.md).

Ingestion follows the landing zone, not the clock: the landing-zone sensor requests an
`ingest_job` run (ingestion and facts) when new or changed files appear. The schedules'
jobs compute only their marts, over the facts as stored at their instant (raw-contract.md,
first section); `compass run` runs `ingest_job` once, then the three partitioned jobs.
"""

import dagster as dg

import assets_defs.instance  # noqa: F401  (SQLite sync mode, before any instance opens)
from assets_defs.facts import build_fact_assets
from assets_defs.marts import build_partitioned_assets
from assets_defs.partitions import (
    dashboard_partitions,
    live_list_partitions,
    stat_date_partitions,
)
from assets_defs.raw import build_raw_assets
from assets_defs.recovery import build_dead_run_sensor
from assets_defs.resources import resource_from_env
from assets_defs.sensors import build_landing_zone_sensor
from compass_pipeline.config import Settings
from compass_pipeline.registry import DASHBOARD, LIVE_LIST, STAT_DATE

INGEST_JOB = "ingest_job"
DAILY_JOB = "daily_job"
LIVE_LIST_JOB = "live_list_job"
DASHBOARD_JOB = "live_dashboard_job"
DAILY_SCHEDULE_HOUR_UTC = 14

# (job, partition set, description); each job holds every asset of its partition set (the
# reconciliations included).
PARTITIONED_JOBS = (
    (DAILY_JOB, STAT_DATE, "the daily compass modules and their reconciliations"),
    (LIVE_LIST_JOB, LIVE_LIST, "LIVE-list refreshes (3 a day, UTC) and their reconciliations"),
    (DASHBOARD_JOB, DASHBOARD, "LIVE dashboard refreshes (00:00 UTC)"),
)


def partitioned_asset_names(partition_set: str) -> list[str]:
    from compass_pipeline.catalog import all_specs

    return [spec.name for spec in all_specs() if spec.partitions == partition_set]


def partitions_defs(settings: Settings) -> dict[str, dg.PartitionsDefinition]:
    return {
        STAT_DATE: stat_date_partitions(settings),
        LIVE_LIST: live_list_partitions(settings),
        DASHBOARD: dashboard_partitions(settings),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    from compass_pipeline.catalog import all_specs

    settings = settings or Settings.from_env()
    pdefs = partitions_defs(settings)
    ingest_selection = dg.AssetSelection.groups("raw", "facts")
    assets = [build_raw_assets(), build_fact_assets(settings)]
    jobs = [
        dg.define_asset_job(
            INGEST_JOB,
            selection=ingest_selection,
            description=(
                "Ingest the new or changed files of the landing zone and update the facts."
            ),
        )
    ]
    for job_name, partition_set, description in PARTITIONED_JOBS:
        specs = [spec for spec in all_specs() if spec.partitions == partition_set]
        assets += build_partitioned_assets(specs, pdefs[partition_set], settings)
        jobs.append(
            dg.define_asset_job(
                job_name,
                selection=dg.AssetSelection.assets(*partitioned_asset_names(partition_set)),
                description=f"Over the stored facts: {description}.",
            )
        )
    by_name = {job.name: job for job in jobs}
    # Every schedule runs in its partitions' time zone, UTC.
    schedules = [
        dg.build_schedule_from_partitioned_job(
            by_name[DAILY_JOB],
            name="daily_modules_schedule",
            hour_of_day=DAILY_SCHEDULE_HOUR_UTC,
            minute_of_hour=0,
            description=(
                "Every day at 14:00 UTC, once every shop's previous stat date has ended, "
                "materialize that stat date."
            ),
        ),
        dg.build_schedule_from_partitioned_job(
            by_name[LIVE_LIST_JOB],
            name="live_list_schedule",
            description="At each LIVE-list refresh instant T (UTC), the refresh as of T.",
        ),
        dg.build_schedule_from_partitioned_job(
            by_name[DASHBOARD_JOB],
            name="live_dashboard_schedule",
            description="Every day at 00:00 UTC, the LIVE dashboard refresh as of that instant.",
        ),
    ]
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        sensors=[build_landing_zone_sensor(by_name[INGEST_JOB]), build_dead_run_sensor()],
        resources={"compass": resource_from_env()},
    )


defs = build_definitions()
