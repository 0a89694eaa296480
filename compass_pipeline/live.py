"""The LIVE modules on refresh partitions (outputs.md, "LIVE list" and "LIVE dashboard").

A refresh at instant ``T`` is the facts filtered as of ``T`` (lines paid, refunds succeeded
and bindings in force at ``T``), never a stored copy; so a backfill of many refreshes is one
set of queries over the list of instants, not a rescan per instant (ARCHITECTURE.md). The
attribution and its 30-day window come from ``live_facts`` / ``line_facts`` /
``refund_facts`` as they are.

Each asset is ``sql/<asset>.sql``, run after the LIVE helpers it reads, each a ``sql/live_*``
file materialized as a temporary table for the call and dropped afterwards:

* ``live_session_facts`` — one row per LIVE: ``live_facts`` plus its bag's global view;
* ``live_refreshes`` — refresh instant × LIVE covered, with its end as of the instant;
* ``live_line_hours`` — attributed lines and refunds per shop × LIVE × buyer country × the
  hour from which a refresh sees them: every refresh is a running total over them;
* ``live_host_bindings`` — refresh × LIVE × binding of its host: in force at the instant,
  ended, or not yet in force (the one place the LIVE modules test a binding at ``T``);
* ``live_membership`` — refresh × shop × LIVE that the shop's list shows;
* ``live_totals_as_of`` — refresh × shop × LIVE: the running totals of ``live_line_hours``
  as of the instant, over every buyer country, the shop's region and the LIVE's region (the
  scopes of the dashboard, the list and the creator view);
* ``live_online_minutes`` — LIVE × minute online counts of metrics.md §13;
* ``live_room_traffic`` — room-wide views and viewers, by viewer country and in total.

``compute_live_list_assets`` / ``compute_dashboard_assets`` compute several assets of one
partition set in one call, sharing the helpers (the room events are read once for the
dashboard's snapshot, traffic and trend). Refresh instants come from
``compass_pipeline.refresh_calendar`` and must be whole UTC hours (the list's at
``settings.live_list_hours``, the dashboard's 00:00 UTC), since the helpers round event
times up to the hour.

Readings of the spec and the FAQ:

* FAQ 多模块数据对比 says LIVE analysis GMV is what the bag's products sold in the room
  *during* the LIVE, while 直播模块 Q1, Q4, Q9 and Q10 (and metrics.md §3) count cart adds
  paid after it, for 30 days; the FAQ's own LIVE items and the spec agree, so the later
  purchases count (``gmv_after_live``) and a line counts by its attribution, bag or not.
* FAQ Q10 says the list's final GMV ends above the dashboard's; it does for local buyers,
  but the dashboard also counts foreign buyers (Q3), so ``gmv_local`` is the comparable
  figure (metrics.md §5).
* The shopping bag has no validity time, so it links a shop to a LIVE at every refresh; a
  binding of either type in force links the host's LIVEs to the shop (list rule, and
  ``gmv_own_shops``); the dashboard entry needs the binding type matching the host's
  account type (§12).
* ``online_users(m)`` counts an enter at exactly ``m`` as entering during the minute; a
  bucket only partly inside the LIVE reports the in-room count at its end, which equals the
  count at the end of its last minute inside the LIVE (no event follows the LIVE's end).
* ``live_online_trend`` holds every LIVE that ended in ``(T − 1 day, T]``, shown in a shop's
  list or not; a viewer seen from two countries counts once in each country, once in the
  room.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from compass_pipeline import refresh_calendar
from compass_pipeline.config import Settings
from compass_pipeline.facts import COUNT, DAY, FLAG, INSTANT, MONEY, TEXT, conform
from compass_pipeline.registry import DASHBOARD, LIVE_LIST, OutputSpec
from compass_pipeline.sqlfiles import load_sql

LIST_CADENCE = "list"
DASHBOARD_CADENCE = "dashboard"
# A dashboard refresh covers a LIVE at most until 00:00 UTC of date_utc(ended_at) + 30.
DASHBOARD_REACH = timedelta(days=31)
FACT_DEPS = ("live_facts", "line_facts", "refund_facts")
# Which shops show a LIVE: its bag's products and its host's bindings.
BAG_DEPS = ("raw_account_bindings", "raw_products", "raw_live_products")
ROOM_DEPS = ("raw_live_room_events", "raw_product_impressions")


# Arrow schemas ---------------------------------------------------------------------------
def live_list_snapshot_schema() -> pa.Schema:
    return pa.schema(
        [
            ("snapshot_at", INSTANT),
            ("shop_id", TEXT),
            ("live_id", TEXT),
            ("account_id", TEXT),
            ("account_type", TEXT),
            ("start_date", DAY),
            ("started_at", INSTANT),
            ("ended_at", INSTANT),
            ("status", TEXT),
            ("gmv", MONEY),
            ("gmv_during_live", MONEY),
            ("gmv_after_live", MONEY),
            ("sku_orders", COUNT),
            ("items_sold", COUNT),
            ("refund_amount", MONEY),
            ("is_final", FLAG),
        ]
    )


def creator_live_snapshot_schema() -> pa.Schema:
    return pa.schema(
        [
            ("snapshot_at", INSTANT),
            ("live_id", TEXT),
            ("account_id", TEXT),
            ("region", TEXT),
            ("started_at", INSTANT),
            ("ended_at", INSTANT),
            ("status", TEXT),
            ("gmv_all_shops", MONEY),
            ("gmv_own_shops", MONEY),
            ("shop_count", COUNT),
            ("sku_orders", COUNT),
            ("items_sold", COUNT),
            ("is_final", FLAG),
        ]
    )


def big_screen_snapshot_schema() -> pa.Schema:
    return pa.schema(
        [
            ("snapshot_at", INSTANT),
            ("shop_id", TEXT),
            ("live_id", TEXT),
            ("account_id", TEXT),
            ("account_type", TEXT),
            ("started_at", INSTANT),
            ("ended_at", INSTANT),
            ("entry_available", FLAG),
            ("entry_unavailable_reason", TEXT),
            ("global_view", FLAG),
            ("gmv", MONEY),
            ("gmv_local", MONEY),
            ("sku_orders", COUNT),
            ("items_sold", COUNT),
            ("views", COUNT),
            ("viewers", COUNT),
            ("product_impressions", COUNT),
            ("peak_online_users", COUNT),
            ("refund_amount", MONEY),
            ("is_final", FLAG),
        ]
    )


def big_screen_traffic_schema() -> pa.Schema:
    return pa.schema(
        [
            ("snapshot_at", INSTANT),
            ("shop_id", TEXT),
            ("live_id", TEXT),
            ("viewer_country", TEXT),
            ("views", COUNT),
            ("viewers", COUNT),
        ]
    )


def live_online_trend_schema() -> pa.Schema:
    return pa.schema(
        [
            ("snapshot_at", INSTANT),
            ("live_id", TEXT),
            ("bucket_start", INSTANT),
            ("minutes_in_live", COUNT),
            ("online_users_5min_sum", COUNT),
            ("in_room_online_at_bucket_end", COUNT),
            ("net_entries", COUNT),
            ("max_online_users_minute", COUNT),
            ("online_users_last_minute", COUNT),
        ]
    )


# Calendar functions that callers (tests/recon_scenarios.py) still import from this module;
# their home is compass_pipeline.refresh_calendar.
live_list_instants = refresh_calendar.live_list_instants
dashboard_instants = refresh_calendar.dashboard_instants
list_partition_key = refresh_calendar.list_partition_key


# Asset table -----------------------------------------------------------------------------
def _spec(name, group, partitions, description, faq, schema, key, latest_key, deps):
    return OutputSpec(
        name=name,
        group=group,
        partitions=partitions,
        description=description,
        arrow_schema=schema,
        key=key,
        faq=faq,
        latest_key=latest_key,
        sort_by=key,
        deps=deps,
    )


LIVE_LIST_SPECS: tuple[OutputSpec, ...] = (
    _spec(
        "live_list_snapshot",
        "live_list",
        LIVE_LIST,
        "LIVE list (seller view) per LIVE-list refresh × shop × LIVE: local-buyer GMV during "
        "and after the LIVE, orders, refunds as of the refresh; answers 直播模块 Q9.",
        "为什么单场直播成交数据/退款金额不同日期看会变化?",
        live_list_snapshot_schema,
        ("snapshot_at", "shop_id", "live_id"),
        ("shop_id", "live_id"),
        (*FACT_DEPS, "live_shop_facts", *BAG_DEPS, "raw_shops"),
    ),
    _spec(
        "creator_live_snapshot",
        "live_list",
        LIVE_LIST,
        "Live Manager (creator view) per LIVE-list refresh × LIVE: GMV of every shop's "
        "products from the LIVE's region and of the host's own shops; answers 不同罗盘对比.",
        "罗盘商家视角下的成交金额仅包含本场直播带本店铺商品的成交金额;"
        "罗盘达人视角下的成交金额包含本场直播带所有店铺商品的成交金额",
        creator_live_snapshot_schema,
        ("snapshot_at", "live_id"),
        ("live_id",),
        (*FACT_DEPS, *BAG_DEPS),
    ),
)

DASHBOARD_SPECS: tuple[OutputSpec, ...] = (
    _spec(
        "big_screen_snapshot",
        "live_dashboard",
        DASHBOARD,
        "LIVE dashboard per 00:00 UTC refresh × shop × ended LIVE: entry availability, global "
        "GMV, views, impressions, peak online users; answers 直播模块 Q1 and Q10.",
        "为什么直播大屏的成交金额与直播分析-直播列表中同一场直播的成交金额不相等?",
        big_screen_snapshot_schema,
        ("snapshot_at", "shop_id", "live_id"),
        ("shop_id", "live_id"),
        (*FACT_DEPS, *BAG_DEPS, "raw_shops", *ROOM_DEPS),
    ),
    _spec(
        "big_screen_traffic",
        "live_dashboard",
        DASHBOARD,
        "LIVE dashboard traffic per 00:00 UTC refresh × shop × global-view LIVE × viewer "
        "country: room-wide views and viewers; answers 直播模块 Q3 and Q7.",
        "为什么直播大屏的分国家流量,有非直播国家的数据?",
        big_screen_traffic_schema,
        ("snapshot_at", "shop_id", "live_id", "viewer_country"),
        ("shop_id", "live_id", "viewer_country"),
        (*FACT_DEPS, *BAG_DEPS, "raw_live_room_events"),
    ),
    _spec(
        "live_online_trend",
        "live_dashboard",
        DASHBOARD,
        "LIVE dashboard online trend per LIVE × 5-minute bucket, in the refresh after the "
        "LIVE ends: sum of per-minute online users vs in-room count; answers 直播模块 Q12.",
        "同一时刻的进出房事件加合为什么不等于在线人数?",
        live_online_trend_schema,
        ("live_id", "bucket_start"),
        (),
        ("live_facts", "raw_products", "raw_live_products", "raw_live_room_events"),
    ),
)

LIVE_SPECS = LIVE_LIST_SPECS + DASHBOARD_SPECS
LIVE_BY_NAME = {spec.name: spec for spec in LIVE_SPECS}

LIST_ASSETS = tuple(spec.name for spec in LIVE_LIST_SPECS)
DASHBOARD_ASSETS = tuple(spec.name for spec in DASHBOARD_SPECS)

# The LIVE helpers in the order they are built, and the helpers each helper's and each
# asset's SQL reads; a call builds the helpers its assets need, once, then each asset's SQL.
HELPERS = (
    "live_session_facts",
    "live_refreshes",
    "live_line_hours",
    "live_host_bindings",
    "live_membership",
    "live_totals_as_of",
    "live_online_minutes",
    "live_room_traffic",
)
_READS: dict[str, tuple[str, ...]] = {
    "live_session_facts": (),
    "live_refreshes": ("live_session_facts",),
    "live_line_hours": ("live_session_facts", "live_refreshes"),
    "live_host_bindings": ("live_session_facts", "live_refreshes"),
    "live_membership": ("live_refreshes", "live_host_bindings", "live_line_hours"),
    "live_totals_as_of": ("live_session_facts", "live_refreshes", "live_line_hours"),
    "live_online_minutes": ("live_session_facts",),
    "live_room_traffic": ("live_refreshes",),
    "live_list_snapshot": ("live_session_facts", "live_membership", "live_totals_as_of"),
    "creator_live_snapshot": (
        "live_session_facts",
        "live_refreshes",
        "live_host_bindings",
        "live_totals_as_of",
    ),
    "big_screen_snapshot": (
        "live_session_facts",
        "live_membership",
        "live_totals_as_of",
        "live_host_bindings",
        "live_room_traffic",
        "live_online_minutes",
    ),
    "big_screen_traffic": ("live_session_facts", "live_membership", "live_room_traffic"),
    "live_online_trend": ("live_session_facts", "live_online_minutes"),
}


def _helpers_needed(assets: Sequence[str]) -> list[str]:
    """The helpers the assets read, directly or through other helpers, in build order."""
    needed: set[str] = set()
    pending = [helper for asset in assets for helper in _READS[asset]]
    while pending:
        helper = pending.pop()
        if helper not in needed:
            needed.add(helper)
            pending += _READS[helper]
    return [helper for helper in HELPERS if helper in needed]


# Compute --------------------------------------------------------------------------------
def compute_live_list(
    con: duckdb.DuckDBPyConnection, asset: str, instants: Sequence[datetime], settings: Settings
) -> pa.Table:
    """``live_list_snapshot`` or ``creator_live_snapshot`` for every refresh instant given, in
    one pass over the facts; each row carries its partition column ``snapshot_at``.

    ``con`` holds the ``raw_<table>`` relations and the facts (``line_facts``,
    ``refund_facts``) under their names. Rows come in no particular order.
    """
    return compute_live_list_assets(con, instants, settings, (asset,))[asset]


def compute_dashboard(
    con: duckdb.DuckDBPyConnection, asset: str, instants: Sequence[datetime], settings: Settings
) -> pa.Table:
    """``big_screen_snapshot``, ``big_screen_traffic`` or ``live_online_trend`` for every
    dashboard refresh given (00:00 UTC), in one pass; each row carries ``snapshot_at``."""
    return compute_dashboard_assets(con, instants, settings, (asset,))[asset]


def compute_live_list_assets(
    con: duckdb.DuckDBPyConnection,
    instants: Sequence[datetime],
    settings: Settings,
    assets: Sequence[str] = LIST_ASSETS,
) -> dict[str, pa.Table]:
    """Several LIVE-list assets for the same refreshes, sharing one pass over the facts."""
    _check_assets(assets, LIST_ASSETS, "LIVE-list")
    return _compute(con, assets, instants, settings, LIST_CADENCE)


def compute_dashboard_assets(
    con: duckdb.DuckDBPyConnection,
    instants: Sequence[datetime],
    settings: Settings,
    assets: Sequence[str] = DASHBOARD_ASSETS,
) -> dict[str, pa.Table]:
    """Several dashboard assets for the same 00:00 UTC refreshes, sharing one pass over the
    facts and one over the room events."""
    _check_assets(assets, DASHBOARD_ASSETS, "LIVE dashboard")
    return _compute(con, assets, instants, settings, DASHBOARD_CADENCE)


def _check_assets(assets: Sequence[str], known: Sequence[str], kind: str) -> None:
    unknown = [asset for asset in assets if asset not in known]
    if unknown:
        raise KeyError(f"unknown {kind} asset(s) {unknown}; expected some of {list(known)}")


def _compute(con, assets, instants, settings, cadence) -> dict[str, pa.Table]:
    instants = refresh_calendar.refresh_instants(instants, dashboard=cadence == DASHBOARD_CADENCE)
    if not instants:
        return {asset: LIVE_BY_NAME[asset].arrow_schema().empty_table() for asset in assets}
    params = _params(assets, instants, settings, cadence)
    created = []
    try:
        for step in _helpers_needed(assets):
            con.execute(
                f"create or replace temp table {step} as\n{load_sql(step)}", params.get(step)
            )
            created.append(step)
        return {
            asset: conform(
                con.sql(load_sql(asset), params=params.get(asset)).to_arrow_table(),
                LIVE_BY_NAME[asset].arrow_schema(),
            )
            for asset in assets
        }
    finally:
        for step in reversed(created):
            con.execute(f"drop table if exists temp.main.{step}")


def _params(assets, instants, settings, cadence) -> dict[str, dict[str, object]]:
    """The bound parameters of each step (identifiers come from code, values are bound)."""
    # online minutes: the LIVEs a dashboard refresh covers (ended at most 31 days before it),
    # or for the trend alone those that ended within the day before a refresh
    reach = timedelta(days=1) if set(assets) == {"live_online_trend"} else DASHBOARD_REACH
    return {
        "live_refreshes": {"instants": instants, "cadence": cadence},
        "live_online_minutes": {"ended_after": instants[0] - reach, "ended_until": instants[-1]},
        "live_online_trend": {"instants": instants},
    }
