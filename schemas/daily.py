"""Output schemas of the daily compass modules, and ``validate_output`` for the caller.

One pandera polars ``DataFrameModel`` per daily asset (outputs.md, "Daily"), sharing a base
for ``shop_id`` and ``stat_date``: strict columns and dtypes (money is DECIMAL(18,2)), a
unique non-null key, value ranges, and the row-level identities of metrics.md that must
hold in every row (e.g. ``gmv = gmv_live + gmv_video + gmv_product_card``). Every custom
check is named after the rule it states.

``validate_output(asset, table, partition_date)`` validates one partition before it is
stored, adding the check that every row lies inside the partition; it raises
``OutputValidationError`` carrying the (truncated) failure cases. The pieces every output
schema shares (base model, row rules, the partition check, how a schema is run) are
``schemas.base``'s; ``CHANNEL_DETAILS`` and its rule are shared with the line facts.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow

from schemas.base import (
    MONEY,
    OutputModel,
    OutputValidationError,
    count_field,
    items_sold_at_least_sku_orders,
    money_field,
    no_lines_no_gmv,
    partition_schema,
    row_rule,
    validate_frame,
)

__all__ = ["DAILY_MODELS", "OutputValidationError", "output_models", "validate_output"]

CHANNEL_DETAILS = {
    "live": ("live",),
    "video": ("video",),
    "product_card": (
        "showcase",
        "mall",
        "campaign_page",
        "campaign_channel",
        "recommendation",
        "im_message",
        "search",
        "other",
        "live_window_expired",
    ),
}


def channel_detail_belongs_to_channel():
    """live and video are their own detail; every other detail is a product card (the line
    facts and core data by channel detail both hold it)."""

    def matches() -> pl.Expr:
        channel, detail = pl.col("channel"), pl.col("channel_detail")
        return (
            pl.when(channel == "live")
            .then(detail == "live")
            .when(channel == "video")
            .then(detail == "video")
            .otherwise((channel == "product_card") & detail.is_in(CHANNEL_DETAILS["product_card"]))
        )

    return row_rule(
        "channel_detail_belongs_to_channel",
        "live and video are their own detail; every other detail is a product card",
        matches,
    )


class DailyBase(OutputModel):
    """Columns every daily asset starts with: the shop and its shop-local stat date."""

    shop_id: pl.Utf8 = pa.Field(nullable=False)
    stat_date: pl.Date = pa.Field(nullable=False)


class CoreDataDaily(DailyBase):
    """Home overview / core data: FAQ 指标含义解释 Q1, 数据概览 Q1–Q4."""

    gmv: MONEY = money_field()
    gmv_live: MONEY = money_field()
    gmv_video: MONEY = money_field()
    gmv_product_card: MONEY = money_field()
    sku_orders: pl.Int64 = count_field()
    items_sold: pl.Int64 = count_field()
    buyers: pl.Int64 = count_field()
    refund_amount: MONEY = money_field()

    class Config:
        unique = ["shop_id", "stat_date"]

    _channels_add_up = row_rule(
        "gmv_is_live_plus_video_plus_product_card",
        "gmv must equal gmv_live + gmv_video + gmv_product_card",
        lambda: (
            pl.col("gmv") == pl.col("gmv_live") + pl.col("gmv_video") + pl.col("gmv_product_card")
        ),
    )
    _items = items_sold_at_least_sku_orders()
    _buyers = row_rule(
        "buyers_within_sku_orders",
        "buyers must be between 1 and sku_orders when there are lines, else 0",
        lambda: (
            (pl.col("buyers") <= pl.col("sku_orders"))
            & ((pl.col("buyers") == 0) == (pl.col("sku_orders") == 0))
        ),
    )
    _no_lines_no_gmv = no_lines_no_gmv()


class CoreDataChannelDetailDaily(DailyBase):
    """Core data by channel detail: FAQ 数据概览 Q1, 多模块数据对比 row 2."""

    channel: pl.Utf8 = pa.Field(isin=list(CHANNEL_DETAILS))
    channel_detail: pl.Utf8 = pa.Field(
        isin=sorted({d for details in CHANNEL_DETAILS.values() for d in details})
    )
    gmv: MONEY = money_field()
    sku_orders: pl.Int64 = pa.Field(ge=1)
    items_sold: pl.Int64 = pa.Field(ge=1)

    class Config:
        unique = ["shop_id", "stat_date", "channel", "channel_detail"]

    _detail_in_channel = channel_detail_belongs_to_channel()
    _items = items_sold_at_least_sku_orders()


class OrderManagementDaily(DailyBase):
    """Order management: FAQ 数据概览 Q2, Q4."""

    orders: pl.Int64 = count_field()
    cancelled_orders: pl.Int64 = count_field()
    refunded_orders: pl.Int64 = count_field()
    refund_requested_amount: MONEY = money_field()
    refund_requests: pl.Int64 = count_field()
    paid_orders: pl.Int64 = count_field()
    order_lines: pl.Int64 = count_field()

    class Config:
        unique = ["shop_id", "stat_date"]

    _each_order_once = row_rule(
        "paid_orders_are_open_cancelled_or_refunded",
        "paid_orders must equal orders + cancelled_orders + refunded_orders",
        lambda: (
            pl.col("paid_orders")
            == pl.col("orders") + pl.col("cancelled_orders") + pl.col("refunded_orders")
        ),
    )
    _lines = row_rule(
        "order_lines_at_least_paid_orders",
        "every paid order has at least one line",
        lambda: pl.col("order_lines") >= pl.col("paid_orders"),
    )
    _requests = row_rule(
        "refund_requested_amount_iff_requests",
        "every refund amount is > 0, so the requested amount is > 0 exactly when requests are",
        lambda: (pl.col("refund_requests") > 0) == (pl.col("refund_requested_amount") > 0),
    )


class ProductAnalysisDaily(DailyBase):
    """Product analysis: FAQ 商品分析 Q1."""

    product_id: pl.Utf8 = pa.Field(nullable=False)
    gmv: MONEY = money_field()
    sku_orders: pl.Int64 = count_field()
    items_sold: pl.Int64 = count_field()
    refund_amount: MONEY = money_field()
    refund_amount_prior_sales: MONEY = money_field()
    refund_exceeds_gmv: pl.Boolean

    class Config:
        unique = ["shop_id", "stat_date", "product_id"]

    _exceeds = row_rule(
        "refund_exceeds_gmv_is_refund_amount_above_gmv",
        "refund_exceeds_gmv must equal refund_amount > gmv",
        lambda: pl.col("refund_exceeds_gmv") == (pl.col("refund_amount") > pl.col("gmv")),
    )
    _prior = row_rule(
        "prior_sales_refunds_within_refund_amount",
        "refund_amount_prior_sales is a part of refund_amount",
        lambda: pl.col("refund_amount_prior_sales") <= pl.col("refund_amount"),
    )
    _items = items_sold_at_least_sku_orders()
    _activity = row_rule(
        "product_row_has_activity",
        "a product row needs a paid line or a succeeded refund on its date",
        lambda: (pl.col("sku_orders") > 0) | (pl.col("refund_amount") > 0),
    )


class CreatorAnalysisDaily(DailyBase):
    """Creator analysis: FAQ 达人分析 Q1, 多模块数据对比 row 1."""

    account_id: pl.Utf8 = pa.Field(nullable=False)
    gmv_total: MONEY = money_field()
    gmv_live: MONEY = money_field()
    gmv_video: MONEY = money_field()
    gmv_showcase: MONEY = money_field()
    estimated_commission: MONEY = money_field()
    actual_commission: MONEY = money_field()
    sku_orders: pl.Int64 = count_field()

    class Config:
        unique = ["shop_id", "stat_date", "account_id"]

    _channels_add_up = row_rule(
        "gmv_total_is_live_plus_video_plus_showcase",
        "gmv_total must equal gmv_live + gmv_video + gmv_showcase",
        lambda: (
            pl.col("gmv_total") == pl.col("gmv_live") + pl.col("gmv_video") + pl.col("gmv_showcase")
        ),
    )
    _no_lines = row_rule(
        "no_lines_no_gmv_no_estimate",
        "a row without attributed lines has no GMV and no estimated commission",
        lambda: (
            (pl.col("sku_orders") > 0)
            | ((pl.col("gmv_total") == 0) & (pl.col("estimated_commission") == 0))
        ),
    )


class VideoAnalysisDaily(DailyBase):
    """Video analysis: FAQ 视频分析 Q1."""

    trends_video_count: pl.Int64 = count_field()
    details_video_count: pl.Int64 = count_field()
    self_video_count: pl.Int64 = count_field()
    affiliate_video_count: pl.Int64 = count_field()
    affiliate_zero_gmv_video_count: pl.Int64 = count_field()

    class Config:
        unique = ["shop_id", "stat_date"]

    _trends = row_rule(
        "trends_is_self_plus_affiliate",
        "trends_video_count must equal self_video_count + affiliate_video_count",
        lambda: (
            pl.col("trends_video_count")
            == pl.col("self_video_count") + pl.col("affiliate_video_count")
        ),
    )
    _details = row_rule(
        "details_is_self_plus_affiliate_with_gmv",
        "details_video_count must equal self + (affiliate - affiliate_zero_gmv)",
        lambda: (
            pl.col("details_video_count")
            == pl.col("self_video_count")
            + pl.col("affiliate_video_count")
            - pl.col("affiliate_zero_gmv_video_count")
        ),
    )
    _zero = row_rule(
        "zero_gmv_affiliates_within_affiliates",
        "affiliate_zero_gmv_video_count cannot exceed affiliate_video_count",
        lambda: pl.col("affiliate_zero_gmv_video_count") <= pl.col("affiliate_video_count"),
    )


DAILY_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "core_data_daily": CoreDataDaily,
    "core_data_channel_detail_daily": CoreDataChannelDetailDaily,
    "order_management_daily": OrderManagementDaily,
    "product_analysis_daily": ProductAnalysisDaily,
    "creator_analysis_daily": CreatorAnalysisDaily,
    "video_analysis_daily": VideoAnalysisDaily,
}


def output_models() -> dict[str, type[pa.DataFrameModel]]:
    """Every output model by asset name: the facts and the daily modules."""
    from schemas.facts import FACT_MODELS

    return {**FACT_MODELS, **DAILY_MODELS}


def validate_output(asset: str, table: pa_arrow.Table, partition_date: date | None) -> None:
    """Validate one partition of an output asset before it is stored.

    Raises ``OutputValidationError`` listing every failing check, with the first
    ``MAX_FAILURE_CASES`` failure cases as a small Arrow table (check, column, row index,
    failing value or row).
    """
    schema = partition_schema(output_models(), asset, "stat_date", partition_date)
    validate_frame(asset, schema, table, partition_date)
