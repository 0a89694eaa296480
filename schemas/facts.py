"""Output schemas of the facts layer (metrics.md §1–4): the rules each fact row must obey.

Validated like every output (``schemas.daily.validate_output(name, table, None)``); the
facts are not partitioned, so there is no partition check. The checks are vectorized
expressions, kept cheap next to computing the facts (tens of millions of lines).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.base import INSTANT, MONEY, OutputModel, money_field, row_rule
from schemas.daily import CHANNEL_DETAILS, channel_detail_belongs_to_channel

RATE = pl.Decimal(6, 4)
CREATOR_DETAILS = ("live", "video", "showcase")
ORDER_STATES = ["open", "cancelled", "refunded"]


class LiveFacts(OutputModel):
    """One row per LIVE with its window close: FAQ 直播模块 Q1, Q9, Q10."""

    live_id: pl.Utf8 = pa.Field(unique=True)
    account_id: pl.Utf8
    account_type: pl.Utf8 = pa.Field(nullable=True)
    region: pl.Utf8
    started_at: INSTANT
    ended_at: INSTANT = pa.Field(nullable=True)
    final_utc_date: pl.Date = pa.Field(nullable=True)
    window_close: INSTANT = pa.Field(nullable=True)
    dashboard_close: INSTANT = pa.Field(nullable=True)

    _closes = row_rule(
        "window_closes_after_the_dashboard_once_ended",
        "an ended LIVE closes after it ended, the LIVE list no earlier than the dashboard; "
        "a LIVE on the air has no close",
        lambda: (
            pl.when(pl.col("ended_at").is_null())
            .then(pl.col("window_close").is_null() & pl.col("dashboard_close").is_null())
            .otherwise(
                (pl.col("dashboard_close") > pl.col("ended_at"))
                & (pl.col("window_close") >= pl.col("dashboard_close"))
            )
        ),
    )


class LiveShopFacts(OutputModel):
    """One row per LIVE × shop with the LIVE start date in the shop's time zone: FAQ 数据概览
    Q3."""

    live_id: pl.Utf8
    shop_id: pl.Utf8
    start_date: pl.Date

    class Config:
        unique = ["live_id", "shop_id"]


class LineFacts(OutputModel):
    """One row per line of a paid order: FAQ 指标含义解释 Q1, 数据概览 Q1, 直播模块 Q4."""

    shop_id: pl.Utf8
    stat_date: pl.Date
    order_id: pl.Utf8
    # unique by construction (raw key, joins on unique keys); a pandera uniqueness check
    # would cost more than computing the facts, and the differential test asserts it
    line_id: pl.Utf8
    product_id: pl.Utf8
    sku_id: pl.Utf8
    buyer_id: pl.Utf8
    buyer_country: pl.Utf8
    paid_at: INSTANT
    cancelled_at: INSTANT = pa.Field(nullable=True)
    cancelled_stat_date: pl.Date = pa.Field(nullable=True)
    quantity: pl.Int64 = pa.Field(ge=1)
    unit_price: MONEY = pa.Field(gt=0)
    list_amount: MONEY = money_field()
    seller_discount: MONEY = money_field()
    platform_discount: MONEY = money_field()
    merchandise_paid: MONEY = money_field()
    shipping_share: MONEY = money_field()
    gmv: MONEY = money_field()
    commission_base: MONEY = money_field()
    commission_rate: RATE = pa.Field(nullable=True, ge=0, le=1)
    estimated_commission: MONEY = money_field()
    source_type: pl.Utf8
    source_id: pl.Utf8 = pa.Field(nullable=True)
    cart_add_id: pl.Utf8 = pa.Field(nullable=True)
    channel: pl.Utf8 = pa.Field(isin=list(CHANNEL_DETAILS))
    channel_detail: pl.Utf8
    live_id: pl.Utf8 = pa.Field(nullable=True)
    video_id: pl.Utf8 = pa.Field(nullable=True)
    creator_account_id: pl.Utf8 = pa.Field(nullable=True)
    window_close: INSTANT = pa.Field(nullable=True)

    _gmv = row_rule(
        "gmv_is_merchandise_paid_plus_shipping_share",
        "gmv must equal merchandise_paid + shipping_share",
        lambda: pl.col("gmv") == pl.col("merchandise_paid") + pl.col("shipping_share"),
    )
    _merchandise = row_rule(
        "merchandise_paid_is_list_minus_discounts",
        "merchandise_paid must equal list_amount - seller_discount - platform_discount",
        lambda: (
            pl.col("merchandise_paid")
            == pl.col("list_amount") - pl.col("seller_discount") - pl.col("platform_discount")
        ),
    )
    _base = row_rule(
        "commission_base_is_list_minus_seller_discount",
        "commission_base must equal list_amount - seller_discount",
        lambda: pl.col("commission_base") == pl.col("list_amount") - pl.col("seller_discount"),
    )
    _detail = channel_detail_belongs_to_channel()
    _live = row_rule(
        "live_id_iff_live_channel",
        "a line has a live_id exactly when its channel is live",
        lambda: pl.col("live_id").is_not_null() == (pl.col("channel") == "live"),
    )
    _video = row_rule(
        "video_id_iff_video_channel",
        "a line has a video_id exactly when its channel is video",
        lambda: pl.col("video_id").is_not_null() == (pl.col("channel") == "video"),
    )
    _creator = row_rule(
        "creator_only_on_live_video_showcase",
        "a creator is attributed exactly on LIVE, video and showcase lines",
        lambda: (
            pl.col("creator_account_id").is_not_null()
            == pl.col("channel_detail").is_in(CREATOR_DETAILS)
        ),
    )
    _estimate = row_rule(
        "estimate_needs_rate_and_creator",
        "estimated_commission is 0 without a commission rate or an attributed creator",
        lambda: (
            (pl.col("estimated_commission") == 0)
            | (pl.col("commission_rate").is_not_null() & pl.col("creator_account_id").is_not_null())
        ),
    )
    _window = row_rule(
        "live_lines_paid_within_window",
        "a LIVE line is paid at or before its window close; an expired one after it",
        lambda: (
            pl.when(pl.col("channel_detail") == "live_window_expired")
            .then(pl.col("paid_at") > pl.col("window_close"))
            .when(pl.col("channel") == "live")
            .then(pl.col("window_close").is_null() | (pl.col("paid_at") <= pl.col("window_close")))
            .otherwise(True)
        ),
    )


class RefundFacts(OutputModel):
    """One row per refund: FAQ 数据概览 Q2, 商品分析 Q1."""

    refund_id: pl.Utf8 = pa.Field(unique=True)
    line_id: pl.Utf8
    order_id: pl.Utf8
    shop_id: pl.Utf8
    product_id: pl.Utf8
    buyer_country: pl.Utf8
    status: pl.Utf8 = pa.Field(isin=["pending", "succeeded", "rejected", "withdrawn"])
    amount: MONEY = pa.Field(gt=0)
    requested_at: INSTANT
    request_stat_date: pl.Date
    succeeded_at: INSTANT = pa.Field(nullable=True)
    success_stat_date: pl.Date = pa.Field(nullable=True)
    paid_at: INSTANT
    paid_stat_date: pl.Date
    channel: pl.Utf8 = pa.Field(isin=list(CHANNEL_DETAILS))
    channel_detail: pl.Utf8
    live_id: pl.Utf8 = pa.Field(nullable=True)
    video_id: pl.Utf8 = pa.Field(nullable=True)
    creator_account_id: pl.Utf8 = pa.Field(nullable=True)

    _success_date = row_rule(
        "success_stat_date_iff_succeeded",
        "a refund has a success stat date exactly when its status is succeeded",
        lambda: pl.col("success_stat_date").is_not_null() == (pl.col("status") == "succeeded"),
    )


class OrderFacts(OutputModel):
    """One row per paid order with its state at the end of its paid stat date: FAQ 数据概览
    Q4."""

    shop_id: pl.Utf8
    stat_date: pl.Date
    # unique by construction (grouped by order_id), as line_facts' line_id
    order_id: pl.Utf8
    order_lines: pl.Int64 = pa.Field(ge=1)
    gmv: MONEY = money_field()
    cancelled_stat_date: pl.Date = pa.Field(nullable=True)
    refunded_by_end_of_stat_date: MONEY = money_field()
    state_at_end_of_stat_date: pl.Utf8 = pa.Field(isin=ORDER_STATES)

    _cancelled = row_rule(
        "cancelled_iff_cancelled_by_end_of_stat_date",
        "an order is cancelled exactly when it was cancelled by the end of its paid stat date",
        lambda: (
            (pl.col("state_at_end_of_stat_date") == "cancelled")
            == (pl.col("cancelled_stat_date") <= pl.col("stat_date")).fill_null(False)
        ),
    )
    _refunded = row_rule(
        "refunded_orders_refunded_in_full",
        "a fully refunded order had refunds > 0 covering its GMV by the end of its stat date",
        lambda: (
            (pl.col("state_at_end_of_stat_date") != "refunded")
            | (
                (pl.col("refunded_by_end_of_stat_date") > 0)
                & (pl.col("refunded_by_end_of_stat_date") >= pl.col("gmv"))
            )
        ),
    )


class SettlementFacts(OutputModel):
    """One row per commission settlement: FAQ 达人分析 Q1."""

    settlement_id: pl.Utf8 = pa.Field(unique=True)
    line_id: pl.Utf8
    order_id: pl.Utf8
    shop_id: pl.Utf8
    product_id: pl.Utf8
    account_id: pl.Utf8
    amount: MONEY = money_field()
    settled_at: INSTANT
    stat_date: pl.Date
    paid_at: INSTANT
    paid_stat_date: pl.Date
    line_creator_account_id: pl.Utf8 = pa.Field(nullable=True)
    line_estimated_commission: MONEY = money_field()


class VideoFacts(OutputModel):
    """One row per shoppable video × linked shop: FAQ 视频分析 Q1."""

    shop_id: pl.Utf8
    stat_date: pl.Date
    video_id: pl.Utf8
    account_id: pl.Utf8
    published_at: INSTANT
    is_self_operated: pl.Boolean
    gmv_by_end_of_stat_date: MONEY = money_field()

    class Config:
        unique = ["video_id", "shop_id"]


class ShopActivityFacts(OutputModel):
    """One row per shop × stat date with activity: the zero-fill rows of the shop × date marts."""

    shop_id: pl.Utf8
    stat_date: pl.Date
    paid_lines: pl.Int64 = pa.Field(ge=0)
    refunds_requested: pl.Int64 = pa.Field(ge=0)
    refunds_succeeded: pl.Int64 = pa.Field(ge=0)
    settlements: pl.Int64 = pa.Field(ge=0)
    videos_published: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["shop_id", "stat_date"]

    _some = row_rule(
        "shop_date_has_activity",
        "a shop × date row needs at least one activity",
        lambda: (
            pl.sum_horizontal(
                "paid_lines",
                "refunds_requested",
                "refunds_succeeded",
                "settlements",
                "videos_published",
            )
            > 0
        ),
    )


FACT_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "live_facts": LiveFacts,
    "live_shop_facts": LiveShopFacts,
    "line_facts": LineFacts,
    "refund_facts": RefundFacts,
    "order_facts": OrderFacts,
    "settlement_facts": SettlementFacts,
    "video_facts": VideoFacts,
    "shop_activity_facts": ShopActivityFacts,
}
