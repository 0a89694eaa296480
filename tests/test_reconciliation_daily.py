"""One hand-computed scenario per daily reconciliation (R01–R04, R07–R09, R11, R12), each
named after its check and FAQ question: A ≠ B, and A − B is exactly the named components.

Shop S1 is in the US on America/New_York (UTC−5 in early March), so 2026-03-03T03:00Z is
still 2026-03-02 there. Every scenario's rows also pass the reconciliation schema.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recon_scenarios import Raw, assert_balanced, daily_rows, live_line, live_world, pick

D2, D3, D5 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5)


def shop_world() -> Raw:
    raw = Raw()
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.product("P1", "S1", unit_price="10.00")
    raw.product("P2", "S1", unit_price="15.00")
    return raw


def p1(**extra) -> dict:
    return {"product_id": "P1", **extra}


def test_r01_gmv_vs_settled_q1_gmv_keeps_cancelled_and_refunded_orders():
    """指标含义解释 Q1 成交金额…包含退款/取消的订单金额嘛? GMV (shipping in, platform coupon
    out) keeps cancelled and refunded orders, so it is ≥ what is finally settled; the gap is
    the cancelled orders' GMV plus the refunds on the other lines, as of the watermark."""
    raw = shop_world()
    # 2 × 10.00 − 1.00 seller − 2.00 platform + 3.00 shipping = 20.00
    raw.order(
        "O1",
        "2026-03-02T15:00Z",
        [p1(quantity=2, seller_discount="1.00", platform_discount="2.00")],
        shipping_fee="3.00",
    )
    raw.refund("R1", "O1-L1", "2026-03-03T15:00Z", "5.00", succeeded_at="2026-03-04T15:00Z")
    # cancelled the next day: its refund is part of the cancellation, not counted twice
    raw.order(
        "O2",
        "2026-03-02T16:00Z",
        [{"product_id": "P2", "unit_price": "15.00"}],
        cancelled_at="2026-03-03T10:00Z",
    )
    raw.refund("R2", "O2-L1", "2026-03-03T08:00Z", "15.00", succeeded_at="2026-03-03T09:00Z")
    # 1.01 shipping over two equal lines: 0.51 to the smaller line_id, 0.50 to the other
    raw.order("O3", "2026-03-02T17:00Z", [p1(), p1()], shipping_fee="1.01")
    raw.refund("R3", "O3-L1", "2026-03-05T10:00Z", "2.50", succeeded_at="2026-03-06T10:00Z")
    raw.refund("R4", "O3-L2", "2026-03-04T10:00Z", "4.00", status="pending")
    raw.order("O4", "2026-03-03T15:00Z", [p1()])

    early = pick(daily_rows(raw, D2, as_of="2026-03-05T00:00Z"), "R01", stat_date=D2)
    assert_balanced(
        early,
        "56.01",
        "36.01",
        cancelled_orders_gmv="15.00",
        succeeded_refunds_on_other_lines="5.00",
    )
    assert early["as_of"].isoformat() == "2026-03-05T00:00:00+00:00"
    # newer raw data (R3 succeeded) moves the "as of now" settled side, and only it
    later = pick(daily_rows(raw, D2, as_of="2026-03-07T00:00Z"), "R01", stat_date=D2)
    assert_balanced(
        later,
        "56.01",
        "33.51",
        cancelled_orders_gmv="15.00",
        succeeded_refunds_on_other_lines="7.50",
    )


def test_r02_refund_success_vs_request_q2_success_time_against_request_time():
    """数据概览 Q2 为什么退款金额(Refund)和订单管理的退款明细对不上? The compass counts a refund
    when it succeeds, order management when it is requested."""
    raw = shop_world()
    raw.order("O1", "2026-03-01T15:00Z", [p1(quantity=5)])
    raw.refund("R1", "O1-L1", "2026-03-02T15:00Z", "10.00", succeeded_at="2026-03-03T15:00Z")
    raw.refund("R2", "O1-L1", "2026-03-03T14:00Z", "7.00", succeeded_at="2026-03-03T20:00Z")
    raw.refund("R3", "O1-L1", "2026-03-03T15:00Z", "4.00", status="pending")
    raw.refund("R4", "O1-L1", "2026-03-03T16:00Z", "3.00", status="rejected")
    raw.refund("R5", "O1-L1", "2026-03-03T17:00Z", "2.00", status="withdrawn")
    # requested at 22:00 New York time on 03-03, succeeded the next day
    raw.refund("R6", "O1-L1", "2026-03-04T03:00Z", "6.00", succeeded_at="2026-03-04T18:00Z")

    rows = daily_rows(raw, D3, date(2026, 3, 4), as_of="2026-03-05T00:00Z")
    assert_balanced(
        pick(rows, "R02", stat_date=D3),
        "17.00",
        "22.00",
        succeeded_on_d_requested_earlier="10.00",
        requested_on_d_not_succeeded_on_d="-15.00",
    )
    assert_balanced(
        pick(rows, "R02", stat_date=date(2026, 3, 4)),
        "6.00",
        "0.00",
        succeeded_on_d_requested_earlier="6.00",
        requested_on_d_not_succeeded_on_d="0.00",
    )


def test_r03_home_vs_live_list_q3_stat_date_against_live_start_date():
    """数据概览 Q3 为什么罗盘首页经营概览的成交金额和比直播列表等模块的直播成交金额小? Home groups
    by stat date, the LIVE list by LIVE start date (a LIVE crossing midnight, carts paid days
    later) and counts only local buyers."""
    raw = live_world()
    raw.product("P2", "S1", unit_price="10.00")
    # L0 started 23:00 New York time on 03-01; sold at 00:30 on 03-02
    raw.live("L0", "H1", "2026-03-02T04:00Z", "2026-03-02T06:00Z", products=["P1"])
    raw.order("O5", "2026-03-02T05:30Z", [live_line("L0")], buyer_id="B5")
    # L1 started 22:00 New York time on 03-02 and ran past midnight
    raw.live("L1", "H1", "2026-03-03T03:00Z", "2026-03-03T06:00Z", products=["P1"])
    raw.order("O1", "2026-03-03T04:00Z", [live_line("L1")], buyer_id="B1")
    raw.order("O2", "2026-03-03T05:30Z", [live_line("L1")], buyer_id="B2")
    raw.order("O3", "2026-03-03T04:30Z", [live_line("L1")], buyer_id="B3", buyer_country="GB")
    raw.cart_add("C1", "P1", "2026-03-03T05:00Z", "live", "L1", buyer_id="B4")
    raw.order(
        "O4",
        "2026-03-05T15:00Z",
        [
            {
                "product_id": "P1",
                "unit_price": "19.99",
                "quantity": 2,
                "source_type": "cart",
                "source_id": "C1",
            }
        ],
        buyer_id="B4",
    )
    raw.order("O6", "2026-03-02T15:00Z", [{"product_id": "P2"}], buyer_id="B6")

    rows = daily_rows(raw, D2, D3, as_of="2026-03-10T00:00Z")
    start_day = pick(rows, "R03", stat_date=D2)
    assert_balanced(
        start_day,
        "79.96",  # O1 + O2 (after midnight) + O4 (cart, 2 × 19.99): local buyers of L1
        "59.97",  # paid on 03-02 in a LIVE: O1, O3 (GB) and O5 (L0)
        local_gmv_paid_after_d="59.97",
        gmv_on_d_of_lives_started_before_d="-19.99",
        foreign_gmv_on_d_of_lives_started_on_d="-19.99",
    )
    assert start_day["as_of"].isoformat() == "2026-03-10T00:00:00+00:00"
    assert_balanced(
        pick(rows, "R03", stat_date=D3),
        "0.00",
        "19.99",
        local_gmv_paid_after_d="0.00",
        gmv_on_d_of_lives_started_before_d="-19.99",
        foreign_gmv_on_d_of_lives_started_on_d="0.00",
    )


def test_r04_sku_orders_vs_orders_q4_sku_lines_against_open_orders():
    """数据概览 Q4 罗盘今日的订单数量大于订单管理的今日发货订单数量? SKU lines, cancelled and
    refunded included, against orders still open at the end of the day."""
    raw = shop_world()
    raw.order("O1", "2026-03-02T15:00Z", [p1(), p1(), p1()])
    raw.order("O2", "2026-03-02T15:05Z", [p1()], cancelled_at="2026-03-02T20:00Z")
    raw.order("O3", "2026-03-02T15:10Z", [p1(), p1()])
    raw.refund("R1", "O3-L1", "2026-03-02T17:00Z", "10.00", succeeded_at="2026-03-02T18:00Z")
    raw.refund("R2", "O3-L2", "2026-03-02T17:00Z", "10.00", succeeded_at="2026-03-02T19:00Z")
    raw.order("O4", "2026-03-02T15:15Z", [p1()], cancelled_at="2026-03-04T10:00Z")
    raw.order("O5", "2026-03-02T15:20Z", [p1()])
    raw.refund("R3", "O5-L1", "2026-03-04T17:00Z", "10.00", succeeded_at="2026-03-05T18:00Z")
    # cancelled and fully refunded: counted once, as cancelled
    raw.order("O6", "2026-03-02T15:25Z", [p1(), p1()], cancelled_at="2026-03-02T21:00Z")
    raw.refund("R4", "O6-L1", "2026-03-02T17:00Z", "10.00", succeeded_at="2026-03-02T18:00Z")
    raw.refund("R5", "O6-L2", "2026-03-02T17:00Z", "10.00", succeeded_at="2026-03-02T18:00Z")
    raw.order("O7", None, [p1()], created_at="2026-03-02T15:30Z")

    row = pick(daily_rows(raw, D2, as_of="2026-03-06T00:00Z"), "R04", stat_date=D2)
    assert_balanced(
        row,
        "10",
        "3",
        extra_lines_of_multi_sku_orders="4",
        orders_cancelled_by_end_of_d="2",
        orders_fully_refunded_by_end_of_d="1",
    )


def test_r07_product_refund_vs_gmv_product_q1_refunds_can_exceed_gmv():
    """商品分析 Q1 为什么商品分析里的退款金额会大于成交金额? Refunds by success date and GMV by
    paid date are unrelated: refunds of earlier sales exceed the day's GMV (informational)."""
    raw = shop_world()
    raw.order("O1", "2026-03-02T15:00Z", [p1(quantity=10)])
    raw.refund("R1", "O1-L1", "2026-03-04T15:00Z", "60.00", succeeded_at="2026-03-05T15:00Z")
    raw.order("O2", "2026-03-05T14:00Z", [p1(quantity=2)])
    raw.refund("R2", "O2-L1", "2026-03-05T15:00Z", "5.00", succeeded_at="2026-03-05T16:00Z")
    raw.order("O3", "2026-03-05T15:00Z", [p1()])
    raw.refund("R3", "O3-L1", "2026-03-05T17:00Z", "3.00", status="pending")

    row = pick(daily_rows(raw, D5, as_of="2026-03-06T00:00Z"), "R07", stat_date=D5)
    assert_balanced(
        row,
        "65.00",
        "30.00",
        refunds_of_lines_paid_before_d="60.00",
        refunds_of_lines_paid_on_d="5.00",
        gmv_of_d="-30.00",
    )
    assert row["informational"] is True


def test_r08_commission_actual_vs_estimated_creator_q1_settled_date_against_paid_date():
    """达人分析 Q1 为什么商家的实际佣金支出和预估佣金支出不一致? Actual commission is counted
    when settled, the estimate when the order is paid (base × rate, half up)."""
    raw = shop_world()
    raw.account("A7", "affiliate")
    for product_id, price in (("P100", "100.00"), ("P50", "50.00"), ("P33", "33.33")):
        raw.product(product_id, "S1", unit_price=price)

    def showcase(product_id: str, price: str, rate: str, **extra) -> dict:
        return {
            "product_id": product_id,
            "unit_price": price,
            "source_type": "showcase",
            "source_id": "A7",
            "commission_rate": rate,
            **extra,
        }

    raw.order("O1", "2026-03-02T15:00Z", [showcase("P100", "100.00", "0.1000")])  # est 10.00
    raw.settlement("CS1", "O1-L1", "A7", "2026-03-05T15:00Z", "9.50")
    raw.order(
        "O2", "2026-03-05T14:00Z", [showcase("P50", "50.00", "0.1500", seller_discount="5.00")]
    )  # est 45.00 × 0.15 = 6.75
    raw.settlement("CS2", "O2-L1", "A7", "2026-03-05T20:00Z", "6.00")
    raw.order("O3", "2026-03-05T15:00Z", [showcase("P33", "33.33", "0.0725")])  # est 2.42
    raw.settlement("CS3", "O3-L1", "A7", "2026-03-20T15:00Z", "2.40")
    # a rate without an attributed creator earns no estimate
    raw.order("O4", "2026-03-05T16:00Z", [p1(commission_rate="0.1000")])

    row = pick(daily_rows(raw, D5, as_of="2026-03-21T00:00Z"), "R08", stat_date=D5)
    assert_balanced(
        row,
        "15.50",
        "9.17",
        settlements_on_d_of_lines_not_paid_on_d="9.50",
        estimates_of_lines_paid_on_d_not_settled_on_d="-2.42",
        settled_minus_estimated_paid_and_settled_on_d="-0.75",
    )


def test_r09_video_trends_vs_details_video_q1_affiliate_videos_without_sales():
    """视频分析 Q1 为什Trends中的视频数Video Details中的视频数量不一致? Video Details leave out the
    affiliate videos with GMV = 0 by the end of their publish date."""
    raw = shop_world()
    raw.account("H1", "channel")
    raw.account("A5", "affiliate")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.video("V1", "H1", "2026-03-02T15:00Z", products=["P1"])  # self-operated, no sales
    raw.video("V2", "A5", "2026-03-02T15:30Z", products=["P1"])  # affiliate with sales
    raw.order("O1", "2026-03-02T16:00Z", [p1(source_type="video", source_id="V2")])
    raw.video("V3", "A5", "2026-03-02T16:00Z", products=["P1"])  # affiliate, no sales
    raw.video("V4", "A5", "2026-03-02T17:00Z", products=["P1"])  # sells only the next day
    raw.order("O2", "2026-03-03T15:00Z", [p1(source_type="video", source_id="V4")])
    raw.video("V5", "A5", "2026-03-02T18:00Z", products=["P1"], is_shoppable=False)

    row = pick(daily_rows(raw, D2, as_of="2026-03-04T00:00Z"), "R09", stat_date=D2)
    assert_balanced(row, "4", "2", affiliate_videos_with_zero_gmv="2")


def channels_world() -> Raw:
    """One day of S1 sold through every channel: LIVE, video, showcase, mall, search, and a
    cart from a LIVE whose 30-day window had closed."""
    raw = live_world()
    raw.account("A6", "affiliate")
    raw.product("P2", "S1", unit_price="10.00")
    raw.product("P25", "S1", unit_price="25.00")
    raw.product("P12", "S1", unit_price="12.00")
    raw.live("L1", "H1", "2026-03-02T14:00Z", "2026-03-02T16:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T15:00Z", [live_line("L1")])
    raw.video("V1", "A5", "2026-03-01T15:00Z", products=["P2"])
    raw.order(
        "O2", "2026-03-02T15:10Z", [{"product_id": "P2", "source_type": "video", "source_id": "V1"}]
    )
    raw.order(
        "O3",
        "2026-03-02T15:20Z",
        [
            {
                "product_id": "P25",
                "unit_price": "25.00",
                "source_type": "showcase",
                "source_id": "A6",
            }
        ],
    )
    raw.order("O4", "2026-03-02T15:30Z", [{"product_id": "P2", "unit_price": "7.00"}])
    raw.order(
        "O5",
        "2026-03-02T15:40Z",
        [{"product_id": "P2", "unit_price": "3.00", "source_type": "search"}],
    )
    raw.live("L0", "H1", "2026-01-20T08:00Z", "2026-01-20T10:00Z", products=["P12"])
    raw.cart_add("C0", "P12", "2026-01-20T09:00Z", "live", "L0", buyer_id="B9")
    raw.order(
        "O6",
        "2026-03-02T17:00Z",
        [{"product_id": "P12", "unit_price": "12.00", "source_type": "cart", "source_id": "C0"}],
        buyer_id="B9",
    )
    return raw


def test_r11_creator_analysis_vs_live_analysis_row_1_creators_sell_on_every_channel():
    """多模块数据对比 row 1 (直播分析-成交数据 vs 达人分析-成交数据): creator analysis covers a
    creator's LIVE, video and showcase sales; LIVE analysis only the LIVE."""
    row = pick(daily_rows(channels_world(), D2, as_of="2026-03-03T00:00Z"), "R11", stat_date=D2)
    assert_balanced(row, "54.99", "19.99", video_gmv="10.00", showcase_gmv="25.00")


def test_r12_core_vs_live_plus_video_row_2_the_product_card_by_channel_detail():
    """多模块数据对比 row 2 (核心数据 vs 直播分析+短视频分析), 数据概览 Q1 什么是商品卡? Core data
    also holds the product card: showcase, mall, search, and LIVE carts paid after the
    window, one component each."""
    row = pick(daily_rows(channels_world(), D2, as_of="2026-03-03T00:00Z"), "R12", stat_date=D2)
    assert_balanced(
        row,
        "76.99",
        "29.99",
        product_card_live_window_expired="12.00",
        product_card_mall="7.00",
        product_card_search="3.00",
        product_card_showcase="25.00",
    )


def test_every_daily_check_has_a_row_per_shop_and_active_date():
    """Zero-filled like core_data_daily: each of the nine daily checks, for every shop × date
    with activity, and nothing for a date without activity."""
    rows = daily_rows(channels_world(), D2, D3, as_of="2026-03-03T00:00Z")
    on_d2 = sorted(row["check_id"][:3] for row in rows if row["stat_date"] == D2)
    assert on_d2 == ["R01", "R02", "R03", "R04", "R07", "R08", "R09", "R11", "R12"]
    assert not [row for row in rows if row["stat_date"] == D3]
    assert all(row["residual"] == Decimal("0.00") for row in rows)
    assert {row["check_id"] for row in rows if row["as_of"] is not None} == {
        "R01_gmv_vs_settled",
        "R03_home_vs_live_list",
    }
