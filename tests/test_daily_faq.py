"""One scenario per FAQ item the daily modules answer, with hand-computed numbers.

Each test builds a few raw rows by hand (``daily_scenarios.Raw``), runs the facts and a
daily mart through DuckDB, and asserts values to the cent. Shop S1 is in New York (UTC-5
before 2026-03-08), S2 in Tokyo (UTC+9).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from daily_scenarios import Raw, facts_connection, line_facts, one, run_daily

from compass_pipeline.config import Settings

D = Decimal
MAR = {day: date(2026, 3, day) for day in range(1, 32)}


def _shops(raw: Raw) -> Raw:
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.shop("S2", timezone="Asia/Tokyo", region="JP")
    for product_id, shop_id in (("P1", "S1"), ("P2", "S1"), ("P3", "S1"), ("Q1", "S2")):
        raw.product(product_id, shop_id=shop_id)
    return raw


def test_faq_metric_meaning_q1_gmv_includes_shipping_excludes_platform_coupon_keeps_refunds_and_cancels():  # noqa: E501
    """指标含义解释 Q1: GMV is what the buyer paid, shipping in, platform coupon out, and it
    keeps cancelled orders and refunded lines; an unpaid order is never GMV."""
    raw = _shops(Raw())
    # Weights 25.00 - 2.00 = 23.00 and 10.00: 4.99 × 23/33 = 3.478 → 3.47 + the left-over
    # cent (largest remainder .8 vs .2) = 3.48; 4.99 × 10/33 = 1.512 → 1.51.
    raw.order(
        "O1",
        "2026-03-02T15:00Z",
        [
            dict(
                product_id="P1",
                quantity=2,
                unit_price="12.50",
                seller_discount="2.00",
                platform_discount="3.00",
            ),
            dict(product_id="P2", unit_price="10.00", platform_discount="1.00"),
        ],
        buyer_id="B1",
        shipping_fee="4.99",
    )
    raw.order(
        "O2",
        "2026-03-02T16:00Z",
        [dict(product_id="P1", unit_price="12.50")],
        buyer_id="B2",
        cancelled_at="2026-03-02T18:00Z",
    )
    raw.order("O3", "2026-03-02T17:00Z", [dict(product_id="P2")], buyer_id="B3")
    raw.refund("R1", "O3-L1", "2026-03-02T20:00Z", "10.00", succeeded_at="2026-03-03T15:00Z")
    raw.order("O4", None, [dict(product_id="P1")], buyer_id="B4", created_at="2026-03-02T17:30Z")

    lines = line_facts(raw)
    assert sorted(lines) == ["O1-L1", "O1-L2", "O2-L1", "O3-L1"]
    assert lines["O1-L1"]["merchandise_paid"] == D("20.00")
    assert lines["O1-L1"]["shipping_share"] == D("3.48")
    assert lines["O1-L1"]["gmv"] == D("23.48")
    assert lines["O1-L2"]["merchandise_paid"] == D("9.00")
    assert lines["O1-L2"]["shipping_share"] == D("1.51")
    assert lines["O1-L2"]["gmv"] == D("10.51")

    day = one(run_daily(raw, "core_data_daily", MAR[2]), shop_id="S1")
    # 35.00 listed - 2.00 seller - 4.00 platform + 4.99 shipping, + 12.50 cancelled, + 10.00
    # refunded the next day; O4 was never paid.
    assert day["gmv"] == D("56.49")
    assert day["gmv_product_card"] == D("56.49")
    assert day["sku_orders"] == 4
    assert day["items_sold"] == 5
    assert day["buyers"] == 3
    assert day["refund_amount"] == D("0.00")
    next_day = one(run_daily(raw, "core_data_daily", MAR[3]), shop_id="S1")
    assert next_day["gmv"] == D("0.00")
    assert next_day["sku_orders"] == 0
    assert next_day["refund_amount"] == D("10.00")


def test_faq_metric_meaning_q1_shipping_split_largest_remainder_ties_by_line_id():
    """指标含义解释 Q1: shipping shares are exact to the cent, left-over cents go to the
    largest remainders, ties to the smaller line_id by string order; all-zero weights split
    equally the same way."""
    raw = _shops(Raw())
    # three equal lines, 1.00 shipping: 33 cents each, the left-over cent to "O1-10",
    # which sorts before "O1-2" and "O1-9" as a string (not as a number)
    raw.order(
        "O1",
        "2026-03-02T15:00Z",
        [dict(product_id="P1", line_id=line_id) for line_id in ("O1-9", "O1-2", "O1-10")],
        shipping_fee="1.00",
    )
    # every weight 0 (seller-funded in full): 0.05 split 0.03 / 0.02
    raw.order(
        "O2",
        "2026-03-02T15:00Z",
        [
            dict(product_id="P1", line_id=line_id, seller_discount="10.00")
            for line_id in ("O2-b", "O2-a")
        ],
        shipping_fee="0.05",
    )
    # a one-line order's line carries the whole fee, even at weight 0; a free order's none
    raw.order(
        "O3",
        "2026-03-02T15:00Z",
        [dict(product_id="P1", line_id="O3-a", seller_discount="10.00")],
        shipping_fee="7.77",
    )
    raw.order(
        "O4",
        "2026-03-02T15:00Z",
        [dict(product_id="P1", line_id=line_id) for line_id in ("O4-a", "O4-b")],
        shipping_fee="0.00",
    )
    lines = line_facts(raw)
    assert lines["O3-a"]["shipping_share"] == D("7.77")
    assert lines["O3-a"]["gmv"] == D("7.77")
    assert lines["O4-a"]["shipping_share"] == lines["O4-b"]["shipping_share"] == D("0.00")
    assert lines["O1-10"]["shipping_share"] == D("0.34")
    assert lines["O1-2"]["shipping_share"] == D("0.33")
    assert lines["O1-9"]["shipping_share"] == D("0.33")
    assert lines["O2-a"]["shipping_share"] == D("0.03")
    assert lines["O2-b"]["shipping_share"] == D("0.02")
    assert lines["O2-a"]["gmv"] == D("0.03")
    day = one(run_daily(raw, "core_data_daily", MAR[2]), shop_id="S1")
    # 30.00 + 1.00 (O1), 0.05 (O2), 7.77 (O3), 20.00 (O4)
    assert day["gmv"] == D("58.82")


def test_faq_overview_q1_product_card_is_every_channel_but_live_and_video():
    """数据概览 Q1: product card = every channel that is neither LIVE nor video: showcase,
    mall, campaign page and channel, recommendation, IM message, search, other, and carts
    added there."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    raw.account("A5", "affiliate")
    raw.live("L1", "A1", "2026-03-02T14:00Z", "2026-03-02T16:00Z", products=["P1"])
    raw.video("V1", "A5", "2026-03-01T12:00Z", products=["P1"])
    raw.cart_add("C1", "P1", "2026-03-01T10:00Z", "showcase", "A5")
    raw.cart_add("C2", "P1", "2026-03-01T11:00Z", "search")
    sources = [
        ("live", "L1"),
        ("video", "V1"),
        ("showcase", "A5"),
        ("cart", "C1"),
        ("cart", "C2"),
        ("mall", None),
        ("campaign_page", None),
        ("campaign_channel", None),
        ("recommendation", None),
        ("im_message", None),
        ("search", None),
        ("other", None),
    ]
    raw.order(
        "O1",
        "2026-03-02T15:00Z",
        [
            dict(product_id="P1", unit_price=f"{10 + n}.00", source_type=kind, source_id=sid)
            for n, (kind, sid) in enumerate(sources)
        ],
    )
    lines = line_facts(raw)
    assert lines["O1-L4"]["channel_detail"] == "showcase"
    assert lines["O1-L4"]["creator_account_id"] == "A5"
    assert lines["O1-L4"]["cart_add_id"] == "C1"
    assert lines["O1-L5"]["channel_detail"] == "search"
    assert lines["O1-L5"]["creator_account_id"] is None

    rows = run_daily(raw, "core_data_channel_detail_daily", MAR[2])
    got = {(r["channel"], r["channel_detail"]): (r["gmv"], r["sku_orders"]) for r in rows}
    assert got == {
        ("live", "live"): (D("10.00"), 1),
        ("video", "video"): (D("11.00"), 1),
        ("product_card", "showcase"): (D("25.00"), 2),  # 12.00 direct + 13.00 from the cart
        ("product_card", "search"): (D("34.00"), 2),  # 14.00 from the cart + 20.00 direct
        ("product_card", "mall"): (D("15.00"), 1),
        ("product_card", "campaign_page"): (D("16.00"), 1),
        ("product_card", "campaign_channel"): (D("17.00"), 1),
        ("product_card", "recommendation"): (D("18.00"), 1),
        ("product_card", "im_message"): (D("19.00"), 1),
        ("product_card", "other"): (D("21.00"), 1),
    }
    day = one(run_daily(raw, "core_data_daily", MAR[2]), shop_id="S1")
    assert (day["gmv_live"], day["gmv_video"], day["gmv_product_card"]) == (
        D("10.00"),
        D("11.00"),
        D("165.00"),
    )


def test_faq_overview_q2_refunds_by_success_time_vs_order_management_by_request_time():
    """数据概览 Q2: the compass counts refunds on the stat date they succeeded, order
    management on the date they were requested (any status)."""
    raw = _shops(Raw())
    raw.order("O1", "2026-03-02T15:00Z", [dict(product_id="P1", unit_price="50.00")])
    raw.refund("R1", "O1-L1", "2026-03-02T20:00Z", "20.00", succeeded_at="2026-03-03T16:00Z")
    # requested 23:30 local on the 2nd, succeeded 00:30 local on the 3rd
    raw.refund("R2", "O1-L1", "2026-03-03T04:30Z", "3.00", succeeded_at="2026-03-03T05:30Z")
    raw.refund("R3", "O1-L1", "2026-03-03T14:00Z", "5.00", status="pending")
    raw.refund("R4", "O1-L1", "2026-03-03T15:00Z", "7.00", status="rejected")

    core = {r["stat_date"]: r for r in run_daily(raw, "core_data_daily", MAR[2], MAR[3])}
    assert core[MAR[2]]["refund_amount"] == D("0.00")
    assert core[MAR[3]]["refund_amount"] == D("23.00")
    orders = {r["stat_date"]: r for r in run_daily(raw, "order_management_daily", MAR[2], MAR[3])}
    assert orders[MAR[2]]["refund_requested_amount"] == D("23.00")
    assert orders[MAR[2]]["refund_requests"] == 2
    assert orders[MAR[3]]["refund_requested_amount"] == D("12.00")
    assert orders[MAR[3]]["refund_requests"] == 2


def test_faq_overview_q3_home_overview_splits_a_live_crossing_midnight_by_stat_date():
    """数据概览 Q3: the home overview groups by stat date (shop-local paid date), so a LIVE
    that crosses local midnight puts its GMV on two days; the LIVE start date is the 1st."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    # 22:00 to 02:00 New York time
    raw.live("L1", "A1", "2026-03-02T03:00Z", "2026-03-02T07:00Z", products=["P1"])
    raw.order(
        "O1",
        "2026-03-02T04:00Z",
        [dict(product_id="P1", unit_price="30.00", source_type="live", source_id="L1")],
    )
    raw.order(
        "O2",
        "2026-03-02T06:00Z",
        [dict(product_id="P1", unit_price="20.00", source_type="live", source_id="L1")],
    )
    lines = line_facts(raw)
    assert {line["live_id"] for line in lines.values()} == {"L1"}
    assert sum(line["gmv"] for line in lines.values()) == D("50.00")
    core = {r["stat_date"]: r for r in run_daily(raw, "core_data_daily", MAR[1], MAR[2])}
    assert core[MAR[1]]["gmv_live"] == D("30.00")
    assert core[MAR[2]]["gmv_live"] == D("20.00")
    # metrics.md §2: the LIVE start date, computed once per LIVE × shop in live_shop_facts:
    # 03:00Z on the 2nd is 22:00 on the 1st in New York and 12:00 on the 2nd in Tokyo
    con, facts = facts_connection(raw.tables())
    con.close()
    starts = {r["shop_id"]: r["start_date"] for r in facts["live_shop_facts"].to_pylist()}
    assert starts == {"S1": MAR[1], "S2": MAR[2]}


def test_faq_overview_q3_same_instant_has_different_stat_dates_in_two_time_zones():
    """数据概览 Q3: a stat date is the shop's own calendar date: 20:00 UTC on 1 March is the
    1st in New York and the 2nd in Tokyo."""
    raw = _shops(Raw())
    raw.order("O1", "2026-03-01T20:00Z", [dict(product_id="P1")], shop_id="S1")
    raw.order("O2", "2026-03-01T20:00Z", [dict(product_id="Q1")], shop_id="S2")
    first = run_daily(raw, "core_data_daily", MAR[1])
    second = run_daily(raw, "core_data_daily", MAR[2])
    assert [(r["shop_id"], r["gmv"]) for r in first] == [("S1", D("10.00"))]
    assert [(r["shop_id"], r["gmv"]) for r in second] == [("S2", D("10.00"))]


def test_faq_overview_q4_sku_orders_vs_order_management_orders():
    """数据概览 Q4: the compass counts SKU lines, cancelled and refunded included; order
    management counts orders once, without those cancelled or fully refunded by the end of
    the day. A cancelled order whose refund also succeeded counts once, as cancelled."""
    raw = _shops(Raw())
    paid = "2026-03-02T15:00Z"  # 10:00 on the 2nd in New York
    raw.order("O1", paid, [dict(product_id=p) for p in ("P1", "P2", "P3")])
    raw.order("O2", paid, [dict(product_id="P1")], cancelled_at="2026-03-02T20:00Z")
    # fully refunded on the day: 11.00 per line = 10.00 + a 1.00 shipping share
    raw.order("O3", paid, [dict(product_id="P1"), dict(product_id="P2")], shipping_fee="2.00")
    raw.refund("R1", "O3-L1", "2026-03-02T16:00Z", "11.00", succeeded_at="2026-03-02T17:00Z")
    raw.refund("R2", "O3-L2", "2026-03-02T16:00Z", "11.00", succeeded_at="2026-03-02T17:00Z")
    raw.order("O4", paid, [dict(product_id="P1")], cancelled_at="2026-03-02T18:00Z")
    raw.refund("R3", "O4-L1", "2026-03-02T16:00Z", "10.00", succeeded_at="2026-03-02T17:00Z")
    # cancelled on the 3rd local (03:00Z on the 3rd is 22:00 on the 2nd: use 06:00Z)
    raw.order("O5", paid, [dict(product_id="P1")], cancelled_at="2026-03-03T06:00Z")
    # refunds of the merchandise only leave the shipping: not fully refunded
    raw.order("O6", paid, [dict(product_id="P1")], shipping_fee="1.00")
    raw.refund("R4", "O6-L1", "2026-03-02T16:00Z", "10.00", succeeded_at="2026-03-02T17:00Z")
    raw.order("O7", None, [dict(product_id="P1")], created_at=paid)
    # fully refunded, but only on the 3rd
    raw.order("O8", paid, [dict(product_id="P2")])
    raw.refund("R5", "O8-L1", "2026-03-02T16:00Z", "10.00", succeeded_at="2026-03-03T15:00Z")

    core = one(run_daily(raw, "core_data_daily", MAR[2]), shop_id="S1")
    assert core["sku_orders"] == 10
    orders = one(run_daily(raw, "order_management_daily", MAR[2]), shop_id="S1")
    assert orders["orders"] == 4  # O1, O5, O6, O8
    assert orders["cancelled_orders"] == 2  # O2, O4
    assert orders["refunded_orders"] == 1  # O3
    assert orders["paid_orders"] == 7
    assert orders["order_lines"] == 10
    assert orders["refund_requests"] == 5
    assert orders["refund_requested_amount"] == D("52.00")
    # each order's state at the end of its paid stat date is decided once, in order_facts
    # (order management and R04 count it): O4's 10.00 refund covers its 10.00 GMV, but it is
    # cancelled; O6's 10.00 leaves its 1.00 shipping; O8's refund succeeds on the 3rd local
    con, facts = facts_connection(raw.tables())
    con.close()
    states = {
        r["order_id"]: (r["state_at_end_of_stat_date"], r["refunded_by_end_of_stat_date"])
        for r in facts["order_facts"].to_pylist()
    }
    assert states == {
        "O1": ("open", D("0.00")),
        "O2": ("cancelled", D("0.00")),
        "O3": ("refunded", D("22.00")),
        "O4": ("cancelled", D("10.00")),
        "O5": ("open", D("0.00")),
        "O6": ("open", D("10.00")),
        "O8": ("open", D("0.00")),
    }


def test_faq_product_analysis_q1_refunds_can_exceed_gmv():
    """商品分析 Q1: a product's refunds of a period (by success) and its GMV (by payment) are
    unrelated, so refunds of earlier sales can exceed the period's GMV."""
    raw = _shops(Raw())
    raw.order("O1", "2026-03-01T15:00Z", [dict(product_id="P1", unit_price="40.00")])
    raw.order("O2", "2026-03-01T15:00Z", [dict(product_id="P1", unit_price="40.00")])
    raw.order("O3", "2026-03-01T15:00Z", [dict(product_id="P2", unit_price="10.00")])
    raw.order("O4", "2026-03-05T15:00Z", [dict(product_id="P1", unit_price="15.00")])
    for refund_id, line_id, amount in (
        ("R1", "O1-L1", "40.00"),
        ("R2", "O2-L1", "40.00"),
        ("R3", "O4-L1", "5.00"),
    ):
        raw.refund(
            refund_id, line_id, "2026-03-05T16:00Z", amount, succeeded_at="2026-03-05T17:00Z"
        )
    raw.refund("R4", "O3-L1", "2026-03-06T16:00Z", "10.00", succeeded_at="2026-03-06T17:00Z")
    raw.refund("R5", "O4-L1", "2026-03-06T16:00Z", "10.00", status="pending")

    fifth = one(run_daily(raw, "product_analysis_daily", MAR[5]), product_id="P1")
    assert fifth["gmv"] == D("15.00")
    assert fifth["sku_orders"] == 1
    assert fifth["refund_amount"] == D("85.00")
    assert fifth["refund_amount_prior_sales"] == D("80.00")
    assert fifth["refund_exceeds_gmv"] is True
    sixth = run_daily(raw, "product_analysis_daily", MAR[6])
    # P2's refund makes a row with no sales; P1's pending refund makes none
    assert [
        (r["product_id"], r["gmv"], r["refund_amount"], r["refund_exceeds_gmv"]) for r in sixth
    ] == [("P2", D("0.00"), D("10.00"), True)]
    first = {r["product_id"]: r for r in run_daily(raw, "product_analysis_daily", MAR[1])}
    assert first["P1"]["gmv"] == D("80.00")
    assert first["P1"]["refund_exceeds_gmv"] is False


def test_faq_creator_analysis_q1_estimated_by_paid_date_actual_by_settled_date():
    """达人分析 Q1: estimated commission = round-half-up(base × rate) of the lines paid that
    day with a rate and an attributed creator; actual commission = what was settled that day,
    whoever the line was attributed to."""
    raw = _shops(Raw())
    raw.account("A5", "affiliate")
    raw.account("A6", "affiliate")
    # the 3.00 shipping goes into GMV, never into the commission base
    raw.order(
        "O1",
        "2026-03-01T15:00Z",
        [
            # 3 × 3.35 = 10.05 × 0.1000 = 1.005 → 1.01 (half up at exactly .xx5)
            dict(
                product_id="P1",
                quantity=3,
                unit_price="3.35",
                source_type="showcase",
                source_id="A5",
                commission_rate="0.1000",
            ),
            # 0.50 × 0.0500 = 0.025 → 0.03
            dict(
                product_id="P2",
                unit_price="0.50",
                source_type="showcase",
                source_id="A5",
                commission_rate="0.0500",
            ),
            # a rate without a creator earns no estimate
            dict(product_id="P3", unit_price="10.00", source_type="mall", commission_rate="0.2000"),
            dict(product_id="P1", unit_price="10.00", source_type="showcase", source_id="A5"),
        ],
        shipping_fee="3.00",
    )
    raw.settlement("CS1", "O1-L1", "A5", "2026-03-15T15:00Z", "1.01")
    raw.settlement("CS2", "O1-L3", "A6", "2026-03-15T16:00Z", "0.50")

    lines = line_facts(raw)
    assert lines["O1-L1"]["estimated_commission"] == D("1.01")
    assert lines["O1-L2"]["estimated_commission"] == D("0.03")
    assert lines["O1-L3"]["estimated_commission"] == D("0.00")
    first = one(run_daily(raw, "creator_analysis_daily", MAR[1]), account_id="A5")
    assert first["estimated_commission"] == D("1.04")
    assert first["actual_commission"] == D("0.00")
    # shipping 300 cents by weights 10.05 : 0.50 : 10.00 : 10.00 (of 30.55): floors 98, 4,
    # 98, 98 with remainders 2110, 2780, 610, 610 (/3055); the 2 left-over cents go to L2
    # and L1: shares 0.99, 0.05, 0.98, 0.98; GMV 11.04 + 0.55 + 10.98 for A5's showcase
    assert first["gmv_total"] == D("22.57")
    assert first["gmv_showcase"] == D("22.57")
    assert (first["gmv_live"], first["gmv_video"]) == (D("0.00"), D("0.00"))
    fifteenth = {r["account_id"]: r for r in run_daily(raw, "creator_analysis_daily", MAR[15])}
    assert fifteenth["A5"]["actual_commission"] == D("1.01")
    assert fifteenth["A5"]["estimated_commission"] == D("0.00")
    assert fifteenth["A5"]["gmv_total"] == D("0.00")
    assert fifteenth["A6"]["actual_commission"] == D("0.50")


def test_faq_video_analysis_q1_trends_count_every_video_details_drop_affiliate_zero_gmv():
    """视频分析 Q1: Trends count every shoppable video linking the shop's products; Video
    Details count the self-operated ones (poster bound to the shop when it was published)
    and the affiliate ones with GMV > 0 by the end of the day."""
    raw = _shops(Raw())
    for account_id, kind in (("A2", "channel"), ("A3", "channel"), ("A4", "affiliate")):
        raw.account(account_id, kind)
    raw.binding("S1", "A2", "2026-02-01T00:00Z")
    raw.binding("S1", "A3", "2026-03-01T18:00Z")  # after the videos: affiliate for them
    raw.binding("S2", "A2", "2026-02-01T00:00Z", unbound_at="2026-02-20T00:00Z")
    published = "2026-03-01T15:00Z"  # the 1st in New York, 00:00 on the 2nd in Tokyo
    raw.video("V1", "A2", published, products=["P1"])  # self-operated, no sales
    raw.video("V2", "A3", published, products=["P1"])  # affiliate with sales
    raw.video("V3", "A4", published, products=["P1"])  # affiliate, no sales
    raw.video("V4", "A4", published, products=["P1"], is_shoppable=False)
    raw.video("V5", "A4", published, products=["P1", "Q1"])  # sells only S2's product
    raw.video("V6", "A4", published, products=["P2"])  # first sale the next local day
    raw.video("V7", "A2", published, products=["Q1"])  # unbound from S2: affiliate
    raw.order(
        "O1", "2026-03-01T16:00Z", [dict(product_id="P1", source_type="video", source_id="V2")]
    )
    raw.order(
        "O2",
        "2026-03-01T16:00Z",
        [dict(product_id="Q1", source_type="video", source_id="V5")],
        shop_id="S2",
    )
    raw.order(
        "O3", "2026-03-02T06:00Z", [dict(product_id="P2", source_type="video", source_id="V6")]
    )

    s1 = one(run_daily(raw, "video_analysis_daily", MAR[1]), shop_id="S1")
    assert s1["trends_video_count"] == 5  # V1, V2, V3, V5, V6
    assert s1["self_video_count"] == 1
    assert s1["affiliate_video_count"] == 4
    assert s1["affiliate_zero_gmv_video_count"] == 3  # V3, V5 (for S1), V6
    assert s1["details_video_count"] == 2  # V1, V2
    s2 = one(run_daily(raw, "video_analysis_daily", MAR[2]), shop_id="S2")
    assert s2["trends_video_count"] == 2  # V5, V7
    assert s2["self_video_count"] == 0
    assert s2["affiliate_zero_gmv_video_count"] == 1  # V7
    assert s2["details_video_count"] == 1  # V5
    # S1's row on the 2nd exists (a paid line) and counts no videos
    s1_next = one(run_daily(raw, "video_analysis_daily", MAR[2]), shop_id="S1")
    assert s1_next["trends_video_count"] == 0


def test_faq_module_comparison_row1_creator_analysis_covers_live_video_and_showcase():
    """多模块数据对比 row 1: creator analysis counts a creator's GMV over every channel (LIVE,
    video, showcase); LIVE analysis only the LIVE part."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    raw.live("L1", "A1", "2026-03-01T14:00Z", "2026-03-01T16:00Z", products=["P1"])
    raw.video("V1", "A1", "2026-03-01T12:00Z", products=["P2"])
    raw.order(
        "O1",
        "2026-03-01T15:00Z",
        [
            dict(product_id="P1", unit_price="30.00", source_type="live", source_id="L1"),
            dict(product_id="P2", unit_price="20.00", source_type="video", source_id="V1"),
            dict(product_id="P3", unit_price="5.00", source_type="showcase", source_id="A1"),
            dict(product_id="P3", unit_price="7.00", source_type="mall"),
        ],
    )
    creator = one(run_daily(raw, "creator_analysis_daily", MAR[1]), account_id="A1")
    assert creator["gmv_live"] == D("30.00")
    assert creator["gmv_video"] == D("20.00")
    assert creator["gmv_showcase"] == D("5.00")
    assert creator["gmv_total"] == D("55.00")
    assert creator["sku_orders"] == 3


def test_faq_module_comparison_row2_core_data_is_live_plus_video_plus_product_card():
    """多模块数据对比 row 2: core data GMV = LIVE + video + product card (which LIVE and video
    analysis do not show)."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    raw.live("L1", "A1", "2026-03-01T14:00Z", "2026-03-01T16:00Z", products=["P1"])
    raw.video("V1", "A1", "2026-03-01T12:00Z", products=["P2"])
    raw.order(
        "O1",
        "2026-03-01T15:00Z",
        [
            dict(product_id="P1", unit_price="30.00", source_type="live", source_id="L1"),
            dict(product_id="P2", unit_price="20.00", source_type="video", source_id="V1"),
            dict(product_id="P3", unit_price="7.00", source_type="mall"),
            dict(product_id="P3", unit_price="8.00", source_type="recommendation"),
        ],
        shipping_fee="6.50",
    )
    core = one(run_daily(raw, "core_data_daily", MAR[1]), shop_id="S1")
    # 6.50 split by 30 : 20 : 7 : 8 = 650 × (30, 20, 7, 8) / 65 = 300, 200, 70, 80 cents
    assert core["gmv_live"] == D("33.00")
    assert core["gmv_video"] == D("22.00")
    assert core["gmv_product_card"] == D("16.50")
    assert core["gmv"] == D("71.50")
    details = run_daily(raw, "core_data_channel_detail_daily", MAR[1])
    card = [r for r in details if r["channel"] == "product_card"]
    assert sum(r["gmv"] for r in card) == core["gmv_product_card"]


def test_faq_live_q4_cart_from_earlier_live_paid_during_later_live_counts_for_earlier():
    """直播模块 Q4: an item added to the cart in an earlier LIVE and checked out while a later
    LIVE is on the air counts for the earlier LIVE (and its host), not the later one."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    raw.account("A2", "channel")
    raw.live("L1", "A1", "2026-03-01T01:00Z", "2026-03-01T03:00Z", products=["P1"])
    raw.live("L2", "A2", "2026-03-05T01:00Z", "2026-03-05T03:00Z", products=["P1", "P2"])
    raw.cart_add("C1", "P1", "2026-03-01T02:00Z", "live", "L1")
    raw.order(
        "O1",
        "2026-03-05T02:00Z",
        [
            dict(
                product_id="P1",
                unit_price="25.00",
                source_type="cart",
                source_id="C1",
                commission_rate="0.1000",
            ),
            dict(product_id="P2", unit_price="15.00", source_type="live", source_id="L2"),
        ],
    )
    lines = line_facts(raw)
    assert (lines["O1-L1"]["live_id"], lines["O1-L1"]["creator_account_id"]) == ("L1", "A1")
    assert (lines["O1-L2"]["live_id"], lines["O1-L2"]["creator_account_id"]) == ("L2", "A2")
    creators = {r["account_id"]: r for r in run_daily(raw, "creator_analysis_daily", MAR[4])}
    assert creators["A1"]["gmv_live"] == D("25.00")
    assert creators["A1"]["estimated_commission"] == D("2.50")
    assert creators["A2"]["gmv_live"] == D("15.00")


def test_faq_live_q1_cart_paid_after_the_30_day_window_is_product_card_without_creator():
    """直播模块 Q1, Q9, Q10: a LIVE keeps cart sales until its window closes, the last LIVE-list
    refresh on UTC day date_utc(ended_at) + 30; paid later, the line is product card
    (live_window_expired) with no creator and no estimated commission. A LIVE still on the
    air has no window close yet."""
    raw = _shops(Raw())
    raw.account("A1", "official")
    raw.live("L1", "A1", "2026-03-01T01:00Z", "2026-03-01T03:00Z", products=["P1"])
    raw.live("L3", "A1", "2026-03-01T04:00Z", None, products=["P1"])
    for cart_id, live_id in (("C1", "L1"), ("C2", "L1"), ("C3", "L3")):
        raw.cart_add(
            cart_id,
            "P1",
            "2026-03-01T04:30Z" if live_id == "L3" else "2026-03-01T02:00Z",
            "live",
            live_id,
        )
    cart_line = dict(
        product_id="P1", unit_price="20.00", source_type="cart", commission_rate="0.1000"
    )
    raw.order("O1", "2026-03-31T20:00Z", [dict(cart_line, source_id="C1")])  # the last refresh
    raw.order("O2", "2026-03-31T20:01Z", [dict(cart_line, source_id="C2")])  # a minute late
    raw.order("O3", "2026-04-15T20:00Z", [dict(cart_line, source_id="C3")])  # still on the air

    lines = line_facts(raw)
    on_time, late, on_air = lines["O1-L1"], lines["O2-L1"], lines["O3-L1"]
    assert (on_time["channel"], on_time["live_id"], on_time["creator_account_id"]) == (
        "live",
        "L1",
        "A1",
    )
    assert on_time["estimated_commission"] == D("2.00")
    assert (late["channel"], late["channel_detail"]) == ("product_card", "live_window_expired")
    assert (late["live_id"], late["creator_account_id"]) == (None, None)
    assert late["estimated_commission"] == D("0.00")
    assert late["window_close"] == on_time["window_close"]
    assert on_time["window_close"].isoformat() == "2026-03-31T20:00:00+00:00"
    assert (on_air["channel"], on_air["live_id"], on_air["window_close"]) == ("live", "L3", None)

    day = one(run_daily(raw, "core_data_daily", MAR[31]), shop_id="S1")
    assert (day["gmv_live"], day["gmv_product_card"]) == (D("20.00"), D("20.00"))
    creators = run_daily(raw, "creator_analysis_daily", MAR[31])
    assert [(r["account_id"], r["gmv_total"], r["estimated_commission"]) for r in creators] == [
        ("A1", D("20.00"), D("2.00"))
    ]
    con, facts = facts_connection(raw.tables())
    con.close()
    lives = {row["live_id"]: row for row in facts["live_facts"].to_pylist()}
    assert lives["L1"]["window_close"].isoformat() == "2026-03-31T20:00:00+00:00"
    assert lives["L1"]["dashboard_close"].isoformat() == "2026-03-31T00:00:00+00:00"
    assert (lives["L3"]["window_close"], lives["L3"]["dashboard_close"]) == (None, None)
    # with refreshes at 01:00 and 07:00 UTC the window closes at 07:00: both lines are late
    early = line_facts(raw, Settings(live_list_hours=(1, 7)))
    assert early["O1-L1"]["channel_detail"] == "live_window_expired"
    assert early["O1-L1"]["window_close"].isoformat() == "2026-03-31T07:00:00+00:00"
