"""The facts layer: every definition of metrics.md §1–4 applied once (ARCHITECTURE.md).

Line GMV and shipping shares, channel attribution with the LIVE window, shop-local stat
dates, each LIVE's start date in each shop's time zone (``live_shop_facts``, metrics.md §2)
and each order's state at the end of its paid stat date (``order_facts``, metrics.md §6:
cancelled wins over fully refunded) are computed here, in ``sql/<fact>.sql``, and nowhere
else; the marts and the reconciliations only filter and aggregate these tables.

Input: a DuckDB connection in which the normalized raw tables exist as ``raw_<table>``
relations with exactly the raw-contract columns and types. Each fact reads the raw tables
and the facts listed before it in ``FACT_SPECS``, by name.

Readings: ``estimated_commission`` is 0.00 (never null) on a line without a rate or an
attributed creator; ``window_close`` is kept on a line whose origin LIVE's window has closed
(``channel_detail = 'live_window_expired'``, no ``live_id``), so the expiry can be audited.
``line_facts`` and ``order_facts`` rows come back in no particular order (the SQL says why);
the smaller facts are sorted by their time or date column.

``build_facts`` returns Arrow tables, which suits tests and small data. At tens of millions
of lines, stream each fact instead: ``fact_relation(con, name, settings)`` is a lazy DuckDB
relation (``.to_parquet(path)`` writes it without holding it in memory); register the
written file under the fact's name before computing the next one.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from compass_pipeline.config import Settings
from compass_pipeline.refresh_calendar import last_list_refresh_hour
from compass_pipeline.registry import UNPARTITIONED, OutputSpec
from compass_pipeline.sqlfiles import load_sql

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(6, 4)
INSTANT = pa.timestamp("us", tz="UTC")
DAY = pa.date32()
TEXT = pa.string()
COUNT = pa.int64()
FLAG = pa.bool_()


def live_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("live_id", TEXT),
            ("account_id", TEXT),
            ("account_type", TEXT),
            ("region", TEXT),
            ("started_at", INSTANT),
            ("ended_at", INSTANT),
            ("final_utc_date", DAY),
            ("window_close", INSTANT),
            ("dashboard_close", INSTANT),
        ]
    )


def live_shop_facts_schema() -> pa.Schema:
    return pa.schema([("live_id", TEXT), ("shop_id", TEXT), ("start_date", DAY)])


def line_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("shop_id", TEXT),
            ("stat_date", DAY),
            ("order_id", TEXT),
            ("line_id", TEXT),
            ("product_id", TEXT),
            ("sku_id", TEXT),
            ("buyer_id", TEXT),
            ("buyer_country", TEXT),
            ("paid_at", INSTANT),
            ("cancelled_at", INSTANT),
            ("cancelled_stat_date", DAY),
            ("quantity", COUNT),
            ("unit_price", MONEY),
            ("list_amount", MONEY),
            ("seller_discount", MONEY),
            ("platform_discount", MONEY),
            ("merchandise_paid", MONEY),
            ("shipping_share", MONEY),
            ("gmv", MONEY),
            ("commission_base", MONEY),
            ("commission_rate", RATE),
            ("estimated_commission", MONEY),
            ("source_type", TEXT),
            ("source_id", TEXT),
            ("cart_add_id", TEXT),
            ("channel", TEXT),
            ("channel_detail", TEXT),
            ("live_id", TEXT),
            ("video_id", TEXT),
            ("creator_account_id", TEXT),
            ("window_close", INSTANT),
        ]
    )


def refund_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("refund_id", TEXT),
            ("line_id", TEXT),
            ("order_id", TEXT),
            ("shop_id", TEXT),
            ("product_id", TEXT),
            ("buyer_country", TEXT),
            ("status", TEXT),
            ("amount", MONEY),
            ("requested_at", INSTANT),
            ("request_stat_date", DAY),
            ("succeeded_at", INSTANT),
            ("success_stat_date", DAY),
            ("paid_at", INSTANT),
            ("paid_stat_date", DAY),
            ("channel", TEXT),
            ("channel_detail", TEXT),
            ("live_id", TEXT),
            ("video_id", TEXT),
            ("creator_account_id", TEXT),
        ]
    )


def order_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("shop_id", TEXT),
            ("stat_date", DAY),
            ("order_id", TEXT),
            ("order_lines", COUNT),
            ("gmv", MONEY),
            ("cancelled_stat_date", DAY),
            ("refunded_by_end_of_stat_date", MONEY),
            ("state_at_end_of_stat_date", TEXT),
        ]
    )


def settlement_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("settlement_id", TEXT),
            ("line_id", TEXT),
            ("order_id", TEXT),
            ("shop_id", TEXT),
            ("product_id", TEXT),
            ("account_id", TEXT),
            ("amount", MONEY),
            ("settled_at", INSTANT),
            ("stat_date", DAY),
            ("paid_at", INSTANT),
            ("paid_stat_date", DAY),
            ("line_creator_account_id", TEXT),
            ("line_estimated_commission", MONEY),
        ]
    )


def video_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("shop_id", TEXT),
            ("stat_date", DAY),
            ("video_id", TEXT),
            ("account_id", TEXT),
            ("published_at", INSTANT),
            ("is_self_operated", FLAG),
            ("gmv_by_end_of_stat_date", MONEY),
        ]
    )


def shop_activity_facts_schema() -> pa.Schema:
    return pa.schema(
        [
            ("shop_id", TEXT),
            ("stat_date", DAY),
            ("paid_lines", COUNT),
            ("refunds_requested", COUNT),
            ("refunds_succeeded", COUNT),
            ("settlements", COUNT),
            ("videos_published", COUNT),
        ]
    )


def _fact(name, description, faq, schema, key, sort_by, deps) -> OutputSpec:
    return OutputSpec(
        name=name,
        group="facts",
        partitions=UNPARTITIONED,
        description=description,
        arrow_schema=schema,
        key=key,
        faq=faq,
        sort_by=sort_by,
        deps=deps,
    )


# In build order: each fact may read the ones before it.
FACT_SPECS: tuple[OutputSpec, ...] = (
    _fact(
        "live_facts",
        "One row per LIVE: host, start and end, and when its numbers freeze (LIVE-list "
        "window close, dashboard close), 30 days after it ends; answers 直播模块 Q1 and Q10.",
        "为什么直播大屏的成交金额与直播分析-直播列表中同一场直播的成交金额不相等?",
        live_facts_schema,
        ("live_id",),
        ("started_at", "live_id"),
        ("raw_live_sessions", "raw_accounts"),
    ),
    _fact(
        "live_shop_facts",
        "One row per LIVE × shop: the LIVE start date in the shop's time zone, by which the "
        "LIVE modules group a LIVE's GMV; answers 数据概览 Q3.",
        "为什么罗盘首页经营概览的成交金额和比直播列表等模块的直播成交金额小?",
        live_shop_facts_schema,
        ("live_id", "shop_id"),
        ("start_date", "shop_id", "live_id"),
        ("live_facts", "raw_shops"),
    ),
    _fact(
        "line_facts",
        "One row per line of a paid order: GMV with its shipping share, shop-local stat date, "
        "channel attribution (LIVE window applied) and estimated commission; answers "
        "指标含义解释 Q1 and 数据概览 Q1.",
        "成交金额中包含运费和平台补贴的优惠券嘛?包含退款/取消的订单金额嘛?",
        line_facts_schema,
        ("line_id",),
        (),  # stored unsorted: see sql/line_facts.sql
        (
            "raw_shops",
            "raw_orders",
            "raw_order_lines",
            "raw_cart_adds",
            "raw_videos",
            "live_facts",
        ),
    ),
    _fact(
        "refund_facts",
        "One row per refund (any status) with its line's shop, product, paid date and "
        "attribution, and its request and success stat dates; answers 数据概览 Q2.",
        "为什么退款金额(Refund)和订单管理的退款明细对不上?",
        refund_facts_schema,
        ("refund_id",),
        ("requested_at", "refund_id"),
        ("raw_refunds", "raw_shops", "line_facts"),
    ),
    _fact(
        "order_facts",
        "One row per paid order: its lines, GMV, and its state at the end of its paid stat "
        "date (open, cancelled, or fully refunded; cancelled wins); answers 数据概览 Q4.",
        "罗盘今日的订单数量大于订单管理的今日发货订单数量?",
        order_facts_schema,
        ("order_id",),
        (),  # stored unsorted, as line_facts: see sql/order_facts.sql
        ("line_facts", "refund_facts"),
    ),
    _fact(
        "settlement_facts",
        "One row per commission settlement with its line's shop and paid date and its "
        "settled stat date; answers 达人分析 Q1.",
        "为什么商家的实际佣金支出和预估佣金支出不一致?",
        settlement_facts_schema,
        ("settlement_id",),
        ("settled_at", "settlement_id"),
        ("raw_commission_settlements", "raw_shops", "line_facts"),
    ),
    _fact(
        "video_facts",
        "One row per shoppable video × shop whose products it links: published stat date, "
        "self-operated or affiliate, GMV by the end of that date; answers 视频分析 Q1.",
        "为什Trends中的视频数Video Details中的视频数量不一致?",
        video_facts_schema,
        ("video_id", "shop_id"),
        ("stat_date", "shop_id", "video_id"),
        (
            "raw_videos",
            "raw_video_products",
            "raw_products",
            "raw_shops",
            "raw_account_bindings",
            "line_facts",
        ),
    ),
    _fact(
        "shop_activity_facts",
        "One row per shop × stat date with any activity (paid line, refund requested or "
        "succeeded, settlement, video published): the rows the shop × date marts zero-fill; "
        "answers 数据概览 Q3.",
        "为什么罗盘首页经营概览的成交金额和比直播列表等模块的直播成交金额小?",
        shop_activity_facts_schema,
        ("shop_id", "stat_date"),
        ("stat_date", "shop_id"),
        ("line_facts", "refund_facts", "settlement_facts", "video_facts"),
    ),
)

FACTS_BY_NAME = {spec.name: spec for spec in FACT_SPECS}


def fact_params(name: str, settings: Settings) -> dict[str, object]:
    """The bound parameters of a fact's SQL (only the LIVE windows need the refresh calendar)."""
    if name == "live_facts":
        return {"last_refresh_hour": last_list_refresh_hour(settings)}
    return {}


def fact_sql(name: str) -> str:
    """The SQL text of one fact (its parameters: `fact_params`)."""
    if name not in FACTS_BY_NAME:
        raise KeyError(f"unknown fact table {name!r}; expected one of {sorted(FACTS_BY_NAME)}")
    return load_sql(name)


def fact_relation(
    con: duckdb.DuckDBPyConnection, name: str, settings: Settings
) -> duckdb.DuckDBPyRelation:
    """The lazy query of one fact; the facts before it must be readable under their names."""
    return con.sql(fact_sql(name), params=fact_params(name, settings) or None)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The query result in the asset's declared column order and Arrow types."""
    return table.select(schema.names).cast(schema)


def build_facts(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, pa.Table]:
    """Compute every fact table from the ``raw_*`` relations of ``con``, in build order.

    Each result replaces any relation of its name in ``con`` (a temporary view over the
    new Arrow table), so the later facts, and marts computed on the same connection, read
    the fresh facts; the caller stores the tables and exposes them as views of those names.
    """
    results: dict[str, pa.Table] = {}
    for spec in FACT_SPECS:
        table = fact_relation(con, spec.name, settings).to_arrow_table()
        results[spec.name] = conform(table, spec.arrow_schema())
        fresh = f"_fresh_{spec.name}"
        con.register(fresh, results[spec.name])
        con.execute(f'create or replace temporary view "{spec.name}" as select * from "{fresh}"')
    return results
