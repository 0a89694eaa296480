"""Output schemas of the reconciliations (reconciliations.md), and ``validate_reconciliation``.

One pandera polars ``DataFrameModel`` per asset, sharing a base for the value columns: strict
columns and dtypes (values DECIMAL(18,2), ``components`` a list of ``{name, value}``), a
unique non-null key, the check ids and component names of ``compass_pipeline.reconcile.CHECKS``,
and the identities every row must satisfy:

* ``difference = a_value − b_value``;
* ``residual = difference − Σ components.value`` (recomputed here, not trusted);
* **``residual = 0``** — the blocking rule: a non-zero residual means a side or a component
  is wrong (a bug or bad data), and the partition is not stored.

``validate_reconciliation(asset, table, partition_value)`` adds the check that every row lies
in its partition and raises ``schemas.base.OutputValidationError``; its failure cases name
the offending rows (check, check_id, shop and the date or the LIVE, residual), so the run
fails with the rows that don't add up. Frames are validated eagerly with ``lazy=True``.
"""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow

from compass_pipeline.reconcile import (
    CHECKS,
    COUNT_UNIT,
    DAILY_ASSET,
    INFORMATIONAL,
    LIVE_ASSET,
    checks_of,
)
from schemas.base import (
    INSTANT,
    MAX_FAILURE_CASES,
    MONEY,
    OutputModel,
    OutputValidationError,
    partition_schema,
    row_rule,
    validate_frame,
)

COMPONENTS = pl.List(pl.Struct({"name": pl.Utf8, "value": MONEY}))
AS_OF_CHECKS = ("R01_gmv_vs_settled", "R03_home_vs_live_list")
BUCKET_CHECKS = ("R13_online_5min_vs_in_room",)
COUNT_CHECKS = tuple(check.check_id for check in CHECKS if check.unit == COUNT_UNIT)
DAILY_KEY = ("check_id", "shop_id", "stat_date")
LIVE_KEY = ("check_id", "shop_id", "live_id", "snapshot_at", "bucket_start")

__all__ = [
    "RECONCILIATION_MODELS",
    "OutputValidationError",
    "ReconciliationDaily",
    "ReconciliationLive",
    "validate_reconciliation",
]


def components_sum() -> pl.Expr:
    """Σ components.value of each row (0 for an empty list)."""
    total = pl.col("components").list.eval(pl.element().struct.field("value")).list.sum()
    return total.fill_null(0).cast(MONEY)


def component_names_match_check() -> pl.Expr:
    """The components are the check's own, in its order (R12: one per product-card detail)."""
    names = pl.col("components").list.eval(pl.element().struct.field("name"))
    expr = pl.lit(False)
    for check in CHECKS:
        if check.component_prefix:
            ok = names.list.eval(pl.element().str.starts_with(check.component_prefix)).list.all()
        else:
            ok = names.list.join(",") == ",".join(name for name, _ in check.components)
        expr = pl.when(pl.col("check_id") == check.check_id).then(ok).otherwise(expr)
    return expr


def whole(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Int64, strict=False).cast(MONEY) == pl.col(column)


def count_values_are_whole() -> pl.Expr:
    """Count checks store integers as decimals: no cents anywhere in the row."""
    components = (
        pl.col("components")
        .list.eval(
            pl.element().struct.field("value").cast(pl.Int64, strict=False).cast(MONEY)
            == pl.element().struct.field("value")
        )
        .list.all()
    )
    return ~pl.col("check_id").is_in(COUNT_CHECKS) | (
        whole("a_value") & whole("b_value") & components
    )


class ReconciliationBase(OutputModel):
    """The columns of every reconciliation row: the check, the shop, A, B and their gap."""

    check_id: pl.Utf8 = pa.Field(nullable=False)
    shop_id: pl.Utf8 = pa.Field(nullable=False)
    a_value: MONEY = pa.Field(nullable=False)
    b_value: MONEY = pa.Field(nullable=False)
    difference: MONEY = pa.Field(nullable=False)
    components: COMPONENTS = pa.Field(nullable=False)
    residual: MONEY = pa.Field(nullable=False)
    informational: pl.Boolean = pa.Field(nullable=False)

    _difference = row_rule(
        "difference_is_a_minus_b",
        "difference must equal a_value - b_value",
        lambda: pl.col("difference") == pl.col("a_value") - pl.col("b_value"),
    )
    _residual_identity = row_rule(
        "residual_is_difference_minus_components",
        "residual must equal difference - the sum of the components' values",
        lambda: pl.col("residual") == pl.col("difference") - components_sum(),
    )
    _residual_zero = row_rule(
        "residual_is_zero",
        "A - B must equal the sum of the named components exactly (a bug or bad data)",
        lambda: pl.col("residual") == 0,
    )
    _component_names = row_rule(
        "components_are_the_checks_own",
        "the components must be the check's, by name and in order, with a value each",
        lambda: (
            component_names_match_check()
            & pl.col("components")
            .list.eval(pl.element().struct.field("value").is_not_null())
            .list.all()
        ),
    )
    _informational = row_rule(
        "informational_matches_check",
        "informational must be true exactly for the checks that explain rather than flag",
        lambda: pl.col("informational") == pl.col("check_id").is_in(INFORMATIONAL),
    )
    _counts = row_rule(
        "count_values_are_whole",
        "the values of a count check are whole numbers",
        count_values_are_whole,
    )


class ReconciliationDaily(ReconciliationBase):
    """R01–R04, R07–R09, R11, R12 per check × shop × stat date."""

    check_id: pl.Utf8 = pa.Field(
        nullable=False, isin=[check.check_id for check in checks_of(DAILY_ASSET)]
    )
    stat_date: pl.Date = pa.Field(nullable=False)
    as_of: INSTANT = pa.Field(nullable=True)

    class Config:
        unique = list(DAILY_KEY)

    _as_of = row_rule(
        "as_of_iff_as_of_check",
        "R01 and R03 record the data watermark they are computed as of; no other check does",
        lambda: pl.col("as_of").is_not_null() == pl.col("check_id").is_in(AS_OF_CHECKS),
    )


class ReconciliationLive(ReconciliationBase):
    """R05, R06, R10 per LIVE × shop at its final list refresh; R13 per 5-minute bucket."""

    check_id: pl.Utf8 = pa.Field(
        nullable=False, isin=[check.check_id for check in checks_of(LIVE_ASSET)]
    )
    live_id: pl.Utf8 = pa.Field(nullable=False)
    snapshot_at: INSTANT = pa.Field(nullable=False)
    bucket_start: INSTANT = pa.Field(nullable=True)

    class Config:
        unique = list(LIVE_KEY)

    _bucket = row_rule(
        "bucket_start_iff_r13",
        "R13 rows carry their 5-minute bucket, on the UTC clock, at or before the refresh (a "
        "LIVE ending exactly at the refresh has its last minute there); no other row has one",
        lambda: (
            pl.when(pl.col("check_id").is_in(BUCKET_CHECKS))
            .then(
                (pl.col("bucket_start").dt.epoch("s") % 300 == 0)
                & (pl.col("bucket_start") <= pl.col("snapshot_at"))
            )
            .otherwise(pl.col("bucket_start").is_null())
        ),
    )


RECONCILIATION_MODELS: dict[str, type[pa.DataFrameModel]] = {
    DAILY_ASSET: ReconciliationDaily,
    LIVE_ASSET: ReconciliationLive,
}
_PARTITION_COLUMN = {DAILY_ASSET: "stat_date", LIVE_ASSET: "snapshot_at"}
_ROW_NAMES = {
    DAILY_ASSET: ("check_id", "shop_id", "stat_date", "residual"),
    LIVE_ASSET: ("check_id", "shop_id", "live_id", "snapshot_at", "bucket_start", "residual"),
}


def validate_reconciliation(
    asset: str, table: pa_arrow.Table, partition_value: date | datetime | None
) -> None:
    """Validate one partition of a reconciliation asset before it is stored.

    ``partition_value`` is the stat date (``reconciliation_daily``) or the refresh instant
    (``reconciliation_live``; a naive value is read as UTC), or None for a whole table.
    Raises ``OutputValidationError`` listing every failing check by name; its
    ``failure_cases`` (the first ``MAX_FAILURE_CASES``) give, per case, the check, the row
    index and the row's check_id, shop, date or LIVE (and bucket) and residual.
    """
    validate_frame(
        asset,
        partition_schema(
            RECONCILIATION_MODELS, asset, _PARTITION_COLUMN.get(asset, ""), partition_value
        ),
        table,
        partition_value,
        lambda frame, cases: _named_cases(asset, frame, cases),
    )


def _named_cases(asset: str, frame: pl.DataFrame, cases: pl.DataFrame) -> pa_arrow.Table:
    """The failure cases with the offending rows' keys and residual beside them; the
    residual rule's cases first, since they are the ones that fail the books."""
    present = [name for name in _ROW_NAMES[asset] if name in frame.columns]
    rows = (
        frame.select(present).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    )
    named = (
        cases.with_columns(
            pl.col("index").cast(pl.Int64),
            pl.col("failure_case").cast(pl.Utf8, strict=False),
            pl.col("check").str.starts_with("residual_is_zero").alias("_residual_rule"),
        )
        .join(rows, on="index", how="left")
        .sort("_residual_rule", descending=True, maintain_order=True)
        .drop("_residual_rule")
        .head(MAX_FAILURE_CASES)
    )
    return named.select(
        "check", "column", "index", *present, "failure_case", "schema_context"
    ).to_arrow()
