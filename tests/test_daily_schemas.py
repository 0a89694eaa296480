"""Output schemas reject corrupted partitions, naming the check that caught them.

For each daily asset a real partition (from random raw data) passes; then a cent off an
identity, a duplicate key, a null key and a row outside the partition each fail
``validate_output`` with a failure case that names the check.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from daily_scenarios import DAILY_KEYS, facts_connection, random_raw

from compass_pipeline.daily import DAILY_BY_NAME, compute_daily_range
from schemas.daily import OutputValidationError, validate_output

CENT = Decimal("0.01")

# asset → (column to corrupt, how, the check that must catch it)
IDENTITY_BREAKS = {
    "core_data_daily": ("gmv", lambda v: v + CENT, "gmv_is_live_plus_video_plus_product_card"),
    "core_data_channel_detail_daily": (
        "channel",
        lambda v: "video" if v != "video" else "live",
        "channel_detail_belongs_to_channel",
    ),
    "order_management_daily": (
        "orders",
        lambda v: v + 1,
        "paid_orders_are_open_cancelled_or_refunded",
    ),
    "product_analysis_daily": (
        "refund_exceeds_gmv",
        lambda v: not v,
        "refund_exceeds_gmv_is_refund_amount_above_gmv",
    ),
    "creator_analysis_daily": (
        "gmv_total",
        lambda v: v + CENT,
        "gmv_total_is_live_plus_video_plus_showcase",
    ),
    "video_analysis_daily": (
        "details_video_count",
        lambda v: v + 1,
        "details_is_self_plus_affiliate_with_gmv",
    ),
}


@pytest.fixture(scope="module")
def computed():
    con, facts = facts_connection(random_raw(4).tables())
    [(first, last)] = con.sql("select min(stat_date), max(stat_date) from line_facts").fetchall()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    marts = {asset: compute_daily_range(con, asset, days) for asset in DAILY_KEYS}
    con.close()
    return facts, marts


def _busiest_partition(table: pa.Table):
    counts = table.group_by("stat_date").aggregate([("stat_date", "count")]).to_pylist()
    day = max(counts, key=lambda row: (row["stat_date_count"], row["stat_date"]))["stat_date"]
    return day, table.filter(pc.equal(table["stat_date"], pa.scalar(day, pa.date32())))


def _with_first_row(table: pa.Table, column: str, change) -> pa.Table:
    rows = table.to_pylist()
    rows[0][column] = change(rows[0][column])
    return pa.Table.from_pylist(rows, schema=table.schema)


def _checks_failed(asset, table, day) -> list[str]:
    with pytest.raises(OutputValidationError) as caught:
        validate_output(asset, table, day)
    assert asset in str(caught.value)
    return caught.value.failure_cases.column("check").to_pylist()


def _named(checks: list[str], name: str) -> bool:
    return any(check == name or check.startswith(f"{name}:") for check in checks)


@pytest.mark.parametrize("asset", list(DAILY_KEYS))
def test_valid_and_empty_partitions_pass(asset, computed):
    _, marts = computed
    day, part = _busiest_partition(marts[asset])
    assert part.num_rows > 0
    validate_output(asset, part, day)
    validate_output(asset, DAILY_BY_NAME[asset].arrow_schema().empty_table(), day)


@pytest.mark.parametrize("asset", list(DAILY_KEYS))
def test_a_broken_identity_is_rejected(asset, computed):
    _, marts = computed
    day, part = _busiest_partition(marts[asset])
    column, change, check = IDENTITY_BREAKS[asset]
    assert _named(_checks_failed(asset, _with_first_row(part, column, change), day), check)


@pytest.mark.parametrize("asset", list(DAILY_KEYS))
def test_a_duplicate_key_is_rejected(asset, computed):
    _, marts = computed
    day, part = _busiest_partition(marts[asset])
    doubled = pa.concat_tables([part, part.slice(0, 1)])
    assert _named(_checks_failed(asset, doubled, day), "multiple_fields_uniqueness")


@pytest.mark.parametrize("asset", list(DAILY_KEYS))
def test_a_null_key_is_rejected(asset, computed):
    _, marts = computed
    day, part = _busiest_partition(marts[asset])
    key = DAILY_KEYS[asset][-1]
    checks = _checks_failed(asset, _with_first_row(part, key, lambda v: None), day)
    assert _named(checks, "not_nullable")


@pytest.mark.parametrize("asset", list(DAILY_KEYS))
def test_a_row_outside_the_partition_is_rejected(asset, computed):
    _, marts = computed
    day, part = _busiest_partition(marts[asset])
    moved = _with_first_row(part, "stat_date", lambda v: v + timedelta(days=1))
    assert _named(_checks_failed(asset, moved, day), "row_inside_partition")


def test_line_facts_reject_gmv_off_by_a_cent(computed):
    facts, _ = computed
    validate_output("line_facts", facts["line_facts"], None)
    broken = _with_first_row(facts["line_facts"], "gmv", lambda v: v + CENT)
    checks = _checks_failed("line_facts", broken, None)
    assert _named(checks, "gmv_is_merchandise_paid_plus_shipping_share")


def test_failure_cases_are_truncated_and_the_message_is_readable(computed):
    _, marts = computed
    table = marts["core_data_daily"]
    day, _ = _busiest_partition(table)
    with pytest.raises(OutputValidationError) as caught:
        validate_output("core_data_daily", table, day)  # every other date is outside
    error = caught.value
    assert error.failure_cases.num_rows <= 20
    assert f"core_data_daily partition {day}" in str(error)
    assert "row_inside_partition" in str(error)
