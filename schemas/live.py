"""Output schemas of the LIVE modules, and ``validate_live_output`` for the caller.

One pandera polars ``DataFrameModel`` per LIVE asset (outputs.md, "LIVE list" and "LIVE
dashboard"): strict columns and dtypes (money DECIMAL(18,2), UTC instants), a unique non-null
key, value ranges, and the row identities metrics.md guarantees in every row (e.g.
``gmv = gmv_during_live + gmv_after_live``, ``status = 'live'`` exactly when ``ended_at`` is
null, an online-user window estimate never below the in-room count). Every custom check is
named after its rule.

``validate_live_output(asset, table, instant)`` adds the check that every row lies inside its
partition (``snapshot_at`` is the refresh instant) and raises ``OutputValidationError`` with
the (truncated) failure cases; the shared pieces (row rules, partition check, how a schema is
run) are ``schemas.base``'s.
"""

from __future__ import annotations

from datetime import datetime

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow

from schemas.base import (
    INSTANT,
    MONEY,
    OutputModel,
    OutputValidationError,
    count_field,
    items_sold_at_least_sku_orders,
    money_field,
    no_lines_no_gmv,
    partition_schema,
    refund_amount_within_gmv,
    row_rule,
    validate_frame,
)

ACCOUNT_TYPES = ["official", "channel", "affiliate"]
ENTRY_REASONS = ["affiliate_account", "unbound", "bound_after_refresh", "not_bound"]

__all__ = ["LIVE_MODELS", "OutputValidationError", "validate_live_output"]


class RefreshBase(OutputModel):
    """Every LIVE asset carries its partition column: the refresh instant, data as of it."""

    snapshot_at: INSTANT = pa.Field(nullable=False)
    live_id: pl.Utf8 = pa.Field(nullable=False)


class ListRefreshBase(RefreshBase):
    """The LIVE-list columns both views share: the LIVE as it stood at the refresh."""

    started_at: INSTANT = pa.Field(nullable=False)
    ended_at: INSTANT = pa.Field(nullable=True)
    status: pl.Utf8 = pa.Field(isin=["live", "ended"])
    sku_orders: pl.Int64 = count_field()
    items_sold: pl.Int64 = count_field()
    is_final: pl.Boolean = pa.Field(nullable=False)

    _status_live_iff_no_end = row_rule(
        "status_live_iff_ended_at_null",
        "status is 'live' exactly when ended_at is null (on the air at the refresh)",
        lambda: (pl.col("status") == "live") == pl.col("ended_at").is_null(),
    )
    _ended_by_refresh = row_rule(
        "ended_at_within_refresh",
        "an ended LIVE ended after its start and at or before the refresh",
        lambda: (
            pl.col("ended_at").is_null()
            | (
                (pl.col("ended_at") > pl.col("started_at"))
                & (pl.col("ended_at") <= pl.col("snapshot_at"))
            )
        ),
    )
    _started_by_refresh = row_rule(
        "started_at_or_before_refresh",
        "a refresh shows only LIVEs started at or before it",
        lambda: pl.col("started_at") <= pl.col("snapshot_at"),
    )
    _final_is_ended = row_rule(
        "final_refresh_is_after_end",
        "the final refresh of a LIVE comes after it ended",
        lambda: ~pl.col("is_final") | pl.col("ended_at").is_not_null(),
    )
    _items = items_sold_at_least_sku_orders()


class LiveListSnapshot(ListRefreshBase):
    """LIVE list, seller view: FAQ 直播模块 Q1, Q3, Q9, Q10."""

    shop_id: pl.Utf8 = pa.Field(nullable=False)
    account_id: pl.Utf8 = pa.Field(nullable=False)
    account_type: pl.Utf8 = pa.Field(isin=ACCOUNT_TYPES)
    start_date: pl.Date = pa.Field(nullable=False)
    gmv: MONEY = money_field()
    gmv_during_live: MONEY = money_field()
    gmv_after_live: MONEY = money_field()
    refund_amount: MONEY = money_field()

    class Config:
        unique = ["snapshot_at", "shop_id", "live_id"]

    _split = row_rule(
        "gmv_is_during_plus_after_live",
        "gmv must equal gmv_during_live + gmv_after_live",
        lambda: pl.col("gmv") == pl.col("gmv_during_live") + pl.col("gmv_after_live"),
    )
    _nothing_after_while_live = row_rule(
        "no_gmv_after_live_while_live",
        "gmv_after_live is 0 while the LIVE is on the air",
        lambda: (pl.col("status") == "ended") | (pl.col("gmv_after_live") == 0),
    )
    _no_lines = no_lines_no_gmv()
    _refunds = refund_amount_within_gmv()


class CreatorLiveSnapshot(ListRefreshBase):
    """Live Manager, creator view: FAQ 不同罗盘对比."""

    account_id: pl.Utf8 = pa.Field(nullable=False)
    region: pl.Utf8 = pa.Field(nullable=False)
    gmv_all_shops: MONEY = money_field()
    gmv_own_shops: MONEY = money_field()
    shop_count: pl.Int64 = count_field()

    class Config:
        unique = ["snapshot_at", "live_id"]

    _own_within_all = row_rule(
        "gmv_all_shops_at_least_gmv_own_shops",
        "the host's own shops are some of the shops",
        lambda: pl.col("gmv_all_shops") >= pl.col("gmv_own_shops"),
    )
    _shops = row_rule(
        "shop_count_within_sku_orders",
        "a counted shop has at least one counted line, and lines have a shop",
        lambda: (
            (pl.col("shop_count") <= pl.col("sku_orders"))
            & ((pl.col("shop_count") == 0) == (pl.col("sku_orders") == 0))
        ),
    )
    _no_lines = no_lines_no_gmv("gmv_all_shops")


class BigScreenSnapshot(RefreshBase):
    """LIVE dashboard: FAQ 直播模块 Q1–Q3, Q5–Q8, Q10–Q12."""

    shop_id: pl.Utf8 = pa.Field(nullable=False)
    account_id: pl.Utf8 = pa.Field(nullable=False)
    account_type: pl.Utf8 = pa.Field(isin=ACCOUNT_TYPES)
    started_at: INSTANT = pa.Field(nullable=False)
    ended_at: INSTANT = pa.Field(nullable=False)
    entry_available: pl.Boolean = pa.Field(nullable=False)
    entry_unavailable_reason: pl.Utf8 = pa.Field(nullable=True, isin=ENTRY_REASONS)
    global_view: pl.Boolean = pa.Field(nullable=False)
    gmv: MONEY = money_field()
    gmv_local: MONEY = money_field()
    sku_orders: pl.Int64 = count_field()
    items_sold: pl.Int64 = count_field()
    views: pl.Int64 = count_field()
    viewers: pl.Int64 = count_field()
    product_impressions: pl.Int64 = count_field()
    peak_online_users: pl.Int64 = count_field()
    refund_amount: MONEY = money_field()
    is_final: pl.Boolean = pa.Field(nullable=False)

    class Config:
        unique = ["snapshot_at", "shop_id", "live_id"]

    _ended = row_rule(
        "ended_at_or_before_refresh",
        "the dashboard shows a LIVE only once it has ended, at or before the refresh",
        lambda: (
            (pl.col("ended_at") > pl.col("started_at"))
            & (pl.col("ended_at") <= pl.col("snapshot_at"))
        ),
    )
    _entry = row_rule(
        "entry_available_iff_no_reason",
        "a greyed entry carries its reason, an available one none",
        lambda: pl.col("entry_available") == pl.col("entry_unavailable_reason").is_null(),
    )
    _affiliate = row_rule(
        "affiliate_reason_iff_affiliate_host",
        "an affiliate host's entry is greyed for being an affiliate, and only theirs",
        lambda: (
            (pl.col("account_type") == "affiliate")
            == (pl.col("entry_unavailable_reason") == "affiliate_account").fill_null(False)
        ),
    )
    _local = row_rule(
        "gmv_at_least_gmv_local",
        "the dashboard's global GMV includes the local buyers' GMV",
        lambda: pl.col("gmv") >= pl.col("gmv_local"),
    )
    _views = row_rule(
        "views_at_least_viewers",
        "every viewer enters at least once",
        lambda: (
            (pl.col("views") >= pl.col("viewers"))
            & ((pl.col("views") == 0) == (pl.col("viewers") == 0))
        ),
    )
    _peak = row_rule(
        "peak_online_users_within_viewers",
        "the online users of a minute are some of the LIVE's viewers",
        lambda: pl.col("peak_online_users") <= pl.col("viewers"),
    )
    _items = items_sold_at_least_sku_orders()
    _no_lines = no_lines_no_gmv()
    _refunds = refund_amount_within_gmv()


class BigScreenTraffic(RefreshBase):
    """LIVE dashboard traffic by viewer country: FAQ 直播模块 Q3, Q7."""

    shop_id: pl.Utf8 = pa.Field(nullable=False)
    viewer_country: pl.Utf8 = pa.Field(nullable=False)
    views: pl.Int64 = pa.Field(ge=1)
    viewers: pl.Int64 = pa.Field(ge=1)

    class Config:
        unique = ["snapshot_at", "shop_id", "live_id", "viewer_country"]

    _views = row_rule(
        "views_at_least_viewers",
        "every viewer enters at least once",
        lambda: pl.col("views") >= pl.col("viewers"),
    )


class LiveOnlineTrend(RefreshBase):
    """LIVE dashboard online trend: FAQ 直播模块 Q12, Q13, 多模块数据对比 row 3."""

    bucket_start: INSTANT = pa.Field(nullable=False)
    minutes_in_live: pl.Int64 = pa.Field(in_range={"min_value": 1, "max_value": 5})
    online_users_5min_sum: pl.Int64 = count_field()
    in_room_online_at_bucket_end: pl.Int64 = count_field()
    net_entries: pl.Int64 = pa.Field(nullable=False)
    max_online_users_minute: pl.Int64 = count_field()
    online_users_last_minute: pl.Int64 = count_field()

    class Config:
        unique = ["live_id", "bucket_start"]

    _aligned = row_rule(
        "bucket_start_on_5_minute_clock",
        "5-minute buckets start at :00, :05, … UTC",
        lambda: pl.col("bucket_start").dt.epoch("s") % 300 == 0,
    )
    _before_refresh = row_rule(
        "bucket_before_refresh",
        "a LIVE's buckets start at or before the refresh that holds it (a LIVE may end at 00:00)",
        lambda: pl.col("bucket_start") <= pl.col("snapshot_at"),
    )
    _window_estimate = row_rule(
        "online_users_last_minute_at_least_in_room",
        "online_users(m) is never below the in-room count at the minute's end",
        lambda: pl.col("online_users_last_minute") >= pl.col("in_room_online_at_bucket_end"),
    )
    _max = row_rule(
        "max_online_users_minute_at_least_last_minute",
        "the bucket's largest minute is at least its last minute",
        lambda: pl.col("max_online_users_minute") >= pl.col("online_users_last_minute"),
    )
    _sum = row_rule(
        "five_minute_sum_between_max_and_minutes_times_max",
        "the bucket's sum lies between its largest minute and minutes_in_live × that",
        lambda: (
            (pl.col("online_users_5min_sum") >= pl.col("max_online_users_minute"))
            & (
                pl.col("online_users_5min_sum")
                <= pl.col("minutes_in_live") * pl.col("max_online_users_minute")
            )
        ),
    )
    _running = row_rule(
        "running_net_entries_is_in_room",
        "the running sum of net_entries over a LIVE's buckets is the in-room count",
        lambda: (
            pl.col("net_entries").cum_sum().over("live_id", order_by="bucket_start")
            == pl.col("in_room_online_at_bucket_end")
        ),
    )


LIVE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "live_list_snapshot": LiveListSnapshot,
    "creator_live_snapshot": CreatorLiveSnapshot,
    "big_screen_snapshot": BigScreenSnapshot,
    "big_screen_traffic": BigScreenTraffic,
    "live_online_trend": LiveOnlineTrend,
}


def validate_live_output(asset: str, table: pa_arrow.Table, instant: datetime | None) -> None:
    """Validate one partition of a LIVE asset before it is stored.

    ``instant`` is the partition's refresh instant (a naive value is read as UTC). Raises
    ``OutputValidationError`` listing every failing check by name, with the first
    ``MAX_FAILURE_CASES`` failure cases as a small Arrow table.
    """
    schema = partition_schema(LIVE_MODELS, asset, "snapshot_at", instant)
    validate_frame(asset, schema, table, instant)
