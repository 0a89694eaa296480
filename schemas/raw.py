"""The raw input contract (raw-contract.md) as pandera polars models: the executable contract.

One `DataFrameModel` per raw table gives its columns with their polars dtypes, which of them
may be null, the value rules (enumerations, code formats, ranges) and the row rules that
involve several columns of one row. Every check is named `"<column(s)>:<rule id>"` and
carries `error="<rule id>: <reason>"`, so a failure maps back to the column and the rule it
breaks. The table facts (key, whether it is versioned by `updated_at`) live in each model's
`Config.metadata`; `raw_table_info` reads them, and the ingestion takes every column list
and type from here.

Uniqueness of the key is not a pandera check here: a raw snapshot legitimately repeats a key
(versions of a mutable row, exact duplicates), so the ingestion enforces it while versioning.
Cross-table rules (references, time orders, refunds within GMV) are DuckDB SQL in
`compass_pipeline.ingest.rules`.

Models are validated on eager polars frames: on a LazyFrame pandera checks only the schema.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow
from pandera.api.polars.model_config import BaseConfig

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
MONEY = pl.Decimal(18, 2)
RATE = pl.Decimal(6, 4)

ACCOUNT_TYPES = ("official", "channel", "affiliate")
BINDING_TYPES = ("official_integrated", "channel")
SOURCE_TYPES = (
    "live",
    "video",
    "cart",
    "showcase",
    "mall",
    "campaign_page",
    "campaign_channel",
    "recommendation",
    "im_message",
    "search",
    "other",
)
CART_ADD_SOURCE_TYPES = tuple(s for s in SOURCE_TYPES if s != "cart")
# Source types whose source_id names a place; every other type has a null source_id.
SOURCE_TYPES_WITH_ID = ("live", "video", "cart", "showcase")
REFUND_STATUSES = ("pending", "succeeded", "rejected", "withdrawn")
EVENT_TYPES = ("enter", "leave")
SURFACES = ("product_card", "shopping_bag", "pinned")


# Column checks ---------------------------------------------------------------------------
# Nulls pass every value check: whether a column may be null is the `nullable` rule.


def _column_check(column: str, rule: str, reason: str, expr: Callable[[pl.Expr], pl.Expr]):
    @pa.check(column, name=f"{column}:{rule}", error=f"{rule}: {reason}")
    def _check(cls, data):
        return data.lazyframe.select(expr(pl.col(data.key)))

    return _check


def _enum(column: str, values: Iterable[str]):
    values = tuple(values)
    return _column_check(
        column, "enum", f"{column} must be one of {', '.join(values)}", lambda c: c.is_in(values)
    )


def _country(column: str):
    return _column_check(
        column,
        "country_code",
        f"{column} must be an ISO-3166 alpha-2 code such as US",
        lambda c: c.str.contains(r"^[A-Z]{2}$"),
    )


def _currency(column: str):
    return _column_check(
        column,
        "currency_code",
        f"{column} must be an ISO-4217 code such as USD",
        lambda c: c.str.contains(r"^[A-Z]{3}$"),
    )


def _timezone(column: str):
    zones = sorted(zoneinfo.available_timezones())
    return _column_check(
        column, "timezone", f"{column} must be an IANA time zone name", lambda c: c.is_in(zones)
    )


def _positive(column: str):
    return _column_check(column, "positive", f"{column} must be > 0", lambda c: c > 0)


def _non_negative(column: str):
    return _column_check(column, "non_negative", f"{column} must be >= 0", lambda c: c >= 0)


def _rate_range(column: str):
    return _column_check(
        column, "rate_range", f"{column} must be within [0, 1]", lambda c: c.is_between(0, 1)
    )


def _source_id_presence(types_with_id: Iterable[str]):
    """source_id names a LIVE, video, cart add or account for those types, else is null."""
    types = tuple(types_with_id)

    @pa.dataframe_check(
        name="source_type,source_id:source_id_presence",
        error=(
            "source_id_presence: source_id is required for source_type "
            f"{', '.join(types)} and must be empty for every other source type"
        ),
    )
    def _check(cls, data):
        needs_id = pl.col("source_type").is_in(types)
        return data.lazyframe.select(needs_id == pl.col("source_id").is_not_null())

    return _check


# Models ----------------------------------------------------------------------------------


class RawTable(pa.DataFrameModel):
    """Shared settings: the contract's columns and no other (extra input columns are dropped
    with a warning before validation), dtypes exact, never coerced."""

    class Config(BaseConfig):
        strict = True
        coerce = False


class Shops(RawTable):
    shop_id: pl.Utf8
    shop_name: pl.Utf8
    region: pl.Utf8
    currency: pl.Utf8
    timezone: pl.Utf8

    _region = _country("region")
    _currency = _currency("currency")
    _timezone = _timezone("timezone")

    class Config:
        metadata = {"key": ("shop_id",)}


class Accounts(RawTable):
    account_id: pl.Utf8
    handle: pl.Utf8
    account_type: pl.Utf8
    region: pl.Utf8

    _account_type = _enum("account_type", ACCOUNT_TYPES)
    _region = _country("region")

    class Config:
        metadata = {"key": ("account_id",)}


class AccountBindings(RawTable):
    shop_id: pl.Utf8
    account_id: pl.Utf8
    binding_type: pl.Utf8
    bound_at: UTC_TIMESTAMP
    unbound_at: UTC_TIMESTAMP = pa.Field(nullable=True)
    updated_at: UTC_TIMESTAMP

    _binding_type = _enum("binding_type", BINDING_TYPES)

    class Config:
        metadata = {"key": ("shop_id", "account_id"), "mutable": True}


class Products(RawTable):
    product_id: pl.Utf8
    shop_id: pl.Utf8
    title: pl.Utf8
    category: pl.Utf8
    globally_sellable: pl.Boolean

    class Config:
        metadata = {"key": ("product_id",)}


class Skus(RawTable):
    sku_id: pl.Utf8
    product_id: pl.Utf8
    unit_price: MONEY

    _unit_price = _positive("unit_price")

    class Config:
        metadata = {"key": ("sku_id",)}


class LiveSessions(RawTable):
    live_id: pl.Utf8
    account_id: pl.Utf8
    region: pl.Utf8
    title: pl.Utf8
    started_at: UTC_TIMESTAMP
    ended_at: UTC_TIMESTAMP = pa.Field(nullable=True)

    _region = _country("region")

    class Config:
        # A LIVE on the air (`ended_at` empty) is re-delivered once it ends: the versions of
        # a LIVE are ordered by `ended_at`, the empty one first (raw-contract.md, first
        # section: "a LIVE's `ended_at` ... arrives as a new version in a later file").
        metadata = {"key": ("live_id",), "mutable": True, "version": "ended_at"}

    @pa.dataframe_check(
        name="ended_at,started_at:ended_before_started",
        error="ended_before_started: ended_at must be after started_at (or empty while live)",
    )
    def _ended_after_started(cls, data):
        return data.lazyframe.select(pl.col("ended_at") > pl.col("started_at"))


class LiveProducts(RawTable):
    live_id: pl.Utf8
    product_id: pl.Utf8

    class Config:
        metadata = {"key": ("live_id", "product_id")}


class Videos(RawTable):
    video_id: pl.Utf8
    account_id: pl.Utf8
    published_at: UTC_TIMESTAMP
    is_shoppable: pl.Boolean

    class Config:
        metadata = {"key": ("video_id",)}


class VideoProducts(RawTable):
    video_id: pl.Utf8
    product_id: pl.Utf8

    class Config:
        metadata = {"key": ("video_id", "product_id")}


class Orders(RawTable):
    order_id: pl.Utf8
    shop_id: pl.Utf8
    buyer_id: pl.Utf8
    buyer_country: pl.Utf8
    created_at: UTC_TIMESTAMP
    paid_at: UTC_TIMESTAMP = pa.Field(nullable=True)
    shipping_fee: MONEY
    cancelled_at: UTC_TIMESTAMP = pa.Field(nullable=True)
    updated_at: UTC_TIMESTAMP

    _buyer_country = _country("buyer_country")
    _shipping_fee = _non_negative("shipping_fee")

    class Config:
        metadata = {"key": ("order_id",), "mutable": True}

    @pa.dataframe_check(
        name="paid_at,created_at:paid_before_created",
        error="paid_before_created: paid_at must be >= created_at",
    )
    def _paid_after_created(cls, data):
        return data.lazyframe.select(pl.col("paid_at") >= pl.col("created_at"))


class OrderLines(RawTable):
    line_id: pl.Utf8
    order_id: pl.Utf8
    sku_id: pl.Utf8
    product_id: pl.Utf8
    quantity: pl.Int64
    unit_price: MONEY
    seller_discount: MONEY
    platform_discount: MONEY
    source_type: pl.Utf8
    source_id: pl.Utf8 = pa.Field(nullable=True)
    commission_rate: RATE = pa.Field(nullable=True)

    _quantity = _positive("quantity")
    _seller_discount = _non_negative("seller_discount")
    _platform_discount = _non_negative("platform_discount")
    _source_type = _enum("source_type", SOURCE_TYPES)
    _commission_rate = _rate_range("commission_rate")
    _source_id = _source_id_presence(SOURCE_TYPES_WITH_ID)

    class Config:
        metadata = {"key": ("line_id",)}

    @pa.dataframe_check(
        name="quantity,unit_price,seller_discount,platform_discount:merchandise_negative",
        error=(
            "merchandise_negative: quantity x unit_price - seller_discount - platform_discount "
            "must be >= 0"
        ),
    )
    def _merchandise_not_negative(cls, data):
        merchandise = (
            pl.col("quantity") * pl.col("unit_price")
            - pl.col("seller_discount")
            - pl.col("platform_discount")
        )
        return data.lazyframe.select(merchandise >= 0)


class CartAdds(RawTable):
    cart_add_id: pl.Utf8
    buyer_id: pl.Utf8
    sku_id: pl.Utf8
    product_id: pl.Utf8
    added_at: UTC_TIMESTAMP
    source_type: pl.Utf8
    source_id: pl.Utf8 = pa.Field(nullable=True)

    _source_type = _enum("source_type", CART_ADD_SOURCE_TYPES)
    _source_id = _source_id_presence(tuple(s for s in SOURCE_TYPES_WITH_ID if s != "cart"))

    class Config:
        metadata = {"key": ("cart_add_id",)}


class Refunds(RawTable):
    refund_id: pl.Utf8
    line_id: pl.Utf8
    requested_at: UTC_TIMESTAMP
    status: pl.Utf8
    succeeded_at: UTC_TIMESTAMP = pa.Field(nullable=True)
    amount: MONEY
    updated_at: UTC_TIMESTAMP

    _status = _enum("status", REFUND_STATUSES)
    _amount = _positive("amount")

    class Config:
        metadata = {"key": ("refund_id",), "mutable": True}

    @pa.dataframe_check(
        name="status,succeeded_at:succeeded_at_status",
        error="succeeded_at_status: succeeded_at is required iff status = succeeded",
    )
    def _succeeded_at_iff_succeeded(cls, data):
        return data.lazyframe.select(
            (pl.col("status") == "succeeded") == pl.col("succeeded_at").is_not_null()
        )

    @pa.dataframe_check(
        name="succeeded_at,requested_at:succeeded_before_requested",
        error="succeeded_before_requested: succeeded_at must be >= requested_at",
    )
    def _succeeded_after_requested(cls, data):
        return data.lazyframe.select(pl.col("succeeded_at") >= pl.col("requested_at"))


class CommissionSettlements(RawTable):
    settlement_id: pl.Utf8
    line_id: pl.Utf8
    account_id: pl.Utf8
    settled_at: UTC_TIMESTAMP
    amount: MONEY

    _amount = _non_negative("amount")

    class Config:
        metadata = {"key": ("settlement_id",)}


class LiveRoomEvents(RawTable):
    event_id: pl.Utf8
    live_id: pl.Utf8
    viewer_id: pl.Utf8
    event_type: pl.Utf8
    occurred_at: UTC_TIMESTAMP
    viewer_country: pl.Utf8

    _event_type = _enum("event_type", EVENT_TYPES)
    _viewer_country = _country("viewer_country")

    class Config:
        metadata = {"key": ("event_id",)}


class ProductImpressions(RawTable):
    impression_id: pl.Utf8
    live_id: pl.Utf8
    viewer_id: pl.Utf8
    product_id: pl.Utf8
    surface: pl.Utf8
    occurred_at: UTC_TIMESTAMP

    _surface = _enum("surface", SURFACES)

    class Config:
        metadata = {"key": ("impression_id",)}


# Contract order: parents before the tables that reference them.
RAW_MODELS: dict[str, type[RawTable]] = {
    "shops": Shops,
    "accounts": Accounts,
    "account_bindings": AccountBindings,
    "products": Products,
    "skus": Skus,
    "live_sessions": LiveSessions,
    "live_products": LiveProducts,
    "videos": Videos,
    "video_products": VideoProducts,
    "orders": Orders,
    "order_lines": OrderLines,
    "cart_adds": CartAdds,
    "refunds": Refunds,
    "commission_settlements": CommissionSettlements,
    "live_room_events": LiveRoomEvents,
    "product_impressions": ProductImpressions,
}
RAW_TABLES: tuple[str, ...] = tuple(RAW_MODELS)

# The semantic kind of a column, from its dtype: it decides how raw text is parsed.
STRING, TIMESTAMP, MONEY_KIND, RATE_KIND, INTEGER, BOOLEAN = (
    "string",
    "timestamp",
    "money",
    "rate",
    "integer",
    "boolean",
)


@dataclass(frozen=True)
class RawTableInfo:
    """The facts of one raw table that the ingestion and the catalog need."""

    name: str
    model: type[RawTable]
    columns: tuple[str, ...]
    kinds: dict[str, str]  # column -> string | timestamp | money | rate | integer | boolean
    nullable: frozenset[str]
    key: tuple[str, ...]
    mutable: bool  # several versions per key; the greatest version wins
    version: str | None = None  # the version column of a mutable table

    @property
    def version_column(self) -> str | None:
        """`updated_at`, or the table's own version column (`live_sessions.ended_at`, where
        an empty value is the oldest version)."""
        return (self.version or "updated_at") if self.mutable else None

    @property
    def timestamp_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if self.kinds[c] == TIMESTAMP)


def _kind(dtype: pl.DataType) -> str:
    if dtype == MONEY:
        return MONEY_KIND
    if dtype == RATE:
        return RATE_KIND
    if isinstance(dtype, pl.Datetime):
        return TIMESTAMP
    if dtype == pl.Int64:
        return INTEGER
    if dtype == pl.Boolean:
        return BOOLEAN
    if dtype == pl.Utf8:
        return STRING
    raise TypeError(f"no raw-contract kind for dtype {dtype}")


@cache
def raw_table_info(table: str) -> RawTableInfo:
    """Key, versioning and column kinds of a raw table, read from its model."""
    try:
        model = RAW_MODELS[table]
    except KeyError:
        raise KeyError(f"unknown raw table {table!r}; expected one of {RAW_TABLES}") from None
    schema = model.to_schema()
    meta = model.__config__.metadata or {}
    columns = tuple(schema.columns)
    return RawTableInfo(
        name=table,
        model=model,
        columns=columns,
        kinds={c: _kind(schema.columns[c].dtype.type) for c in columns},
        nullable=frozenset(c for c in columns if schema.columns[c].nullable),
        key=tuple(meta["key"]),
        mutable=bool(meta.get("mutable", False)),
        version=meta.get("version"),
    )


def raw_polars_schema(table: str) -> pl.Schema:
    """The polars dtypes of a raw table, in contract column order."""
    return raw_table_info(table).model.empty().schema


@cache
def raw_arrow_schema(table: str) -> pa_arrow.Schema:
    """The Arrow schema of a normalized raw table (strings as plain `string`)."""
    schema = raw_table_info(table).model.empty().to_arrow().schema
    return pa_arrow.schema(
        [
            pa_arrow.field(f.name, pa_arrow.string() if _is_string(f.type) else f.type)
            for f in schema
        ]
    )


def _is_string(arrow_type: pa_arrow.DataType) -> bool:
    return (
        pa_arrow.types.is_string(arrow_type)
        or pa_arrow.types.is_large_string(arrow_type)
        or pa_arrow.types.is_string_view(arrow_type)
    )
