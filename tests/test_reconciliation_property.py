"""Property: on any valid raw snapshot, every reconciliation balances — residual 0 for every
check, every shop, every partition — every partition passes its schema, and each side that
is a published metric equals that metric as its own mart computes it.

Snapshots come from the two random generators of the scenario modules (hypothesis draws
their seeds) and from the marketplace simulator through the real ingestion.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import daily_scenarios
import live_scenarios
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from daily_scenarios import facts_connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from compass_pipeline.config import Settings
from compass_pipeline.daily import compute_daily_range
from compass_pipeline.ingest import ingest_raw
from compass_pipeline.live import compute_dashboard, compute_live_list
from compass_pipeline.reconcile import (
    DAILY_ASSET,
    LIVE_ASSET,
    compute_reconciliation_daily,
    compute_reconciliation_live,
)
from compass_pipeline.refresh_calendar import live_list_instants
from compass_pipeline.simulate import simulate
from schemas.reconciliation import validate_reconciliation

ZERO = Decimal("0.00")
# a seed has no useful smaller form: report it as drawn, without shrinking
FEW = settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)


def watermark(tables: dict[str, pa.Table]) -> datetime:
    """The greatest instant of any timestamp column of any raw table (reconciliations.md)."""
    values = [
        pc.max(table[field.name]).as_py()
        for table in tables.values()
        for field in table.schema
        if pa.types.is_timestamp(field.type) and table.num_rows
    ]
    return max(value for value in values if value is not None)


def reconcile_everything(tables, settings_: Settings, as_of: datetime):
    """Both assets over every stat date and every list refresh the snapshot can reach."""
    con, _ = facts_connection(tables, settings_)
    [(first, last)] = con.execute(
        "select min(stat_date), max(stat_date) from shop_activity_facts"
    ).fetchall()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    [(start, close)] = con.execute(
        "select min(started_at), max(window_close) from live_facts"
    ).fetchall()
    instants = live_list_instants(
        settings_, start - timedelta(days=1), close or start + timedelta(days=2)
    )
    daily = compute_reconciliation_daily(con, DAILY_ASSET, days, settings_, as_of=as_of)
    live = compute_reconciliation_live(con, LIVE_ASSET, instants, settings_)
    return con, days, instants, daily, live


def assert_balanced_everywhere(daily: pa.Table, live: pa.Table, days, instants) -> None:
    for table in (daily, live):
        bad = [row for row in table.to_pylist() if row["residual"] != ZERO]
        assert not bad, bad[:3]
    # the whole table holds every partition; each partition is also checked on its own
    validate_reconciliation(DAILY_ASSET, daily, None)
    validate_reconciliation(LIVE_ASSET, live, None)
    for day in {days[0], days[len(days) // 2], days[-1]}:
        part = daily.filter(pc.equal(daily["stat_date"], pa.scalar(day, pa.date32())))
        validate_reconciliation(DAILY_ASSET, part, day)
    utc = pa.timestamp("us", tz="UTC")
    for instant in set(live["snapshot_at"].to_pylist()[:: max(1, live.num_rows // 4)]):
        validate_reconciliation(
            LIVE_ASSET, live.filter(pc.equal(live["snapshot_at"], pa.scalar(instant, utc))), instant
        )
    assert {row["check_id"][:3] for row in daily.to_pylist()} == {
        "R01",
        "R02",
        "R03",
        "R04",
        "R07",
        "R08",
        "R09",
        "R11",
        "R12",
    }


def _keyed(table: pa.Table, *key: str) -> dict[tuple, dict]:
    return {tuple(row[k] for k in key): row for row in table.to_pylist()}


def _summed(table: pa.Table, columns: tuple[str, ...]) -> dict[tuple, dict]:
    totals: dict[tuple, dict] = defaultdict(lambda: defaultdict(Decimal))
    for row in table.to_pylist():
        for column in columns:
            totals[(row["shop_id"], row["stat_date"])][column] += row[column]
    return totals


def _parts(row: dict) -> dict[str, Decimal]:
    return {c["name"]: c["value"] for c in row["components"]}


def assert_daily_sides_are_the_marts(con, daily: pa.Table, days) -> None:
    """A and B (and the components a mart also publishes) equal the daily marts."""
    core = _keyed(compute_daily_range(con, "core_data_daily", days), "shop_id", "stat_date")
    om = _keyed(compute_daily_range(con, "order_management_daily", days), "shop_id", "stat_date")
    video = _keyed(compute_daily_range(con, "video_analysis_daily", days), "shop_id", "stat_date")
    products = _summed(
        compute_daily_range(con, "product_analysis_daily", days),
        ("gmv", "refund_amount", "refund_amount_prior_sales"),
    )
    creators = _summed(
        compute_daily_range(con, "creator_analysis_daily", days),
        (
            "gmv_total",
            "gmv_live",
            "gmv_video",
            "gmv_showcase",
            "estimated_commission",
            "actual_commission",
        ),
    )
    details: dict[tuple, dict] = defaultdict(dict)
    for row in compute_daily_range(con, "core_data_channel_detail_daily", days).to_pylist():
        if row["channel"] == "product_card":
            details[(row["shop_id"], row["stat_date"])]["product_card_" + row["channel_detail"]] = (
                row["gmv"]
            )
    for row in daily.to_pylist():
        key = (row["shop_id"], row["stat_date"])
        a, b, parts, check = row["a_value"], row["b_value"], _parts(row), row["check_id"][:3]
        if check == "R03":  # its extra LIVE-start-date rows have no activity, so no core row
            assert b == (core[key]["gmv_live"] if key in core else ZERO), row
            continue
        c, o, v, p, cr = core[key], om[key], video[key], products[key], creators[key]
        expected = {
            "R01": (c["gmv"], None),
            "R02": (c["refund_amount"], o["refund_requested_amount"]),
            "R04": (c["sku_orders"], o["orders"]),
            "R07": (p["refund_amount"], p["gmv"]),
            "R08": (cr["actual_commission"], cr["estimated_commission"]),
            "R09": (v["trends_video_count"], v["details_video_count"]),
            "R11": (cr["gmv_total"], cr["gmv_live"]),
            "R12": (c["gmv"], c["gmv_live"] + c["gmv_video"]),
        }[check]
        assert a == expected[0], row
        if expected[1] is not None:
            assert b == expected[1], row
        if check == "R04":
            assert parts["orders_cancelled_by_end_of_d"] == o["cancelled_orders"], row
            assert parts["orders_fully_refunded_by_end_of_d"] == o["refunded_orders"], row
            assert parts["extra_lines_of_multi_sku_orders"] == o["order_lines"] - o["paid_orders"]
        if check == "R07":
            assert parts["refunds_of_lines_paid_before_d"] == p["refund_amount_prior_sales"], row
        if check == "R09":
            assert parts["affiliate_videos_with_zero_gmv"] == v["affiliate_zero_gmv_video_count"]
        if check == "R11":
            assert (parts["video_gmv"], parts["showcase_gmv"]) == (
                cr["gmv_video"],
                cr["gmv_showcase"],
            ), row
        if check == "R12":
            assert parts == details.get(key, {}), row


def assert_live_sides_are_the_marts(con, live: pa.Table, instants, settings_: Settings) -> None:
    """A and B equal the LIVE list, Live Manager, the dashboard and the online trend; every
    LIVE × shop at its final list refresh has its R05, R06 and R10 rows."""
    listed = _keyed(
        compute_live_list(con, "live_list_snapshot", instants, settings_),
        "snapshot_at",
        "shop_id",
        "live_id",
    )
    creator = _keyed(
        compute_live_list(con, "creator_live_snapshot", instants, settings_),
        "snapshot_at",
        "live_id",
    )
    closes = dict(con.execute("select live_id, dashboard_close from live_facts").fetchall())
    rows = live.to_pylist()
    finals = {row["live_id"] for row in rows if row["check_id"].startswith("R05")}
    dashboards = sorted({closes[live_id] for live_id in finals})
    dashboard = (
        _keyed(
            compute_dashboard(con, "big_screen_snapshot", dashboards, settings_),
            "snapshot_at",
            "shop_id",
            "live_id",
        )
        if dashboards
        else {}
    )
    # a LIVE's trend is in the dashboard partition of the first 00:00 UTC after its end
    first = datetime.combine(instants[0].date(), datetime.min.time(), tzinfo=UTC)
    midnights = [first + timedelta(days=n) for n in range((instants[-1] - first).days + 2)]
    trend = _keyed(
        compute_dashboard(con, "live_online_trend", midnights, settings_),
        "live_id",
        "bucket_start",
    )
    for row in rows:
        check, a, b = row["check_id"][:3], row["a_value"], row["b_value"]
        key = (row["snapshot_at"], row["shop_id"], row["live_id"])
        if check == "R13":
            point = trend[(row["live_id"], row["bucket_start"])]
            assert (a, b) == (point["online_users_5min_sum"], point["in_room_online_at_bucket_end"])
            continue
        assert listed[key]["is_final"], row
        shown = dashboard.get((closes[row["live_id"]], row["shop_id"], row["live_id"]))
        if check == "R05":
            assert a == listed[key]["gmv"], row
            if shown is not None:
                assert b == shown["gmv"], row
        if check == "R06" and shown is not None:
            assert a == shown["gmv"], row
        if check == "R10":
            assert a == creator[(row["snapshot_at"], row["live_id"])]["gmv_all_shops"], row
            assert b == listed[key]["gmv"], row
    final_rows = {key for key, row in listed.items() if row["is_final"]}
    for check in ("R05", "R06", "R10"):
        assert {
            (row["snapshot_at"], row["shop_id"], row["live_id"])
            for row in rows
            if row["check_id"].startswith(check)
        } == final_rows, check


def _check_snapshot(tables, settings_: Settings) -> None:
    con, days, instants, daily, live = reconcile_everything(tables, settings_, watermark(tables))
    try:
        assert_balanced_everywhere(daily, live, days, instants)
        assert_daily_sides_are_the_marts(con, daily, days)
        assert_live_sides_are_the_marts(con, live, instants, settings_)
    finally:
        con.close()


@FEW
@given(seed=st.integers(min_value=0, max_value=2**16))
def test_every_check_balances_on_random_daily_snapshots(seed):
    _check_snapshot(daily_scenarios.random_raw(seed, orders=60).tables(), Settings())


@FEW
@given(seed=st.integers(min_value=0, max_value=2**16), late_hours=st.booleans())
def test_every_check_balances_on_random_live_snapshots(seed, late_hours):
    hours = (1, 9, 17, 23) if late_hours else (4, 12, 20)
    _check_snapshot(live_scenarios.random_raw(seed).tables(), Settings(live_list_hours=hours))


@pytest.mark.parametrize("seed", [3, 8])
def test_every_check_balances_on_the_simulated_marketplace(tmp_path, seed):
    """The simulator's data, through the real ingestion: every check, shop and partition."""
    simulate(tmp_path / "raw", start=datetime(2026, 3, 1).date(), days=3, seed=seed, scale=60)
    result = ingest_raw(tmp_path / "raw")
    con, days, instants, daily, live = reconcile_everything(
        result.tables, Settings(), result.data_watermark
    )
    try:
        assert daily.num_rows and live.num_rows
        assert {row["check_id"][:3] for row in live.to_pylist()} == {"R05", "R06", "R10", "R13"}
        assert_balanced_everywhere(daily, live, days, instants)
        assert_daily_sides_are_the_marts(con, daily, days)
        assert_live_sides_are_the_marts(con, live, instants, Settings())
    finally:
        con.close()
