"""Schedules fire on the platform's cadences and ask for the partition of that very instant
(outputs.md "Partitions and cadences"; FAQ 直播模块 Q1: the list refreshes three times a day,
the dashboard once at 00:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from assets_defs.definitions import build_definitions
from compass_pipeline.config import Settings


def _tick(schedule_name: str, when: datetime, settings: Settings | None = None) -> list[str]:
    with dg.instance_for_test() as instance:
        schedule = build_definitions(settings or Settings()).resolve_schedule_def(schedule_name)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        return [request.partition_key for request in schedule.evaluate_tick(context).run_requests]


@pytest.mark.parametrize("hour", [4, 12, 20])
def test_live_list_schedule_at_each_refresh_asks_for_that_instant(hour):
    when = datetime(2026, 3, 2, hour, 0, tzinfo=UTC)
    assert _tick("live_list_schedule", when) == [f"2026-03-02T{hour:02d}:00"]


def test_live_list_schedule_follows_configured_hours():
    settings = Settings(live_list_hours=(2, 10, 18))
    with dg.instance_for_test():
        schedule = build_definitions(settings).resolve_schedule_def("live_list_schedule")
    assert schedule.cron_schedule == "0 2,10,18 * * *"
    when = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert _tick("live_list_schedule", when, settings) == ["2026-03-02T18:00"]


def test_dashboard_schedule_at_midnight_utc_asks_for_that_date():
    when = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert _tick("live_dashboard_schedule", when) == ["2026-03-02"]


def test_daily_schedule_at_1400_utc_asks_for_the_previous_stat_date():
    when = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert _tick("daily_modules_schedule", when) == ["2026-03-04"]


@pytest.mark.parametrize(
    ("name", "cron"),
    [
        ("daily_modules_schedule", "0 14 * * *"),
        ("live_list_schedule", "0 4,12,20 * * *"),
        ("live_dashboard_schedule", "0 0 * * *"),
    ],
)
def test_every_schedule_runs_in_utc(name, cron):
    with dg.instance_for_test():
        schedule = build_definitions(Settings()).resolve_schedule_def(name)
    assert schedule.execution_timezone == "UTC"
    assert schedule.cron_schedule == cron
