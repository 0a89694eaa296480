"""The daily compass modules on stat-date partitions (outputs.md, "Daily").

Each mart is one query in ``sql/<asset>.sql`` over the fact views (``line_facts``,
``refund_facts``, ``settlement_facts``, ``video_facts``, ``shop_activity_facts``), bound to
a list of stat dates, so a backfill of many partitions is a single scan of the facts.

Readings where the spec leaves room:

- Shop × date assets are zero-filled over ``shop_activity_facts``: a paid line, a refund
  requested or succeeded, a settlement, or a *shoppable* video linking the shop's products
  published that day. A cancellation alone is no activity.
- Product analysis has a row for a product with a paid line or a succeeded refund that day
  (what it measures); a refund merely requested makes none. Creator analysis has a row for an
  account with an attributed line paid or a commission settled to it that day.
- Order management (FAQ 数据概览 Q4) speaks of the day's *shipped* orders (发货订单); the raw
  contract has no shipment events, so it counts paid orders as metrics.md §6 says, each
  order's state taken at the end of its paid stat date: cancelled wins over fully refunded,
  so an order is counted once (``order_facts`` decides the state; R04 reads the same).
- The commission base (metrics.md §8) is the list amount less the seller discount; the FAQ
  (达人分析 Q1) says "order amount × rate" loosely, and the spec's narrower base is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb
import pyarrow as pa

from compass_pipeline.facts import COUNT, DAY, FLAG, MONEY, TEXT, conform
from compass_pipeline.registry import STAT_DATE, OutputSpec
from compass_pipeline.sqlfiles import load_sql


def _schema(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([("shop_id", TEXT), ("stat_date", DAY), *columns])


def core_data_daily_schema() -> pa.Schema:
    return _schema(
        ("gmv", MONEY),
        ("gmv_live", MONEY),
        ("gmv_video", MONEY),
        ("gmv_product_card", MONEY),
        ("sku_orders", COUNT),
        ("items_sold", COUNT),
        ("buyers", COUNT),
        ("refund_amount", MONEY),
    )


def core_data_channel_detail_daily_schema() -> pa.Schema:
    return _schema(
        ("channel", TEXT),
        ("channel_detail", TEXT),
        ("gmv", MONEY),
        ("sku_orders", COUNT),
        ("items_sold", COUNT),
    )


def order_management_daily_schema() -> pa.Schema:
    return _schema(
        ("orders", COUNT),
        ("cancelled_orders", COUNT),
        ("refunded_orders", COUNT),
        ("refund_requested_amount", MONEY),
        ("refund_requests", COUNT),
        ("paid_orders", COUNT),
        ("order_lines", COUNT),
    )


def product_analysis_daily_schema() -> pa.Schema:
    return _schema(
        ("product_id", TEXT),
        ("gmv", MONEY),
        ("sku_orders", COUNT),
        ("items_sold", COUNT),
        ("refund_amount", MONEY),
        ("refund_amount_prior_sales", MONEY),
        ("refund_exceeds_gmv", FLAG),
    )


def creator_analysis_daily_schema() -> pa.Schema:
    return _schema(
        ("account_id", TEXT),
        ("gmv_total", MONEY),
        ("gmv_live", MONEY),
        ("gmv_video", MONEY),
        ("gmv_showcase", MONEY),
        ("estimated_commission", MONEY),
        ("actual_commission", MONEY),
        ("sku_orders", COUNT),
    )


def video_analysis_daily_schema() -> pa.Schema:
    return _schema(
        ("trends_video_count", COUNT),
        ("details_video_count", COUNT),
        ("self_video_count", COUNT),
        ("affiliate_video_count", COUNT),
        ("affiliate_zero_gmv_video_count", COUNT),
    )


def _daily(name, description, faq, schema, key, deps) -> OutputSpec:
    return OutputSpec(
        name=name,
        group="daily",
        partitions=STAT_DATE,
        description=description,
        arrow_schema=schema,
        key=key,
        faq=faq,
        sort_by=key,
        deps=deps,
    )


DAILY_SPECS: tuple[OutputSpec, ...] = (
    _daily(
        "core_data_daily",
        "Home overview / core data per shop × stat date: GMV by channel, SKU orders, items, "
        "buyers, refunds by success date; answers 指标含义解释 Q1 and 数据概览 Q1–Q4.",
        "为什么罗盘首页经营概览的成交金额和比直播列表等模块的直播成交金额小?",
        core_data_daily_schema,
        ("shop_id", "stat_date"),
        ("line_facts", "refund_facts", "shop_activity_facts"),
    ),
    _daily(
        "core_data_channel_detail_daily",
        "Core data per shop × stat date × channel × channel detail: what makes up the "
        "product card; answers 数据概览 Q1 and 多模块数据对比 row 2.",
        "什么是商品卡?",
        core_data_channel_detail_daily_schema,
        ("shop_id", "stat_date", "channel", "channel_detail"),
        ("line_facts",),
    ),
    _daily(
        "order_management_daily",
        "Order management per shop × stat date: open, cancelled and fully refunded orders at "
        "the end of the day, refunds by request date; answers 数据概览 Q2 and Q4.",
        "罗盘今日的订单数量大于订单管理的今日发货订单数量?",
        order_management_daily_schema,
        ("shop_id", "stat_date"),
        ("order_facts", "refund_facts", "shop_activity_facts"),
    ),
    _daily(
        "product_analysis_daily",
        "Product analysis per shop × stat date × product: GMV by paid date and refunds by "
        "success date, which may exceed it; answers 商品分析 Q1.",
        "为什么商品分析里的退款金额会大于成交金额?",
        product_analysis_daily_schema,
        ("shop_id", "stat_date", "product_id"),
        ("line_facts", "refund_facts"),
    ),
    _daily(
        "creator_analysis_daily",
        "Creator analysis per shop × stat date × account: GMV over LIVE, video and showcase, "
        "estimated commission by paid date, actual by settled date; answers 达人分析 Q1.",
        "为什么商家的实际佣金支出和预估佣金支出不一致?",
        creator_analysis_daily_schema,
        ("shop_id", "stat_date", "account_id"),
        ("line_facts", "settlement_facts"),
    ),
    _daily(
        "video_analysis_daily",
        "Video analysis per shop × stat date: Trends and Video Details counts of shoppable "
        "videos, self-operated and affiliate; answers 视频分析 Q1.",
        "为什Trends中的视频数Video Details中的视频数量不一致?",
        video_analysis_daily_schema,
        ("shop_id", "stat_date"),
        ("video_facts", "shop_activity_facts"),
    ),
)

DAILY_BY_NAME = {spec.name: spec for spec in DAILY_SPECS}


def compute_daily_range(
    con: duckdb.DuckDBPyConnection, asset: str, stat_dates: Iterable[date]
) -> pa.Table:
    """One daily asset for several stat dates in one query, sorted by its key.

    ``con`` must expose the fact tables under their names.
    """
    try:
        spec = DAILY_BY_NAME[asset]
    except KeyError:
        known = sorted(DAILY_BY_NAME)
        raise KeyError(f"unknown daily asset {asset!r}; expected one of {known}") from None
    schema = spec.arrow_schema()
    dates = sorted(set(stat_dates))
    if not dates:
        return schema.empty_table()
    result = con.sql(load_sql(asset), params={"stat_dates": dates}).to_arrow_table()
    return conform(result, schema)


def compute_daily(con: duckdb.DuckDBPyConnection, asset: str, stat_date: date) -> pa.Table:
    """One partition (stat date) of a daily asset."""
    return compute_daily_range(con, asset, [stat_date])
