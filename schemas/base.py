"""What every output schema shares (STYLE.md rule 4): the column types, the base model, the
named row rules, the partition check and the one function that runs a schema.

``schemas.facts``, ``schemas.daily``, ``schemas.live`` and ``schemas.reconciliation`` define
one pandera polars ``DataFrameModel`` per asset on ``OutputModel`` (strict columns, no
coercion: a wrong type is a bug upstream, not something to cast away) and validate each
partition with ``partition_schema`` + ``validate_frame``. Frames are validated eagerly with
``lazy=True`` so every failure shows at once (on a LazyFrame pandera would only check the
schema); ``OutputValidationError`` carries the first ``MAX_FAILURE_CASES`` failure cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow
from pandera.api.polars.model_config import BaseConfig

from compass_pipeline.refresh_calendar import utc

MONEY = pl.Decimal(18, 2)
INSTANT = pl.Datetime("us", "UTC")
# failure cases shown with an error: enough to find the rows, small enough for check metadata
MAX_FAILURE_CASES = 20


class OutputValidationError(ValueError):
    """A partition broke its output schema; ``failure_cases`` holds the first cases."""

    def __init__(self, message: str, failure_cases: pa_arrow.Table):
        super().__init__(message)
        self.failure_cases = failure_cases


class OutputModel(pa.DataFrameModel):
    """The base of every output model: exactly the declared columns, in their own types."""

    class Config(BaseConfig):
        strict = True
        coerce = False


def row_rule(rule: str, reason: str, expr: Callable[[], pl.Expr]):
    """A dataframe check that must hold in every row, named after its rule."""

    @pa.dataframe_check(name=rule, error=f"{rule}: {reason}")
    def _check(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr().fill_null(False).alias(rule))

    return _check


# Row rules that hold in several outputs: each written once here, applied by those models.
def items_sold_at_least_sku_orders():
    return row_rule(
        "items_sold_at_least_sku_orders",
        "every line sells at least one item",
        lambda: pl.col("items_sold") >= pl.col("sku_orders"),
    )


def no_lines_no_gmv(gmv: str = "gmv"):
    return row_rule(
        "no_lines_no_gmv",
        f"a row without counted lines has {gmv} 0",
        lambda: (pl.col("sku_orders") > 0) | (pl.col(gmv) == 0),
    )


def refund_amount_within_gmv():
    return row_rule(
        "refund_amount_within_gmv",
        "a line's succeeded refunds never exceed its GMV",
        lambda: pl.col("refund_amount") <= pl.col("gmv"),
    )


def money_field(**kwargs):
    return pa.Field(ge=0, **kwargs)


def count_field(**kwargs):
    return pa.Field(ge=0, **kwargs)


def partition_schema(
    models: Mapping[str, type[pa.DataFrameModel]],
    asset: str,
    column: str,
    partition: date | datetime | None,
) -> pa.DataFrameSchema:
    """The asset's schema, plus the check that every row lies inside its partition: its
    ``column`` (a stat date or a refresh instant, a naive one read as UTC) is ``partition``.
    ``partition=None`` validates a whole table, or a range of partitions."""
    if asset not in models:
        raise KeyError(f"no output schema for {asset!r}; expected one of {sorted(models)}")
    schema = models[asset].to_schema()
    if partition is None:
        return schema
    if isinstance(partition, datetime):
        partition = utc(partition)
    inside = pa.Check(
        lambda data: data.lazyframe.select(pl.col(column) == partition),
        name="row_inside_partition",
        error=f"row_inside_partition: {column} must be the partition's {partition.isoformat()}",
    )
    return schema.update_column(column, checks=[inside])


def validate_frame(
    asset: str,
    schema: pa.DataFrameSchema,
    table: pa_arrow.Table,
    partition: object | None,
    name_cases: Callable[[pl.DataFrame, pl.DataFrame], pa_arrow.Table] | None = None,
) -> None:
    """Run a pandera schema on an eager polars frame (lazy=True: every failure at once).

    The one place every output schema is run from. ``name_cases(frame, cases)`` may turn
    pandera's failure cases into the table shown to the user; by default the first
    ``MAX_FAILURE_CASES`` cases as they are.
    """
    frame = pl.from_arrow(table)
    if isinstance(frame, pl.Series):
        frame = frame.to_frame()
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = (
            cases.group_by("check", maintain_order=True)
            .len()
            .select(pl.format("{} ({} case(s))", "check", "len"))
            .to_series()
            .to_list()
        )
        shown_value = partition.isoformat() if hasattr(partition, "isoformat") else partition
        where = f"partition {shown_value}" if partition is not None else "table"
        message = (
            f"{asset} {where} failed validation ({cases.height} failure case(s)): "
            + "; ".join(summary)
        )
        if name_cases is not None:
            shown = name_cases(frame, cases)
        else:
            shown = (
                cases.head(MAX_FAILURE_CASES)
                .with_columns(pl.col("failure_case").cast(pl.Utf8, strict=False))
                .to_arrow()
            )
        raise OutputValidationError(message, shown) from None
