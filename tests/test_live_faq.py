"""One scenario per FAQ item of 直播模块 (Q1–Q13) and 不同罗盘对比, hand-computed to the cent.

Every scenario uses shop S1 (US, America/New_York) and its product P1 (19.99, globally
sellable); the host H1 is a channel account bound to S1 since February.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from live_scenarios import LiveRuns, Raw, events, ts

D = Decimal


def world() -> Raw:
    raw = Raw()
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.account("H1", "channel")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.product("P1", "S1", unit_price="19.99", globally_sellable=True)
    return raw


def live_line(live_id: str, **extra) -> dict:
    return {
        "product_id": "P1",
        "unit_price": "19.99",
        "source_type": "live",
        "source_id": live_id,
        **extra,
    }


def cart_line(cart_id: str, **extra) -> dict:
    return {
        "product_id": "P1",
        "unit_price": "19.99",
        "source_type": "cart",
        "source_id": cart_id,
        **extra,
    }


@pytest.fixture
def runs():
    opened = []

    def open_runs(raw: Raw) -> LiveRuns:
        opened.append(LiveRuns(raw))
        return opened[-1]

    yield open_runs
    for run in opened:
        run.close()


def test_q1_dashboard_gmv_lags_the_list_between_its_daily_refreshes(runs):
    """直播模块 Q1: 大屏 refreshes once a day at 00:00 UTC, the list three times a day, and
    both keep counting cart adds paid after the LIVE: the dashboard can be below the list."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:30Z", [live_line("L1")], shipping_fee="3.00")
    raw.cart_add("C1", "P1", "2026-03-02T01:45Z", "live", "L1", buyer_id="B2")
    raw.order("O2", "2026-03-03T06:30Z", [cart_line("C1", seller_discount="2.00")], buyer_id="B2")
    run = runs(raw)

    listed = run.row("live_list_snapshot", "2026-03-03T12:00Z", shop_id="S1", live_id="L1")
    dashboard = run.row("big_screen_snapshot", "2026-03-03T00:00Z", shop_id="S1", live_id="L1")
    assert listed["gmv"] == D("40.98")  # 22.99 in the room + 17.99 paid from the cart later
    assert dashboard["gmv"] == D("22.99")  # its last refresh was before the cart checkout
    assert run.row("live_list_snapshot", "2026-03-03T04:00Z", live_id="L1")["gmv"] == D("22.99")
    assert run.row("big_screen_snapshot", "2026-03-04T00:00Z", live_id="L1")["gmv"] == D("40.98")


def test_q2_binding_effective_after_the_refresh_greys_the_entry_until_the_next_day(runs):
    """直播模块 Q2: the binding takes effect at 06:00 UTC, after the 00:00 UTC refresh, so the
    entry stays grey that day and opens at the next day's refresh."""
    raw = world()
    raw.account("H2", "channel")
    raw.binding("S1", "H2", "2026-03-05T06:00Z")
    raw.live("L2", "H2", "2026-03-04T10:00Z", "2026-03-04T11:00Z", products=["P1"])
    raw.order("O1", "2026-03-04T10:30Z", [live_line("L2")])
    run = runs(raw)

    grey = run.row("big_screen_snapshot", "2026-03-05T00:00Z", shop_id="S1", live_id="L2")
    assert (grey["entry_available"], grey["entry_unavailable_reason"]) == (
        False,
        "bound_after_refresh",
    )
    assert grey["gmv"] == D("19.99")  # a greyed entry still carries its values
    opened = run.row("big_screen_snapshot", "2026-03-06T00:00Z", shop_id="S1", live_id="L2")
    assert (opened["entry_available"], opened["entry_unavailable_reason"]) == (True, None)


def test_q3_dashboard_counts_every_country_the_list_only_the_shops_own(runs):
    """直播模块 Q3: the list is 店铺本国数据 (buyers of the shop's region), the dashboard
    全球数据: foreign buyers' GMV and foreign viewers' traffic show only there."""
    raw = world()
    raw.live("L3", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:10Z", [live_line("L3")], shipping_fee="1.00")
    raw.order(
        "O2", "2026-03-02T01:20Z", [live_line("L3", quantity=2)], buyer_id="B3", buyer_country="GB"
    )
    events(
        raw,
        "L3",
        ("V1", "enter", "2026-03-02T01:05Z", "US"),
        ("V2", "enter", "2026-03-02T01:10Z", "GB"),
        ("V2", "leave", "2026-03-02T01:20Z", "GB"),
        ("V2", "enter", "2026-03-02T01:30Z", "GB"),
        ("V3", "enter", "2026-03-02T01:40Z", "DE"),
    )
    run = runs(raw)

    listed = run.row("live_list_snapshot", "2026-03-02T04:00Z", shop_id="S1", live_id="L3")
    assert (listed["gmv"], listed["sku_orders"]) == (D("20.99"), 1)
    dashboard = run.row("big_screen_snapshot", "2026-03-03T00:00Z", shop_id="S1", live_id="L3")
    assert (dashboard["gmv"], dashboard["gmv_local"]) == (D("60.97"), D("20.99"))
    assert (dashboard["sku_orders"], dashboard["items_sold"]) == (2, 3)
    assert (dashboard["views"], dashboard["viewers"]) == (4, 3)
    traffic = {
        row["viewer_country"]: (row["views"], row["viewers"])
        for row in run.rows("big_screen_traffic", "2026-03-03T00:00Z")
    }
    assert traffic == {"DE": (1, 1), "GB": (2, 1), "US": (1, 1)}


def test_q4_cart_checkout_during_a_later_live_counts_for_the_earlier_live(runs):
    """直播模块 Q4: an item added to the cart in an earlier LIVE and checked out from the cart
    while a later LIVE is on the air belongs to the earlier LIVE's dashboard."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.live("L2", "H1", "2026-03-03T01:00Z", "2026-03-03T02:00Z", products=["P1"])
    raw.cart_add("C1", "P1", "2026-03-02T01:30Z", "live", "L1", buyer_id="B2")
    raw.order("O1", "2026-03-03T01:15Z", [cart_line("C1")], buyer_id="B2")
    raw.order("O2", "2026-03-03T01:20Z", [live_line("L2")], shipping_fee="0.50")
    run = runs(raw)

    first = run.row("big_screen_snapshot", "2026-03-04T00:00Z", live_id="L1")
    later = run.row("big_screen_snapshot", "2026-03-04T00:00Z", live_id="L2")
    assert (first["gmv"], later["gmv"]) == (D("19.99"), D("20.49"))
    first_list = run.row("live_list_snapshot", "2026-03-03T04:00Z", live_id="L1")
    assert (first_list["gmv_during_live"], first_list["gmv_after_live"]) == (D("0"), D("19.99"))


def test_q5_only_bound_channel_and_shop_integrated_official_accounts_open_the_dashboard(runs):
    """直播模块 Q5: channel accounts and 人店一体 official accounts see the dashboard; an
    unbound channel account and an affiliate creator do not."""
    raw = world()
    raw.account("HC", "channel")
    raw.binding("S1", "HC", "2026-02-01T00:00Z", unbound_at="2026-03-04T12:00Z")
    raw.account("HA", "affiliate")
    raw.binding("S1", "HA", "2026-02-01T00:00Z")  # bound, but an affiliate all the same
    raw.account("HO", "official")
    raw.binding("S1", "HO", "2026-02-01T00:00Z", binding_type="official_integrated")
    raw.account("HX", "official")
    raw.binding("S1", "HX", "2026-02-01T00:00Z", binding_type="channel")
    for live_id, host in (("LC", "HC"), ("LA", "HA"), ("LO", "HO"), ("LX", "HX")):
        raw.live(live_id, host, "2026-03-03T10:00Z", "2026-03-03T11:00Z", products=["P1"])
    run = runs(raw)

    def entry(live_id, day):
        row = run.row("big_screen_snapshot", day, shop_id="S1", live_id=live_id)
        return row["entry_available"], row["entry_unavailable_reason"]

    assert entry("LC", "2026-03-04T00:00Z") == (True, None)  # unbinding at 12:00 is later
    assert entry("LC", "2026-03-05T00:00Z") == (False, "unbound")
    assert entry("LA", "2026-03-05T00:00Z") == (False, "affiliate_account")
    assert entry("LO", "2026-03-05T00:00Z") == (True, None)
    assert entry("LX", "2026-03-05T00:00Z") == (False, "not_bound")  # the other binding type


def test_q6_dashboard_holds_only_the_rooms_attributed_lines(runs):
    """直播模块 Q6: the dashboard holds the room's attributed lines only, not what the shop
    sold during the LIVE through other channels (mall, video, showcase)."""
    raw = world()
    raw.account("HV", "affiliate")
    raw.video("V1", "HV", "2026-03-01T00:00Z", products=["P1"])
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:05Z", [live_line("L1")])
    raw.order(
        "O2", "2026-03-02T01:10Z", [{"product_id": "P1", "unit_price": "19.99"}], buyer_id="B2"
    )
    raw.order(
        "O3",
        "2026-03-02T01:20Z",
        [{"product_id": "P1", "unit_price": "19.99", "source_type": "video", "source_id": "V1"}],
        buyer_id="B3",
    )
    raw.order(
        "O4",
        "2026-03-02T01:30Z",
        [{"product_id": "P1", "unit_price": "19.99", "source_type": "showcase", "source_id": "HV"}],
        buyer_id="B4",
    )
    run = runs(raw)

    during = sum(line["gmv"] for line in run.facts["line_facts"].to_pylist())
    dashboard = run.row("big_screen_snapshot", "2026-03-03T00:00Z", live_id="L1")
    assert (dashboard["gmv"], dashboard["sku_orders"]) == (D("19.99"), 1)
    assert during == D("79.96")


def test_q7_only_global_view_lives_have_traffic_analysis(runs):
    """直播模块 Q7: traffic analysis exists only for a global-view LIVE, whose bag holds only
    globally sellable products; an empty bag is not global view."""
    raw = world()
    raw.product("P2", "S1", unit_price="5.00", globally_sellable=False)
    raw.live("LG", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.live("LN", "H1", "2026-03-02T03:00Z", "2026-03-02T04:00Z", products=["P1", "P2"])
    raw.live("LE", "H1", "2026-03-02T05:00Z", "2026-03-02T06:00Z")  # shown: H1 is bound
    for live_id, hour in (("LG", "01"), ("LN", "03"), ("LE", "05")):
        events(raw, live_id, ("V1", "enter", f"2026-03-02T{hour}:10Z", "GB"))
    run = runs(raw)

    rows = {row["live_id"]: row for row in run.rows("big_screen_snapshot", "2026-03-03T00:00Z")}
    assert {k: (r["global_view"], r["views"]) for k, r in rows.items()} == {
        "LG": (True, 1),
        "LN": (False, 1),
        "LE": (False, 1),
    }
    traffic = run.rows("big_screen_traffic", "2026-03-03T00:00Z")
    assert [(r["live_id"], r["viewer_country"], r["views"]) for r in traffic] == [("LG", "GB", 1)]


def test_q8_dashboard_conversions_update_after_the_live_ends(runs):
    """直播模块 Q8: conversion and order metrics include cart adds paid after the LIVE, so
    the dashboard changes from one day's refresh to the next."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:30Z", [live_line("L1")])
    raw.cart_add("C1", "P1", "2026-03-02T01:40Z", "live", "L1", buyer_id="B2")
    raw.cart_add("C2", "P1", "2026-03-02T01:50Z", "live", "L1", buyer_id="B3")
    raw.order("O2", "2026-03-03T10:00Z", [cart_line("C1")], buyer_id="B2")
    raw.order("O3", "2026-03-05T23:59:59Z", [cart_line("C2")], buyer_id="B3")
    run = runs(raw)

    days = ("2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06")
    seen = [run.row("big_screen_snapshot", f"{day}T00:00Z", live_id="L1") for day in days]
    assert [(r["gmv"], r["sku_orders"]) for r in seen] == [
        (D("19.99"), 1),
        (D("39.98"), 2),
        (D("39.98"), 2),
        (D("59.97"), 3),
    ]


def test_q9_live_gmv_and_refunds_grow_across_list_refreshes(runs):
    """直播模块 Q9: a LIVE's GMV counts cart adds paid after it, and its refund amount is the
    refunds of its lines succeeded by the refresh, so both grow after the LIVE."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order(
        "O1",
        "2026-03-02T01:30Z",
        [live_line("L1", quantity=2, seller_discount="1.00", platform_discount="2.00")],
        shipping_fee="4.99",
    )
    raw.cart_add("C1", "P1", "2026-03-02T01:50Z", "live", "L1", buyer_id="B2")
    raw.order("O2", "2026-03-04T13:15Z", [cart_line("C1")], buyer_id="B2")
    raw.refund("R1", "O1-L1", "2026-03-06T09:00Z", "10.00", succeeded_at="2026-03-06T12:00Z")
    raw.refund("R2", "O1-L1", "2026-03-06T09:30Z", "5.00", status="pending")
    run = runs(raw)

    def seen(instant):
        row = run.row("live_list_snapshot", instant, shop_id="S1", live_id="L1")
        return row["gmv"], row["gmv_during_live"], row["gmv_after_live"], row["refund_amount"]

    # 2 × 19.99 − 1.00 − 2.00 + 4.99 shipping = 41.97; the cart checkout adds 19.99
    assert seen("2026-03-04T12:00Z") == (D("41.97"), D("41.97"), D("0"), D("0"))
    assert seen("2026-03-04T20:00Z") == (D("61.96"), D("41.97"), D("19.99"), D("0"))
    assert seen("2026-03-06T04:00Z")[3] == D("0")
    assert seen("2026-03-06T12:00Z")[3] == D("10.00")  # succeeded exactly at the refresh
    row = run.row("live_list_snapshot", "2026-03-06T12:00Z", live_id="L1")
    assert row["start_date"].isoformat() == "2026-03-01"  # 20:00 in New York the day before


def test_q10_final_list_gmv_is_above_the_final_dashboard_gmv(runs):
    """直播模块 Q10: both update for 30 days after the LIVE; the dashboard stops at 00:00 UTC
    of day 30, the list refreshes three more times that day, so its final GMV is higher."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:30Z", [live_line("L1")], shipping_fee="3.00")
    raw.cart_add("C1", "P1", "2026-03-02T01:40Z", "live", "L1", buyer_id="B2")
    raw.cart_add("C2", "P1", "2026-03-02T01:50Z", "live", "L1", buyer_id="B3")
    raw.order("O2", "2026-04-01T10:00Z", [cart_line("C1", seller_discount="4.99")], buyer_id="B2")
    raw.order("O3", "2026-04-01T21:00Z", [cart_line("C2")], buyer_id="B3")  # window closed
    run = runs(raw)

    list_final = run.row("live_list_snapshot", "2026-04-01T20:00Z", live_id="L1")
    dashboard_final = run.row("big_screen_snapshot", "2026-04-01T00:00Z", live_id="L1")
    assert (list_final["gmv"], list_final["is_final"]) == (D("37.99"), True)
    assert (dashboard_final["gmv"], dashboard_final["is_final"]) == (D("22.99"), True)
    assert list_final["gmv"] - dashboard_final["gmv"] == D("15.00")  # paid between the two
    assert run.row("live_list_snapshot", "2026-04-02T04:00Z", live_id="L1") is None
    assert run.row("big_screen_snapshot", "2026-04-02T00:00Z", live_id="L1") is None
    expired = {r["order_id"]: r["channel_detail"] for r in run.facts["line_facts"].to_pylist()}
    assert expired["O3"] == "live_window_expired"


def test_q11_product_impressions_can_exceed_views(runs):
    """直播模块 Q11: one view can expose products many times (product card, shopping bag), so
    a shop's product impressions exceed the room's views."""
    raw = world()
    raw.shop("S2", timezone="Europe/London", region="GB")
    raw.product("Q1", "S2", unit_price="7.50")
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1", "Q1"])
    events(raw, "L1", ("V1", "enter", "2026-03-02T01:05Z"))
    for n, (product, surface) in enumerate(
        [
            ("P1", "product_card"),
            ("P1", "shopping_bag"),
            ("P1", "pinned"),
            ("P1", "pinned"),
            ("P1", "product_card"),
            ("Q1", "shopping_bag"),
            ("Q1", "pinned"),
        ]
    ):
        raw.add(
            "product_impressions",
            impression_id=f"I{n}",
            live_id="L1",
            viewer_id="V1",
            product_id=product,
            surface=surface,
            occurred_at=f"2026-03-02T01:{10 + n}Z",
        )
    run = runs(raw)

    own = run.row("big_screen_snapshot", "2026-03-03T00:00Z", shop_id="S1", live_id="L1")
    other = run.row("big_screen_snapshot", "2026-03-03T00:00Z", shop_id="S2", live_id="L1")
    assert (own["views"], own["viewers"], own["product_impressions"]) == (1, 1, 5)
    assert (other["views"], other["product_impressions"]) == (1, 2)  # views are room-wide


def _online_world() -> Raw:
    """LIVE 01:00:00–01:07:30: minutes 01:00…01:07, buckets 01:00 (5 min) and 01:05 (3)."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T01:00:00Z", "2026-03-02T01:07:30Z", products=["P1"])
    events(
        raw,
        "L1",
        ("V1", "enter", "2026-03-02T01:00:10Z"),
        ("V1", "leave", "2026-03-02T01:02:00Z"),
        ("V1", "enter", "2026-03-02T01:02:30Z"),
        ("V3", "enter", "2026-03-02T01:03:00Z"),
        ("V2", "enter", "2026-03-02T01:04:10Z"),
        ("V2", "leave", "2026-03-02T01:04:40Z"),
        ("V4", "enter", "2026-03-02T01:04:59Z"),
        ("V4", "leave", "2026-03-02T01:05:01Z"),
        ("V3", "leave", "2026-03-02T01:06:00Z"),
        ("V5", "enter", "2026-03-02T01:06:30Z"),
    )
    return raw


def test_q12_online_users_are_a_window_estimate_not_enters_minus_leaves(runs):
    """直播模块 Q12: online users count everyone present at any instant of the minute, so
    they run above the in-room count (enters − leaves so far); the trend has the same shape.

    online_users per minute 01:00…01:07 = 1, 1, 1, 2, 4, 3, 2, 2 (V2 came and went within
    01:04); in-room at each minute's end = 1, 1, 1, 2, 3, 2, 2, 2.
    """
    run = runs(_online_world())
    trend = run.rows("live_online_trend", "2026-03-03T00:00Z")
    assert [
        (
            r["bucket_start"],
            r["minutes_in_live"],
            r["online_users_5min_sum"],
            r["max_online_users_minute"],
            r["online_users_last_minute"],
            r["in_room_online_at_bucket_end"],
            r["net_entries"],
        )
        for r in trend
    ] == [
        (ts("2026-03-02T01:00Z"), 5, 9, 4, 4, 3, 3),
        (ts("2026-03-02T01:05Z"), 3, 7, 3, 2, 2, -1),
    ]
    first = trend[0]
    # the window estimate of the bucket's last minute, and the sum over its five minutes
    assert first["online_users_last_minute"] - first["in_room_online_at_bucket_end"] == 1
    assert first["online_users_5min_sum"] - first["online_users_last_minute"] == 5
    dashboard = run.row("big_screen_snapshot", "2026-03-03T00:00Z", live_id="L1")
    assert (dashboard["peak_online_users"], dashboard["views"], dashboard["viewers"]) == (4, 6, 5)


def test_multi_module_online_trend_is_a_five_minute_sum_not_the_phone_counter(runs):
    """多模块数据对比 row 3: the dashboard's trend point is the sum of five minutes of online
    users; the phone shows the in-room counter, which the running net entries reproduce."""
    run = runs(_online_world())
    trend = run.rows("live_online_trend", "2026-03-03T00:00Z")
    running = 0
    for row in trend:
        running += row["net_entries"]
        assert running == row["in_room_online_at_bucket_end"]
        assert row["online_users_5min_sum"] > row["in_room_online_at_bucket_end"]


def test_q13_every_minute_is_computed_so_no_bucket_shows_a_sync_delay_zero(runs):
    """直播模块 Q13: the compass shows 0 where online users have not synced yet; computed
    after the fact, every bucket of the LIVE is present and non-zero while anyone is in."""
    raw = world()
    raw.live("L1", "H1", "2026-03-02T23:58:00Z", "2026-03-03T00:12:00Z", products=["P1"])
    events(raw, "L1", ("V1", "enter", "2026-03-02T23:58:00Z"))
    run = runs(raw)

    assert run.rows("live_online_trend", "2026-03-03T00:00Z") == []  # it ended the next day
    trend = run.rows("live_online_trend", "2026-03-04T00:00Z")
    assert [
        (r["bucket_start"].isoformat(), r["minutes_in_live"], r["online_users_5min_sum"])
        for r in trend
    ] == [
        ("2026-03-02T23:55:00+00:00", 2, 2),
        ("2026-03-03T00:00:00+00:00", 5, 5),
        ("2026-03-03T00:05:00+00:00", 5, 5),
        ("2026-03-03T00:10:00+00:00", 3, 3),
    ]


def test_compass_comparison_creator_view_counts_every_shops_products(runs):
    """不同罗盘对比: the seller view counts only the shop's own products in the LIVE, the
    creator view (Live Manager) the products of every shop, from the LIVE's region."""
    raw = world()
    raw.shop("S2", timezone="America/Los_Angeles", region="US")
    raw.product("Q1", "S2", unit_price="25.00")
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1", "Q1"])
    raw.order("O1", "2026-03-02T01:10Z", [live_line("L1")])
    raw.order(
        "O2",
        "2026-03-02T01:20Z",
        [
            {
                "product_id": "Q1",
                "unit_price": "25.00",
                "quantity": 2,
                "source_type": "live",
                "source_id": "L1",
            }
        ],
        shop_id="S2",
        buyer_id="B2",
        shipping_fee="1.50",
    )
    raw.order("O3", "2026-03-02T01:30Z", [live_line("L1")], buyer_id="B3", buyer_country="GB")
    raw.live("L2", "H1", "2026-03-03T01:00Z", "2026-03-03T02:00Z", region="GB", products=["P1"])
    raw.order(
        "O4",
        "2026-03-03T01:10Z",
        [live_line("L2", unit_price="12.00")],
        buyer_id="B3",
        buyer_country="GB",
    )
    run = runs(raw)

    at = "2026-03-03T04:00Z"
    seller = {
        r["shop_id"]: r["gmv"] for r in run.rows("live_list_snapshot", at) if r["live_id"] == "L1"
    }
    assert seller == {"S1": D("19.99"), "S2": D("51.50")}
    creator = run.row("creator_live_snapshot", at, live_id="L1")
    assert (creator["gmv_all_shops"], creator["gmv_own_shops"], creator["shop_count"]) == (
        D("71.49"),
        D("19.99"),
        2,
    )
    # a GB LIVE: the creator view counts GB buyers, the US shop's list only US buyers
    assert run.row("creator_live_snapshot", at, live_id="L2")["gmv_all_shops"] == D("12.00")
    assert run.row("live_list_snapshot", at, shop_id="S1", live_id="L2")["gmv"] == D("0")
