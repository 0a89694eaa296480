"""The reconciliation schemas fail a partition that does not add up, and name its rows.

A broken fact (one line's GMV off by a cent) or bad raw data (a refund that succeeds the day
before it is requested) leaves a non-zero residual: validation fails on ``residual_is_zero``
and the failure cases carry the row's check_id, shop, date and residual. Every other rule of
the schema is shown to fire on a row tampered to break it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest
from daily_scenarios import facts_connection
from recon_scenarios import Raw, daily_rows, l1_world, live_rows, pick, ts

from compass_pipeline.config import Settings
from compass_pipeline.reconcile import (
    DAILY_ASSET,
    LIVE_ASSET,
    compute_reconciliation_daily,
    reconciliation_daily_schema,
    reconciliation_live_schema,
)
from schemas.daily import OutputValidationError
from schemas.reconciliation import validate_reconciliation

D2 = date(2026, 3, 2)
AS_OF = "2026-03-10T00:00Z"


def two_orders() -> Raw:
    raw = Raw()
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.product("P1", "S1", unit_price="10.00")
    raw.order("O1", "2026-03-02T15:00Z", [{"product_id": "P1"}], shipping_fee="2.00")
    raw.order("O2", "2026-03-02T16:00Z", [{"product_id": "P1"}], cancelled_at="2026-03-03T09:00Z")
    return raw


def failure_rows(exc: OutputValidationError, rule: str) -> list[dict]:
    return [case for case in exc.failure_cases.to_pylist() if case["check"].startswith(rule)]


def test_a_line_gmv_off_by_a_cent_fails_validation_and_names_the_row():
    """The settled side of R01 adds up what the buyer paid from its parts (merchandise and
    shipping), so a GMV that is not what the buyer paid (FAQ 指标含义解释 Q1) shows."""
    settings = Settings()
    con, facts = facts_connection(two_orders().tables(), settings)
    lines = facts["line_facts"]
    gmv = [
        value + Decimal("0.01") if line_id == "O1-L1" else value
        for line_id, value in zip(
            lines["line_id"].to_pylist(), lines["gmv"].to_pylist(), strict=True
        )
    ]
    broken = lines.set_column(
        lines.schema.get_field_index("gmv"), "gmv", pa.array(gmv, pa.decimal128(18, 2))
    )
    con.register("broken_line_facts", broken)
    con.execute("create or replace temporary view line_facts as select * from broken_line_facts")
    table = compute_reconciliation_daily(con, DAILY_ASSET, [D2], settings, as_of=ts(AS_OF))
    con.close()

    with pytest.raises(OutputValidationError, match="residual_is_zero") as caught:
        validate_reconciliation(DAILY_ASSET, table, D2)
    [case] = failure_rows(caught.value, "residual_is_zero")
    assert (case["check_id"], case["shop_id"], case["stat_date"], case["residual"]) == (
        "R01_gmv_vs_settled",
        "S1",
        D2,
        Decimal("0.01"),
    )
    assert caught.value.failure_cases.num_rows == 1


def test_bad_data_a_refund_succeeding_before_its_request_leaves_an_r02_residual():
    """数据概览 Q2: a refund that succeeds on 03-02 but is requested on 03-04 is neither
    "requested earlier" nor "requested on D": the books do not balance, and the row says so."""
    raw = two_orders()
    raw.refund("R1", "O1-L1", "2026-03-04T15:00Z", "4.00", succeeded_at="2026-03-02T18:00Z")
    with pytest.raises(OutputValidationError) as caught:
        daily_rows(raw, D2, as_of=AS_OF)
    [case] = failure_rows(caught.value, "residual_is_zero")
    assert (case["check_id"], case["stat_date"], case["residual"]) == (
        "R02_refund_success_vs_request",
        D2,
        Decimal("4.00"),
    )


def _tampered(table: pa.Table, index: int, **columns) -> pa.Table:
    frame = pl.from_arrow(table)
    for name, value in columns.items():
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == index)
            .then(pl.lit(value, dtype=frame.schema[name]))
            .otherwise(pl.col(name))
            .alias(name)
        )
    return frame.to_arrow()


@pytest.fixture(scope="module")
def daily_table() -> pa.Table:
    raw = two_orders()
    raw.refund("R1", "O1-L1", "2026-03-02T18:00Z", "4.00", succeeded_at="2026-03-02T19:00Z")
    rows = daily_rows(raw, D2, as_of=AS_OF)
    return pa.Table.from_pylist(rows, schema=reconciliation_daily_schema())


def _index(table: pa.Table, check: str) -> int:
    return next(i for i, row in enumerate(table.to_pylist()) if row["check_id"].startswith(check))


COMPONENT = pl.Struct({"name": pl.Utf8, "value": pl.Decimal(18, 2)})


@pytest.mark.parametrize(
    ("rule", "check", "columns"),
    [
        ("difference_is_a_minus_b", "R01", {"difference": Decimal("1.00")}),
        ("residual_is_difference_minus_components", "R01", {"residual": Decimal("0.50")}),
        ("residual_is_zero", "R07", {"a_value": Decimal("99.00"), "difference": None}),
        ("informational_matches_check", "R07", {"informational": False}),
        ("as_of_iff_as_of_check", "R01", {"as_of": None}),
        ("as_of_iff_as_of_check", "R02", {"as_of": ts(AS_OF)}),
        ("count_values_are_whole", "R04", {"a_value": Decimal("2.50"), "difference": None}),
        ("row_inside_partition", "R02", {"stat_date": date(2026, 3, 3)}),
    ],
)
def test_each_rule_fires_on_a_row_tampered_to_break_it(daily_table, rule, check, columns):
    index = _index(daily_table, check)
    row = daily_table.to_pylist()[index]
    if "difference" in columns and columns["difference"] is None:
        # keep difference = a − b so that only the rule under test breaks
        columns = {**columns, "difference": columns["a_value"] - row["b_value"]}
        columns["residual"] = columns["difference"] - sum(
            (c["value"] for c in row["components"]), Decimal("0.00")
        )
    table = _tampered(daily_table, index, **columns)
    with pytest.raises(OutputValidationError) as caught:
        validate_reconciliation(DAILY_ASSET, table, D2)
    cases = failure_rows(caught.value, rule)
    assert cases, caught.value
    assert {case["check_id"] for case in cases} == {row["check_id"]}


def test_components_must_be_the_checks_own(daily_table):
    index = _index(daily_table, "R01")
    frame = pl.from_arrow(daily_table).with_columns(
        pl.when(pl.int_range(pl.len()) == index)
        .then(
            pl.col("components").list.eval(
                pl.struct(
                    pl.lit("something_else").alias("name"),
                    pl.element().struct.field("value").alias("value"),
                )
            )
        )
        .otherwise(pl.col("components"))
        .alias("components")
    )
    with pytest.raises(OutputValidationError) as caught:
        validate_reconciliation(DAILY_ASSET, frame.to_arrow(), D2)
    [case] = failure_rows(caught.value, "components_are_the_checks_own")
    assert case["check_id"] == "R01_gmv_vs_settled"


def test_a_duplicated_row_breaks_the_key(daily_table):
    doubled = pa.concat_tables([daily_table, daily_table.slice(0, 1)])
    with pytest.raises(OutputValidationError, match="unique|duplicat"):
        validate_reconciliation(DAILY_ASSET, doubled, D2)


def test_live_rows_carry_a_bucket_only_for_r13_and_stay_in_their_refresh():
    rows = live_rows(l1_world(), "2026-04-01T20:00Z")
    table = pa.Table.from_pylist(rows, schema=reconciliation_live_schema())
    index = _index(table, "R05")
    row = table.to_pylist()[index]
    bucketed = _tampered(table, index, bucket_start=row["snapshot_at"])
    with pytest.raises(OutputValidationError) as caught:
        validate_reconciliation(LIVE_ASSET, bucketed, row["snapshot_at"])
    [case] = failure_rows(caught.value, "bucket_start_iff_r13")
    assert (case["check_id"], case["live_id"]) == ("R05_big_screen_vs_live_list", "L1")
    with pytest.raises(OutputValidationError, match="row_inside_partition"):
        validate_reconciliation(LIVE_ASSET, table, ts("2026-04-01T12:00Z"))
    assert pick(rows, "R05", live_id="L1")["residual"] == Decimal("0.00")
