"""The refresh calendar: when the LIVE list and the LIVE dashboard refresh, and how a
refresh instant is written as a partition key (outputs.md, "Partitions and cadences";
metrics.md §5; FAQ 直播模块 Q1 "每天更3次" / "更新时间0点").

The library's one place for these instants: ``compass_pipeline.live`` (which refreshes a
backfill covers), ``compass_pipeline.reconcile`` (R13's previous refresh and trend
partitions) and ``compass_pipeline.facts`` (the last refresh hour of a day, which closes a
LIVE's window in ``sql/live_facts.sql``) read it. For the first and last LIVE-list keys of a
range of dates, take ``list_partition_key`` of the ends of ``list_refreshes_between``; a
partition key is read back with ``parse_refresh_key``. The Dagster partition sets are built
from the same ``Settings`` (``live_list_cron``), so they and this calendar agree.

Every instant is a timezone-aware UTC ``datetime``; ``utc`` reads a naive value as UTC,
since partition keys carry no offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from compass_pipeline.config import Settings

LIST_KEY_FORMAT = "%Y-%m-%dT%H:%M"
DASHBOARD_KEY_FORMAT = "%Y-%m-%d"


def utc(value: datetime) -> datetime:
    """An instant in UTC; a naive value is read as UTC, as partition keys are (outputs.md)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


# LIVE list: three times a day by default, at the configured UTC hours ---------------------
def list_refreshes_of_day(settings: Settings, day: date) -> list[datetime]:
    """The LIVE-list refreshes on UTC day ``day``, in order."""
    return [
        datetime.combine(day, time(hour), tzinfo=UTC) for hour in sorted(settings.live_list_hours)
    ]


def last_list_refresh_hour(settings: Settings) -> int:
    """The UTC hour of a day's last LIVE-list refresh: a LIVE's window closes at it, on UTC
    day ``date_utc(ended_at) + 30`` (metrics.md §3)."""
    return max(settings.live_list_hours)


def list_refreshes_between(settings: Settings, first: date, last: date) -> list[datetime]:
    """Every LIVE-list refresh on the UTC days ``first`` to ``last`` (inclusive), in order."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [instant for day in days for instant in list_refreshes_of_day(settings, day)]


def live_list_instants(settings: Settings, start: datetime, end: datetime) -> list[datetime]:
    """The LIVE-list refresh instants in ``[start, end]``: each UTC day at the configured hours
    (default 04:00, 12:00, 20:00; FAQ 直播模块 Q1 "每天更3次")."""
    start, end = utc(start), utc(end)
    return [
        instant
        for instant in list_refreshes_between(settings, start.date(), end.date())
        if start <= instant <= end
    ]


def previous_list_refresh(settings: Settings, instant: datetime) -> datetime:
    """The LIVE-list refresh just before ``instant``: a LIVE that ended after it and at or
    before ``instant`` is first seen ended at ``instant`` (R13's partition)."""
    instant = utc(instant)
    for offset in (0, 1):
        earlier = [
            t
            for t in list_refreshes_of_day(settings, instant.date() - timedelta(days=offset))
            if t < instant
        ]
        if earlier:
            return earlier[-1]
    raise ValueError(f"no LIVE-list refresh before {instant.isoformat()}")


# LIVE dashboard: once a day at 00:00 UTC -----------------------------------------------------
def next_dashboard_refresh(instant: datetime) -> datetime:
    """The first dashboard refresh (00:00 UTC) at or after ``instant``."""
    instant = utc(instant)
    day = instant.date()
    return _midnight(day) if instant == _midnight(day) else _midnight(day + timedelta(days=1))


def dashboard_instants(start: datetime | date, end: datetime | date) -> list[datetime]:
    """The dashboard refresh instants (00:00 UTC, FAQ 直播模块 Q1 "更新时间0点") in
    ``[start, end]``; dates mean their 00:00 UTC."""

    def instant(value: datetime | date) -> datetime:
        return utc(value) if isinstance(value, datetime) else _midnight(value)

    first, last = next_dashboard_refresh(instant(start)), instant(end)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def trend_refreshes(after: datetime, until: datetime) -> list[datetime]:
    """The dashboard refreshes whose online-trend partitions hold the LIVEs that ended in
    ``(after, until]``: a LIVE's trend is in the first 00:00 UTC at or after its end."""
    return dashboard_instants(
        next_dashboard_refresh(utc(after) + timedelta(microseconds=1)),
        next_dashboard_refresh(until),
    )


# Partition keys --------------------------------------------------------------------------
def list_partition_key(instant: datetime) -> str:
    """The LIVE-list partition key of a refresh instant, e.g. ``2026-03-01T04:00``."""
    return utc(instant).strftime(LIST_KEY_FORMAT)


def dashboard_partition_key(instant: datetime) -> str:
    """The dashboard partition key of a 00:00 UTC refresh, e.g. ``2026-03-01``."""
    return utc(instant).strftime(DASHBOARD_KEY_FORMAT)


def parse_refresh_key(key: str) -> datetime:
    """The refresh instant of a partition key: ``2026-03-01T04:00`` (LIVE list) or
    ``2026-03-01`` (dashboard, its 00:00 UTC)."""
    return utc(datetime.fromisoformat(key))


def refresh_instants(values: Iterable[datetime], *, dashboard: bool) -> list[datetime]:
    """The distinct refresh instants given, in order, each checked against the calendar: a
    whole UTC hour (the LIVE helpers round event times up to the hour), 00:00 UTC for the
    dashboard."""
    instants = sorted({utc(value) for value in values})
    for instant in instants:
        if instant.minute or instant.second or instant.microsecond:
            raise ValueError(f"refresh instant {instant.isoformat()} is not a whole UTC hour")
        if dashboard and instant.hour:
            raise ValueError(f"dashboard refresh {instant.isoformat()} is not 00:00 UTC")
    return instants
