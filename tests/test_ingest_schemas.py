"""The raw pandera models (`schemas.raw`): the executable contract, checked directly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandera.errors
import polars as pl
import pyarrow as pa
import pytest

from schemas.raw import (
    RAW_MODELS,
    RAW_TABLES,
    OrderLines,
    Refunds,
    raw_arrow_schema,
    raw_polars_schema,
    raw_table_info,
)


def _lines(**overrides) -> pl.DataFrame:
    row = dict(
        line_id="L1", order_id="O1", sku_id="K1", product_id="P1", quantity=2,
        unit_price=Decimal("10.00"), seller_discount=Decimal("1.00"),
        platform_discount=Decimal("0.50"), source_type="mall", source_id=None,
        commission_rate=None,
    )  # fmt: skip
    row.update(overrides)
    return pl.DataFrame([row], schema=raw_polars_schema("order_lines"))


def test_sixteen_tables_in_contract_order():
    assert len(RAW_TABLES) == 16
    assert RAW_TABLES[:2] == ("shops", "accounts")
    assert set(RAW_MODELS) == set(RAW_TABLES)


@pytest.mark.parametrize("table", RAW_TABLES)
def test_arrow_schema_types(table):
    schema = raw_arrow_schema(table)
    kinds = raw_table_info(table).kinds
    expected = {
        "string": pa.string(),
        "timestamp": pa.timestamp("us", "UTC"),
        "money": pa.decimal128(18, 2),
        "rate": pa.decimal128(6, 4),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
    }
    assert schema.names == list(raw_table_info(table).columns)
    assert [f.type for f in schema] == [expected[kinds[c]] for c in schema.names]


def test_table_facts():
    orders = raw_table_info("orders")
    assert orders.key == ("order_id",) and orders.mutable
    assert orders.version_column == "updated_at"
    assert raw_table_info("account_bindings").key == ("shop_id", "account_id")
    assert not raw_table_info("order_lines").mutable
    assert raw_table_info("refunds").nullable == {"succeeded_at"}
    for table in RAW_TABLES:
        info = raw_table_info(table)
        assert set(info.key) <= set(info.columns)


def test_valid_frame_passes():
    OrderLines.validate(_lines(), lazy=True)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (dict(quantity=0), "positive"),
        (dict(source_type="tv"), "enum"),
        (dict(commission_rate=Decimal("1.5")), "rate_range"),
        (dict(platform_discount=Decimal("25.00")), "merchandise_negative"),
        (dict(source_type="live"), "source_id_presence"),
        (dict(line_id=None), "not_nullable"),
    ],
)
def test_data_checks_fire_on_eager_frames(overrides, error):
    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        OrderLines.validate(_lines(**overrides), lazy=True)
    checks = caught.value.failure_cases["check"].to_list()
    assert any(c.startswith(error) for c in checks), checks


def test_row_rule_on_two_timestamps():
    frame = pl.DataFrame(
        [
            dict(
                refund_id="R1", line_id="L1", requested_at=datetime(2026, 3, 2, tzinfo=UTC),
                status="pending", succeeded_at=datetime(2026, 3, 3, tzinfo=UTC),
                amount=Decimal("1.00"), updated_at=datetime(2026, 3, 3, tzinfo=UTC),
            )
        ],
        schema=raw_polars_schema("refunds"),
    )  # fmt: skip
    with pytest.raises(pandera.errors.SchemaErrors, match="succeeded_at_status"):
        Refunds.validate(frame, lazy=True)


def test_decimal_scale_is_part_of_the_type():
    frame = _lines().with_columns(pl.col("unit_price").cast(pl.Decimal(18, 3)))
    with pytest.raises(pandera.errors.SchemaErrors, match="dtype"):
        OrderLines.validate(frame, lazy=True)


def test_extra_columns_are_not_part_of_the_model():
    with pytest.raises(pandera.errors.SchemaErrors, match="column_in_schema"):
        OrderLines.validate(_lines().with_columns(note=pl.lit("x")), lazy=True)
