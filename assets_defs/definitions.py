"""The code location: assets, checks, jobs, schedules and the resource.

Deployment settings (LIVE-list hours, first partition) are read once here, at load, so
partitions, schedules and `window_close` agree (outputs.md).
"""

from __future__ import annotations

import dagster as dg

from assets_defs.daily import build_daily_assets
from assets_defs.facts import build_fact_assets
from assets_defs.partitions import stat_date_partitions
from assets_defs.raw import build_raw_assets
from assets_defs.resources import resource_from_env
from compass_pipeline.config import Settings

INGEST_JOB = "ingest_job"
DAILY_JOB = "daily_job"
DAILY_SCHEDULE_HOUR_UTC = 14


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    stat_dates = stat_date_partitions(settings)
    ingest_selection = dg.AssetSelection.groups("raw", "facts")
    ingest_job = dg.define_asset_job(
        INGEST_JOB,
        selection=ingest_selection,
        description="Ingest the raw directory and rebuild the facts layer.",
    )
    daily_job = dg.define_asset_job(
        DAILY_JOB,
        selection=ingest_selection | dg.AssetSelection.groups("daily"),
        description=(
            "Ingest the raw snapshot, rebuild the facts, then the daily compass modules for "
            "a range of stat dates (one run, one query per asset)."
        ),
    )
    # The schedule runs in the partitions' time zone, UTC.
    daily_schedule = dg.build_schedule_from_partitioned_job(
        daily_job,
        name="daily_modules_schedule",
        hour_of_day=DAILY_SCHEDULE_HOUR_UTC,
        minute_of_hour=0,
        description=(
            "Every day at 14:00 UTC, once every shop's previous stat date has ended, "
            "materialize that stat date."
        ),
    )
    return dg.Definitions(
        assets=[
            build_raw_assets(),
            build_fact_assets(settings),
            *build_daily_assets(stat_dates),
        ],
        jobs=[ingest_job, daily_job],
        schedules=[daily_schedule],
        resources={"compass": resource_from_env()},
    )


defs = build_definitions()
