"""The three partition sets of outputs.md ("Partitions and cadences").

A partition key means "as of that instant" for the refresh sets, so they use
`end_offset=1`: the schedule tick at T asks for partition T itself (measured in
notes/dagster-1.13-partitions.md).
"""

from __future__ import annotations

import dagster as dg

from compass_pipeline.config import Settings


def stat_date_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Shop-local stat dates `YYYY-MM-DD`; the last one is yesterday (UTC)."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start.isoformat(), timezone="UTC"
    )


def live_list_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    """LIVE-list refresh instants `YYYY-MM-DDTHH:MM` (UTC), default 04:00, 12:00, 20:00."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=settings.live_list_cron,
        start=f"{settings.partitions_start.isoformat()}T00:00",
        fmt="%Y-%m-%dT%H:%M",
        timezone="UTC",
        end_offset=1,
    )


def dashboard_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """LIVE dashboard refreshes: key `YYYY-MM-DD` = 00:00 UTC of that date."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start.isoformat(), timezone="UTC", end_offset=1
    )
