"""Reconciliations R01–R13 (reconciliations.md): every FAQ discrepancy explained to the cent.

For each pair of numbers the FAQ says differ, a check computes side A and side B as the
published metrics compute them (the same facts under the same filters as the marts) and named
components, each its own filter over the facts, such that ``A − B = Σ components`` exactly.
The residual ``difference − Σ components`` must be 0; a non-zero one is a bug or bad data and
fails validation (``schemas.reconciliation``) with the rows that don't add up.

``CHECKS`` is the one declarative table of the checks: id, name, the plain-English
explanation, the FAQ question quoted in Chinese, the sides and components, and whether the
check explains rather than flags. ``RECON_SPECS`` are the two assets:

* ``reconciliation_daily`` (stat-date partitions): R01–R04, R07–R09, R11, R12, one row per
  check × shop × stat date with activity (``shop_activity_facts``, as ``core_data_daily``).
  R03 also gets a row for a shop × LIVE start date whose LIVEs sold for the shop with no
  other activity that day.
* ``reconciliation_live`` (LIVE-list refresh partitions): R05, R06, R10 for each LIVE and each
  shop whose list shows it at ``T = window_close(L)``, in that partition only; R13 per LIVE ×
  5-minute bucket × shop whose list shows it, in the partition of the first list refresh at
  or after the LIVE's end.

Readings where the spec leaves room:

* R01 and R03 are "as of now": ``as_of`` is the data watermark (≥ every event time), recorded
  on each row. R03's list side takes each LIVE as of ``min(as_of, window_close)`` exactly, an
  instant rather than the list's last refresh before it; at ``window_close`` the two agree.
* R01's settled side adds up what the buyer paid from its parts (merchandise after both
  discounts, plus the shipping share) rather than the ``gmv`` column, so a line whose GMV is
  not what the buyer paid (FAQ 指标含义解释 Q1) leaves a residual.
* Which shops a LIVE belongs to comes from the published LIVE list itself (its membership
  rule is not restated); R13's sides are the published online trend's own columns, and its
  components are, by their definition in reconciliations.md, differences of those columns:
  its residual guards the arithmetic, the trend's schema guards the values.

FAQ and spec: nothing in the spec contradicts the FAQ for these checks; where the two read
differently, the reading keeps to the FAQ.
直播模块 Q10 says the list's final ends *above* the dashboard's; that holds for local buyers
(R05's first component is never negative), while Q3 has the dashboard count every country,
so R05's second component can put the list's final below it. 数据概览 Q4 speaks of order
management's *shipped* orders (发货订单); the raw data has no shipments, so B is the
published ``order_management_daily.orders`` (paid, neither cancelled nor fully refunded by
the end of D). 多模块数据对比 row 1 describes one creator (单个达人); R11 sums the shop's
creators, and ``creator_analysis_daily`` checks the same identity per creator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pyarrow as pa

from compass_pipeline.config import Settings
from compass_pipeline.facts import DAY, FLAG, INSTANT, MONEY, TEXT, conform
from compass_pipeline.refresh_calendar import (
    previous_list_refresh,
    refresh_instants,
    trend_refreshes,
    utc,
)
from compass_pipeline.registry import LIVE_LIST, STAT_DATE, OutputSpec
from compass_pipeline.sqlfiles import load_sql

DAILY_ASSET = "reconciliation_daily"
LIVE_ASSET = "reconciliation_live"
MONEY_UNIT = "money"
COUNT_UNIT = "count"
COMPONENT = pa.struct([("name", TEXT), ("value", MONEY)])
LIST_MEMBERS = "_reconciliation_list_members"
ONLINE_TREND = "_reconciliation_online_trend"


@dataclass(frozen=True)
class Check:
    """One reconciliation: what A and B are, what makes up A − B, and which FAQ item it is."""

    id: str  # R01 … R13
    name: str
    asset: str
    a_label: str
    b_label: str
    components: tuple[tuple[str, str], ...]  # (component name, what it is); signs included
    explanation: str  # plain English, for the UI and the report
    faq_ref: str  # section and question of the FAQ
    faq_question: str  # the FAQ's question (or item), quoted in Chinese
    informational: bool = False
    unit: str = MONEY_UNIT
    component_prefix: str = ""  # R12: one component per channel_detail, named prefix+detail

    @property
    def check_id(self) -> str:
        """The id and name joined by ``_``, as stored (outputs.md), e.g. R01_gmv_vs_settled."""
        return f"{self.id}_{self.name}"

    def component_label(self, name: str) -> str:
        """What a stored component is, in plain words."""
        for known, label in self.components:
            if known == name:
                return label
        if self.component_prefix and name.startswith(self.component_prefix):
            detail = name.removeprefix(self.component_prefix).replace("_", " ")
            return f"+ product-card GMV from {detail}"
        return name


CHECKS: tuple[Check, ...] = (
    Check(
        "R01",
        "gmv_vs_settled",
        DAILY_ASSET,
        "Compass GMV of the day",
        "Settled GMV of the day's lines, as of the data watermark",
        (
            ("cancelled_orders_gmv", "+ GMV of lines whose order has been cancelled since"),
            ("succeeded_refunds_on_other_lines", "+ refunds that succeeded on the other lines"),
        ),
        "The compass counts what buyers paid when they paid it, and keeps it even when the "
        "order is cancelled or refunded later. What you finally keep is less: the cancelled "
        "orders and the refunds come off.",
        "指标含义解释 Q1",
        "成交金额中包含运费和平台补贴的优惠券嘛?包含退款/取消的订单金额嘛?",
    ),
    Check(
        "R02",
        "refund_success_vs_request",
        DAILY_ASSET,
        "Compass refund amount of the day (by success date)",
        "Order management refund amount of the day (by request date)",
        (
            (
                "succeeded_on_d_requested_earlier",
                "+ refunds that succeeded this day but were requested on an earlier day",
            ),
            (
                "requested_on_d_not_succeeded_on_d",
                "− refunds requested this day that did not succeed this day (pending, "
                "rejected, withdrawn, or succeeded later)",
            ),
        ),
        "The compass counts a refund on the day it succeeds; order management lists it on the "
        "day the buyer asked for it, whatever happened next.",
        "数据概览 Q2",
        "为什么退款金额(Refund)和订单管理的退款明细对不上?",
    ),
    Check(
        "R03",
        "home_vs_live_list",
        DAILY_ASSET,
        "LIVE list GMV of the LIVEs that started this day (local buyers)",
        "Home overview LIVE GMV of the day (all buyers)",
        (
            (
                "local_gmv_paid_after_d",
                "+ what local buyers paid on later days for LIVEs that started this day",
            ),
            (
                "gmv_on_d_of_lives_started_before_d",
                "− what was paid this day for LIVEs that started on an earlier day",
            ),
            (
                "foreign_gmv_on_d_of_lives_started_on_d",
                "− what buyers from other countries paid this day for this day's LIVEs",
            ),
        ),
        "The home page adds up sales by the day they were paid; the LIVE list puts all of a "
        "LIVE's sales on the day it started, including those after midnight and carts paid "
        "days later. The LIVE list also counts only buyers from your shop's own country.",
        "数据概览 Q3",
        "为什么罗盘首页经营概览的成交金额和比直播列表等模块的直播成交金额小?",
    ),
    Check(
        "R04",
        "sku_orders_vs_orders",
        DAILY_ASSET,
        "Compass orders of the day (one per SKU line)",
        "Order management orders of the day",
        (
            ("extra_lines_of_multi_sku_orders", "+ extra lines of orders with several SKUs"),
            ("orders_cancelled_by_end_of_d", "+ orders cancelled by the end of the day"),
            (
                "orders_fully_refunded_by_end_of_d",
                "+ orders fully refunded (and not cancelled) by the end of the day",
            ),
        ),
        "The compass counts every SKU line of an order as an order and keeps cancelled and "
        "refunded ones; order management counts each order once and leaves out those already "
        "cancelled or fully refunded.",
        "数据概览 Q4",
        "罗盘今日的订单数量大于订单管理的今日发货订单数量?",
        unit=COUNT_UNIT,
    ),
    Check(
        "R05",
        "big_screen_vs_live_list",
        LIVE_ASSET,
        "LIVE list final GMV (local buyers)",
        "LIVE dashboard final GMV (all buyers)",
        (
            (
                "local_gmv_paid_after_dashboard_close",
                "+ what local buyers paid between the dashboard's last refresh and the list's",
            ),
            (
                "foreign_gmv_until_dashboard_close",
                "− what buyers from other countries paid, which only the dashboard counts",
            ),
        ),
        "Both keep adding carts paid up to 30 days after the LIVE, then freeze. The dashboard "
        "refreshes once a day at 00:00 UTC, the list three times a day, so the list sees the "
        "last day's payments that the dashboard never does. The dashboard counts buyers of "
        "every country, the list only your shop's country.",
        "直播模块 Q1, Q10",
        "为什么直播大屏的成交金额与直播分析-直播列表中同一场直播的成交金额不相等?"
        " / 数据大屏上的成交金额与直播分析-直播列表中的同场直播成交金额不一致?",
    ),
    Check(
        "R06",
        "big_screen_vs_order_management",
        LIVE_ASSET,
        "LIVE dashboard final GMV of the LIVE",
        "Your shop's GMV paid while the LIVE was on the air, any channel",
        (
            (
                "live_gmv_paid_after_live_ended",
                "+ carts added in this LIVE and paid after it ended",
            ),
            (
                "other_channel_gmv_paid_during_live",
                "− what was paid during the LIVE through other channels (product card, videos, "
                "carts added in other LIVEs)",
            ),
        ),
        "The dashboard counts only the LIVE room's own sales, including carts paid after it "
        "ended; your orders placed during the LIVE also come from the product card, videos "
        "and carts added in earlier LIVEs.",
        "直播模块 Q4, Q6",
        "为什么直播大屏数据与订单管理不一致? / "
        "直播时有用户在购买,但是直播大屏和后台没有对应的下单数据?",
    ),
    Check(
        "R07",
        "product_refund_vs_gmv",
        DAILY_ASSET,
        "Product refund amount of the day",
        "Product GMV of the day",
        (
            ("refunds_of_lines_paid_before_d", "refunds this day of sales from earlier days"),
            ("refunds_of_lines_paid_on_d", "refunds this day of this day's sales"),
            ("gmv_of_d", "− this day's GMV"),
        ),
        "Refunds are counted on the day they succeed and sales on the day they are paid; the "
        "two are unrelated, so refunds of earlier sales can exceed a day's GMV.",
        "商品分析 Q1",
        "为什么商品分析里的退款金额会大于成交金额?",
        informational=True,
    ),
    Check(
        "R08",
        "commission_actual_vs_estimated",
        DAILY_ASSET,
        "Actual commission of the day (by settlement date)",
        "Estimated commission of the day (by paid date)",
        (
            (
                "settlements_on_d_of_lines_not_paid_on_d",
                "+ commission settled this day for sales of other days",
            ),
            (
                "estimates_of_lines_paid_on_d_not_settled_on_d",
                "− estimates for this day's sales not settled this day",
            ),
            (
                "settled_minus_estimated_paid_and_settled_on_d",
                "+ settled minus estimated, for sales paid and settled this day",
            ),
        ),
        "The estimate is counted on the day the order is paid; the actual commission on the "
        "day it is settled, often days later, and for a different amount.",
        "达人分析 Q1",
        "为什么商家的实际佣金支出和预估佣金支出不一致?",
    ),
    Check(
        "R09",
        "video_trends_vs_details",
        DAILY_ASSET,
        "Trends video count",
        "Video Details video count",
        (("affiliate_videos_with_zero_gmv", "+ affiliate videos with no sales"),),
        "Trends count every shoppable video, yours and affiliates'; Video Details leave out "
        "the affiliate videos that sold nothing.",
        "视频分析 Q1",
        "为什Trends中的视频数Video Details中的视频数量不一致?",
        unit=COUNT_UNIT,
    ),
    Check(
        "R10",
        "creator_view_vs_seller_view",
        LIVE_ASSET,
        "Creator view (Live Manager) GMV of the LIVE",
        "Seller view (Seller Center LIVE list) GMV for your shop",
        (
            ("other_shops_gmv", "+ GMV of other shops' products sold in the LIVE"),
            (
                "own_shop_region_difference",
                "+ your GMV from buyers of the LIVE's country − your GMV from buyers of your "
                "shop's country (0 when they are the same)",
            ),
        ),
        "The seller view counts only your shop's products; the creator's view counts every "
        "shop's products sold in the LIVE, and its buyers' country is the LIVE's.",
        "不同罗盘对比",
        "不同罗盘对比:商家罗盘(Seller Center)与达人罗盘(Live Manager)的"
        "直播大屏/直播详情-成交金额等指标",
    ),
    Check(
        "R11",
        "creator_analysis_vs_live_analysis",
        DAILY_ASSET,
        "Creator analysis GMV (every channel)",
        "Its LIVE part",
        (
            ("video_gmv", "+ creators' video GMV"),
            ("showcase_gmv", "+ creators' showcase GMV"),
        ),
        "Creator analysis covers everything your creators sold, LIVE, videos and showcase; "
        "LIVE analysis only the LIVEs.",
        "多模块数据对比 row 1",
        "直播分析-成交数据 vs 达人分析-成交数据:达人分析中的数据为单个达人在全渠道成交的数据,"
        "除直播外还包含商品橱窗、短视频等其他渠道。",
    ),
    Check(
        "R12",
        "core_vs_live_plus_video",
        DAILY_ASSET,
        "Core data GMV",
        "LIVE GMV + video GMV",
        (),
        "Core data counts every channel; besides LIVE and video, the product card: showcase, "
        "mall, campaign pages, recommendations, messages, search, and LIVE carts paid after "
        "the 30-day window.",
        "多模块数据对比 row 2, 数据概览 Q1",
        "核心数据-成交数据 vs 直播分析+短视频分析-成交数据:核心数据中的成交除了来源于直播间和视频,"
        "还可能来源于商品卡。",
        component_prefix="product_card_",
    ),
    Check(
        "R13",
        "online_5min_vs_in_room",
        LIVE_ASSET,
        "Dashboard online users, 5-minute point (sum of 5 minutes)",
        "In-room online at the bucket's end (the phone's counter)",
        (
            (
                "window_estimate",
                "+ the last minute's online users (anyone present during the minute) − the "
                "in-room count at its end",
            ),
            ("five_fold_sum", "+ the other minutes of the bucket, added on top"),
        ),
        "Each point of the dashboard's online trend adds up five one-minute values, and each "
        "minute counts everyone present at any moment of it; the phone shows who is in the "
        "room right now.",
        "多模块数据对比 row 3, 直播模块 Q12",
        "直播大屏-实时在线人数 vs 手机端直播间右上角-在线人数 / "
        "同一时刻的进出房事件加合为什么不等于在线人数?",
        informational=True,
        unit=COUNT_UNIT,
    ),
)

CHECKS_BY_ID = {check.check_id: check for check in CHECKS}
INFORMATIONAL = tuple(check.check_id for check in CHECKS if check.informational)


def checks_of(asset: str) -> tuple[Check, ...]:
    return tuple(check for check in CHECKS if check.asset == asset)


# Arrow schemas ---------------------------------------------------------------------------
def _values() -> list[tuple[str, pa.DataType]]:
    return [
        ("a_value", MONEY),
        ("b_value", MONEY),
        ("difference", MONEY),
        ("components", pa.list_(COMPONENT)),
        ("residual", MONEY),
    ]


def reconciliation_daily_schema() -> pa.Schema:
    return pa.schema(
        [
            ("check_id", TEXT),
            ("shop_id", TEXT),
            ("stat_date", DAY),
            *_values(),
            ("as_of", INSTANT),
            ("informational", FLAG),
        ]
    )


def reconciliation_live_schema() -> pa.Schema:
    return pa.schema(
        [
            ("check_id", TEXT),
            ("shop_id", TEXT),
            ("live_id", TEXT),
            ("snapshot_at", INSTANT),
            ("bucket_start", INSTANT),
            *_values(),
            ("informational", FLAG),
        ]
    )


def _faq(asset: str) -> str:
    return " / ".join(f"{c.id} {c.faq_ref}: {c.faq_question}" for c in checks_of(asset))


RECON_SPECS: tuple[OutputSpec, ...] = (
    OutputSpec(
        name=DAILY_ASSET,
        group="reconciliation",
        partitions=STAT_DATE,
        description=(
            "Reconciliations R01–R04, R07–R09, R11, R12 per check × shop × stat date: side A, "
            "side B, the named components of A − B and a residual that must be 0; answers "
            "指标含义解释 Q1, 数据概览 Q2–Q4, 商品分析 Q1, 达人分析 Q1, 视频分析 Q1, "
            "多模块数据对比."
        ),
        arrow_schema=reconciliation_daily_schema,
        key=("check_id", "shop_id", "stat_date"),
        faq=_faq(DAILY_ASSET),
        sort_by=("stat_date", "shop_id", "check_id"),
        deps=(
            "line_facts",
            "refund_facts",
            "order_facts",
            "settlement_facts",
            "video_facts",
            "shop_activity_facts",
            "live_facts",
            "live_shop_facts",
            "raw_shops",
        ),
    ),
    OutputSpec(
        name=LIVE_ASSET,
        group="reconciliation",
        partitions=LIVE_LIST,
        description=(
            "Reconciliations R05, R06, R10 per LIVE × shop at its final list refresh, and R13 "
            "per LIVE × 5-minute bucket × shop at the first list refresh after it ends: A, B, "
            "components, residual 0; answers 直播模块 Q1, Q4, Q6, Q10, Q12 and 不同罗盘对比."
        ),
        arrow_schema=reconciliation_live_schema,
        key=("check_id", "shop_id", "live_id", "snapshot_at", "bucket_start"),
        faq=_faq(LIVE_ASSET),
        sort_by=("snapshot_at", "live_id", "shop_id", "check_id", "bucket_start"),
        deps=(
            "line_facts",
            "refund_facts",
            "live_facts",
            "raw_shops",
            "raw_accounts",
            "raw_account_bindings",
            "raw_products",
            "raw_live_sessions",
            "raw_live_products",
            "raw_live_room_events",
        ),
    ),
)

RECON_BY_NAME = {spec.name: spec for spec in RECON_SPECS}


# Compute --------------------------------------------------------------------------------
def compute_reconciliation_daily(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    stat_dates: Sequence[date],
    settings: Settings,
    *,
    as_of: datetime,
) -> pa.Table:
    """``reconciliation_daily`` for every stat date given, in one query over the facts.

    ``con`` holds ``raw_shops`` and the facts (``line_facts``, ``refund_facts``,
    ``order_facts``, ``settlement_facts``, ``video_facts``, ``shop_activity_facts``,
    ``live_facts``, ``live_shop_facts``) under their names. ``as_of`` is the data watermark
    (``DataDir.raw_watermark()``): R01 and R03 are "as of now" and record it. ``settings`` is
    unused (the LIVE windows are already in ``line_facts``); it keeps the compute functions'
    shape.
    """
    del settings
    _expect(asset, DAILY_ASSET)
    if as_of is None:
        raise ValueError("reconciliation_daily needs as_of, the data watermark (R01, R03)")
    schema = reconciliation_daily_schema()
    dates = sorted(set(stat_dates))
    if not dates:
        return schema.empty_table()
    params = {
        "stat_dates": dates,
        "as_of": utc(as_of),
        "informational": list(INFORMATIONAL),
    }
    table = con.sql(load_sql(DAILY_ASSET), params=params).to_arrow_table()
    return conform(table, schema)


def compute_reconciliation_live(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    instants: Sequence[datetime],
    settings: Settings,
) -> pa.Table:
    """``reconciliation_live`` for every LIVE-list refresh given, in one pass.

    ``con`` holds the ``raw_<table>`` relations and the facts (``line_facts``,
    ``refund_facts``, ``live_facts``) under their names. Which shops show a LIVE comes from the
    LIVE list computed for the same refreshes, and R13's buckets from the dashboard's online
    trend (``compass_pipeline.live``), so neither rule is restated here.
    """
    from compass_pipeline import live

    _expect(asset, LIVE_ASSET)
    schema = reconciliation_live_schema()
    refreshes = refresh_instants(instants, dashboard=False)
    if not refreshes:
        return schema.empty_table()
    previous = [previous_list_refresh(settings, instant) for instant in refreshes]
    members = live.compute_live_list(con, "live_list_snapshot", refreshes, settings).select(
        ["snapshot_at", "shop_id", "live_id", "is_final"]
    )
    trend = live.compute_dashboard(
        con, "live_online_trend", trend_refreshes(previous[0], refreshes[-1]), settings
    )
    con.register(LIST_MEMBERS, members)
    con.register(ONLINE_TREND, trend)
    try:
        params = {
            "instants": refreshes,
            "previous_instants": previous,
            "informational": list(INFORMATIONAL),
        }
        table = con.sql(load_sql(LIVE_ASSET), params=params).to_arrow_table()
    finally:
        con.unregister(LIST_MEMBERS)
        con.unregister(ONLINE_TREND)
    return conform(table, schema)


def compute_reconciliation(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    values: Sequence[date] | Sequence[datetime],
    settings: Settings,
    *,
    as_of: datetime | None = None,
) -> pa.Table:
    """Either asset by name, for a caller that maps partitions generically."""
    if asset == DAILY_ASSET:
        return compute_reconciliation_daily(con, asset, values, settings, as_of=as_of)
    return compute_reconciliation_live(con, asset, values, settings)


def _expect(asset: str, expected: str) -> None:
    if asset != expected:
        raise KeyError(f"unknown reconciliation asset {asset!r}; expected {expected!r}")
