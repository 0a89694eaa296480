"""The refresh mechanics of the LIVE modules: instants, the list's membership rule, a LIVE on
the air, the freeze after the final refresh, backfills in one call, and as-of purity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from daily_scenarios import facts_connection
from live_scenarios import (
    DASHBOARD_ASSETS,
    LIST_ASSETS,
    START,
    LiveRuns,
    Raw,
    compute,
    events,
    random_raw,
    run_live,
    sort_rows,
    ts,
)

from compass_pipeline import live, refresh_calendar
from compass_pipeline.config import Settings

D = Decimal


def test_list_refreshes_at_the_configured_utc_hours():
    """FAQ 直播模块 Q1: three refreshes a day, default 04:00, 12:00, 20:00 UTC."""
    got = refresh_calendar.live_list_instants(
        Settings(), ts("2026-03-01T05:00Z"), ts("2026-03-02T12:00Z")
    )
    assert [t.isoformat() for t in got] == [
        "2026-03-01T12:00:00+00:00",
        "2026-03-01T20:00:00+00:00",
        "2026-03-02T04:00:00+00:00",
        "2026-03-02T12:00:00+00:00",
    ]
    custom = Settings(live_list_hours=(2, 10, 18))
    naive = refresh_calendar.live_list_instants(
        custom, datetime(2026, 3, 1), datetime(2026, 3, 1, 23)
    )
    assert [t.hour for t in naive] == [2, 10, 18] and naive[0].tzinfo == UTC
    assert [
        t.isoformat()
        for t in refresh_calendar.dashboard_instants(
            ts("2026-03-01T00:01Z"), ts("2026-03-03T00:00Z")
        )
    ] == ["2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"]
    assert refresh_calendar.list_partition_key(ts("2026-03-01T04:00Z")) == "2026-03-01T04:00"
    assert refresh_calendar.dashboard_partition_key(ts("2026-03-01T00:00Z")) == "2026-03-01"
    for key in ("2026-03-01T04:00", "2026-03-01"):
        instant = refresh_calendar.parse_refresh_key(key)
        assert instant.tzinfo == UTC and key in refresh_calendar.list_partition_key(instant)


def test_the_refresh_calendar_around_a_refresh():
    """The list refresh before an instant (R13's partition), a date range's list refreshes
    (the CLI's first and last keys), the day's last refresh hour (window close), and the
    dashboard refreshes that hold the online trends of LIVEs ending in (after, until]."""
    custom = Settings(live_list_hours=(20, 4, 12))
    previous = refresh_calendar.previous_list_refresh
    assert previous(custom, ts("2026-03-02T04:00Z")) == ts("2026-03-01T20:00Z")
    assert previous(custom, ts("2026-03-02T04:01Z")) == ts("2026-03-02T04:00Z")
    assert previous(custom, ts("2026-03-02T23:00Z")) == ts("2026-03-02T20:00Z")
    days = refresh_calendar.list_refreshes_between(custom, START.date(), START.date())
    assert days == [ts("2026-03-01T04:00Z"), ts("2026-03-01T12:00Z"), ts("2026-03-01T20:00Z")]
    assert refresh_calendar.last_list_refresh_hour(custom) == 20
    trends = refresh_calendar.trend_refreshes
    assert trends(ts("2026-03-01T20:00Z"), ts("2026-03-02T04:00Z")) == [
        ts("2026-03-02T00:00Z"),
        ts("2026-03-03T00:00Z"),
    ]
    assert trends(ts("2026-03-01T00:00Z"), ts("2026-03-02T00:00Z")) == [ts("2026-03-02T00:00Z")]


def test_refresh_instants_must_be_whole_hours_and_dashboards_midnight():
    con, _ = facts_connection(Raw().tables())
    try:
        with pytest.raises(ValueError, match="whole UTC hour"):
            live.compute_live_list(con, "live_list_snapshot", [ts("2026-03-01T04:30Z")], Settings())
        with pytest.raises(ValueError, match="00:00 UTC"):
            live.compute_dashboard(
                con, "big_screen_snapshot", [ts("2026-03-01T04:00Z")], Settings()
            )
        with pytest.raises(KeyError, match="unknown"):
            live.compute_live_list(con, "big_screen_snapshot", [], Settings())
        empty = live.compute_live_list(con, "live_list_snapshot", [], Settings())
        assert empty.num_rows == 0 and empty.schema == live.live_list_snapshot_schema()
        tables = live.compute_dashboard_assets(con, [ts("2026-03-02T00:00Z")], Settings())
        assert {name: t.schema for name, t in tables.items()} == {
            spec.name: spec.arrow_schema() for spec in live.DASHBOARD_SPECS
        }
        # the helpers live only for the call
        temp = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
        assert temp == []
    finally:
        con.close()


def _membership_world() -> Raw:
    raw = Raw()
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.shop("S2", timezone="Europe/London", region="GB")
    raw.account("HA", "affiliate")
    raw.account("HC", "channel")
    raw.product("P1", "S1", unit_price="10.00")
    raw.product("Q1", "S2", unit_price="8.00")
    # LB: in S1's bag only; its host is bound nowhere
    raw.live("LB", "HA", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    # LH: an empty bag; its host is bound to S2 from 10:00 on 03-02 to 10:00 on 03-03
    raw.binding("S2", "HC", "2026-03-02T10:00Z", unbound_at="2026-03-03T10:00Z")
    raw.live("LH", "HC", "2026-03-02T05:00Z", "2026-03-02T06:00Z")
    # S2 sells its product Q1 in LB (not in the bag) to a US buyer at 13:00 on 03-02
    raw.order(
        "O1",
        "2026-03-02T01:30Z",
        [{"product_id": "Q1", "unit_price": "8.00", "source_type": "live", "source_id": "LB"}],
        shop_id="S2",
        buyer_country="US",
    )
    return raw


def test_a_shop_lists_a_live_through_its_bag_its_host_binding_or_an_attributed_line():
    """outputs.md "LIVE list": bag, binding in force at T, or an attributed line paid by T,
    from any buyer country (the GMV counts only the shop's own region)."""
    run = LiveRuns(_membership_world())
    try:

        def shown(instant):
            return {(r["shop_id"], r["live_id"]) for r in run.rows("live_list_snapshot", instant)}

        assert shown("2026-03-02T04:00Z") == {("S1", "LB"), ("S2", "LB")}
        assert shown("2026-03-02T12:00Z") == {("S1", "LB"), ("S2", "LB"), ("S2", "LH")}
        assert shown("2026-03-03T12:00Z") == {("S1", "LB"), ("S2", "LB")}  # binding ended
        foreign = run.row("live_list_snapshot", "2026-03-02T04:00Z", shop_id="S2", live_id="LB")
        assert (foreign["gmv"], foreign["sku_orders"]) == (D("0"), 0)
        # the same LIVE's start date in each shop's time zone: 20:00 in New York the day before
        dates = {
            r["shop_id"]: r["start_date"].isoformat()
            for r in run.rows("live_list_snapshot", "2026-03-02T04:00Z")
        }
        assert dates == {"S1": "2026-03-01", "S2": "2026-03-02"}
        dashboard = {
            (r["shop_id"], r["live_id"]): r["entry_unavailable_reason"]
            for r in run.rows("big_screen_snapshot", "2026-03-03T00:00Z")
        }
        assert dashboard == {
            ("S1", "LB"): "affiliate_account",
            ("S2", "LB"): "affiliate_account",
            ("S2", "LH"): None,
        }
    finally:
        run.close()


def test_a_live_on_the_air_at_the_refresh_shows_no_end_and_nothing_after_it():
    """metrics.md §14: status live, ended_at null and gmv_after_live 0 while on the air at T,
    even when the snapshot already knows its later end; the dashboard waits for the end."""
    raw = Raw()
    raw.shop("S1")
    raw.account("H1", "channel")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.product("P1", "S1", unit_price="10.00")
    raw.live("L1", "H1", "2026-03-02T03:00Z", "2026-03-02T05:00Z", products=["P1"])
    raw.live("L2", "H1", "2026-03-02T03:30Z", products=["P1"])  # still on the air
    raw.order(
        "O1", "2026-03-02T03:30Z", [{"product_id": "P1", "source_type": "live", "source_id": "L1"}]
    )
    run = LiveRuns(raw)
    try:
        rows = {r["live_id"]: r for r in run.rows("live_list_snapshot", "2026-03-02T04:00Z")}
        assert {k: (r["status"], r["ended_at"], r["gmv_after_live"]) for k, r in rows.items()} == {
            "L1": ("live", None, D("0")),
            "L2": ("live", None, D("0")),
        }
        assert rows["L1"]["gmv_during_live"] == D("10.00")
        later = run.row("live_list_snapshot", "2026-03-30T12:00Z", live_id="L2")
        assert (later["status"], later["is_final"]) == ("live", False)
        creator = run.row("creator_live_snapshot", "2026-03-02T04:00Z", live_id="L1")
        assert (creator["status"], creator["ended_at"]) == ("live", None)
        assert run.row("big_screen_snapshot", "2026-03-03T00:00Z", live_id="L2") is None
        assert run.rows("live_online_trend", "2026-03-03T00:00Z") == [
            r for r in run.rows("live_online_trend", "2026-03-03T00:00Z") if r["live_id"] == "L1"
        ]
    finally:
        run.close()


def _without_after(raw: Raw, instant: datetime) -> Raw:
    """The raw snapshot as it could have been taken at ``instant``: orders paid later and
    refunds succeeded later not there yet, a LIVE ending later still on the air."""
    known = Raw()
    late_orders = {
        r["order_id"]
        for r in raw.rows["orders"]
        if r["paid_at"] is not None and r["paid_at"] > instant
    }
    late_lines = {r["line_id"] for r in raw.rows["order_lines"] if r["order_id"] in late_orders}
    for table, rows in raw.rows.items():
        for row in rows:
            row = dict(row)
            if table == "orders" and row["order_id"] in late_orders:
                continue
            if table == "order_lines" and row["order_id"] in late_orders:
                continue
            if table == "refunds" and (
                row["line_id"] in late_lines
                or (row["succeeded_at"] is not None and row["succeeded_at"] > instant)
            ):
                continue
            if table == "live_sessions" and row["ended_at"] and row["ended_at"] > instant:
                row["ended_at"] = None
            known.rows[table].append(row)
    return known


@pytest.mark.parametrize("instant", ["2026-03-02T12:00Z", "2026-03-05T04:00Z", "2026-03-31T20:00Z"])
def test_a_list_refresh_is_a_pure_function_of_its_instant(instant):
    """ARCHITECTURE.md "As-of is a filter": the refresh at T from today's snapshot equals the
    refresh computed from the data as it stood at T; re-running an old refresh reproduces it."""
    raw = random_raw(21)
    at = ts(instant)
    for asset in LIST_ASSETS:
        assert run_live(raw, asset, at) == run_live(_without_after(raw, at), asset, at)


def test_a_live_is_frozen_in_its_final_refresh_and_absent_after_it():
    """FAQ 直播模块 Q10: after its last refresh a LIVE's numbers are frozen: the final rows do
    not change with later sales, and later refreshes no longer show the LIVE."""
    raw = random_raw(34)
    settings = Settings()
    con, facts = facts_connection(raw.tables(), settings)
    try:
        closes = {
            r["live_id"]: (r["window_close"], r["dashboard_close"])
            for r in facts["live_facts"].to_pylist()
            if r["ended_at"]
        }
        checked = 0
        for live_id, (close, dash_close) in sorted(closes.items())[:3]:
            for asset, final, after in (
                ("live_list_snapshot", close, close + timedelta(hours=8)),
                ("creator_live_snapshot", close, close + timedelta(hours=8)),
                ("big_screen_snapshot", dash_close, dash_close + timedelta(days=1)),
            ):
                finals = sort_rows(
                    asset,
                    [
                        r
                        for r in compute(con, asset, [final], settings).to_pylist()
                        if r["live_id"] == live_id
                    ],
                )
                known = _without_after(raw, final)
                assert finals == [
                    r for r in run_live(known, asset, final) if r["live_id"] == live_id
                ]
                assert finals and all(r["is_final"] for r in finals)
                later = compute(con, asset, [after], settings).to_pylist()
                assert live_id not in {r["live_id"] for r in later}
                checked += 1
        assert checked == 9
    finally:
        con.close()


def test_a_backfill_in_one_call_equals_one_call_per_refresh():
    """ARCHITECTURE.md: a backfill of many refreshes is one query over the list of instants;
    it must give, row for row, what one call per refresh gives."""
    settings = Settings()
    tables = random_raw(55).tables()
    con, _ = facts_connection(tables, settings)
    try:
        list_instants = refresh_calendar.live_list_instants(
            settings, START, START + timedelta(days=3)
        ) + refresh_calendar.live_list_instants(
            settings, START + timedelta(days=31), START + timedelta(days=34)
        )
        dashboard_instants = refresh_calendar.dashboard_instants(
            START, START + timedelta(days=5)
        ) + [START + timedelta(days=day) for day in (30, 33, 34)]
        plans = {
            **dict.fromkeys(LIST_ASSETS, list_instants),
            **dict.fromkeys(DASHBOARD_ASSETS, dashboard_instants),
        }
        together = {
            **live.compute_live_list_assets(con, list_instants, settings),
            **live.compute_dashboard_assets(con, dashboard_instants, settings),
        }
        for asset, instants in plans.items():
            one_by_one = [
                row
                for instant in instants
                for row in compute(con, asset, [instant], settings).to_pylist()
            ]
            assert sort_rows(asset, together[asset].to_pylist()) == sort_rows(asset, one_by_one)
            assert sort_rows(asset, compute(con, asset, instants, settings).to_pylist()) == (
                sort_rows(asset, one_by_one)
            )
            assert one_by_one, asset
    finally:
        con.close()


def test_coverage_ends_at_the_window_close_of_the_live_facts():
    """metrics.md §3, §5: the list covers a LIVE until live_facts' window_close (its final
    refresh) and the dashboard until its dashboard_close; the rule is not restated here."""
    settings = Settings(live_list_hours=(1, 9, 17, 23))
    con, facts = facts_connection(random_raw(8).tables(), settings)
    try:
        lives = {r["live_id"]: r for r in facts["live_facts"].to_pylist()}
        end = START + timedelta(days=36)
        creator = live.compute_live_list(
            con,
            "creator_live_snapshot",
            refresh_calendar.live_list_instants(settings, START, end),
            settings,
        ).to_pylist()
        dashboard = live.compute_dashboard(
            con, "big_screen_snapshot", refresh_calendar.dashboard_instants(START, end), settings
        ).to_pylist()
        for live_id, fact in lives.items():
            seen = [r for r in creator if r["live_id"] == live_id]
            last = max(seen, key=lambda r: r["snapshot_at"])
            if fact["ended_at"] is None:
                assert not last["is_final"] and last["snapshot_at"].hour == 23
                continue
            assert (last["snapshot_at"], last["is_final"]) == (fact["window_close"], True)
            assert last["snapshot_at"].hour == 23
            assert [r["is_final"] for r in seen].count(True) == 1
            shown = [r["snapshot_at"] for r in dashboard if r["live_id"] == live_id]
            assert not shown or max(shown) == fact["dashboard_close"]
    finally:
        con.close()


def test_custom_refresh_hours_move_the_window_close():
    """outputs.md: the refresh hours are a deployment setting, and window_close follows them:
    with 02:00, 10:00 and 18:00 the last refresh of day 30 is 18:00."""
    settings = Settings(live_list_hours=(2, 10, 18))
    raw = Raw()
    raw.shop("S1")
    raw.account("H1", "channel")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.product("P1", "S1", unit_price="10.00")
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.cart_add("C1", "P1", "2026-03-02T01:30Z", "live", "L1")
    raw.cart_add("C2", "P1", "2026-03-02T01:40Z", "live", "L1", buyer_id="B2")
    raw.order(
        "O1", "2026-04-01T17:00Z", [{"product_id": "P1", "source_type": "cart", "source_id": "C1"}]
    )
    raw.order(
        "O2",
        "2026-04-01T19:00Z",
        [{"product_id": "P1", "source_type": "cart", "source_id": "C2"}],
        buyer_id="B2",
    )
    rows = run_live(
        raw,
        "live_list_snapshot",
        "2026-04-01T10:00Z",
        "2026-04-01T18:00Z",
        "2026-04-02T02:00Z",
        settings=settings,
    )
    assert [(r["snapshot_at"].hour, r["gmv"], r["is_final"]) for r in rows] == [
        (10, D("0"), False),
        (18, D("10.00"), True),
    ]


def test_trend_partition_holds_the_lives_that_ended_in_the_day_before():
    """outputs.md: dashboard partition T holds the buckets of the LIVEs that ended in
    (T − 1 day, T]; a LIVE ending exactly at 00:00 belongs to that refresh."""
    raw = Raw()
    raw.shop("S1")
    raw.account("H1", "channel")
    raw.live("L1", "H1", "2026-03-02T23:50Z", "2026-03-03T00:00Z")
    raw.live("L2", "H1", "2026-03-03T00:00Z", "2026-03-03T00:04:59Z")
    events(raw, "L1", ("V1", "enter", "2026-03-02T23:55Z"))
    rows = run_live(raw, "live_online_trend", "2026-03-03T00:00Z", "2026-03-04T00:00Z")
    assert [
        (
            r["snapshot_at"].day,
            r["live_id"],
            r["bucket_start"].strftime("%H:%M"),
            r["minutes_in_live"],
            r["online_users_5min_sum"],
        )
        for r in rows
    ] == [
        (3, "L1", "23:50", 5, 0),
        (3, "L1", "23:55", 5, 5),
        (3, "L1", "00:00", 1, 1),
        (4, "L2", "00:00", 5, 0),
    ]


def test_partition_column_splits_a_backfill():
    """Each row carries its refresh instant, so the caller splits a backfill per partition."""
    settings = Settings()
    raw = random_raw(3)
    instants = refresh_calendar.live_list_instants(settings, START, START + timedelta(days=3))
    con, _ = facts_connection(raw.tables(), settings)
    try:
        table = live.compute_live_list(con, "live_list_snapshot", instants, settings)
        seen = set(table.column("snapshot_at").to_pylist())
        assert seen <= set(instants) and len(seen) > 1
        assert table.schema.field("snapshot_at").type == pa.timestamp("us", tz="UTC")
    finally:
        con.close()
