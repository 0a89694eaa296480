"""The LIVE output schemas: a real partition passes; a corrupted one is rejected by
``validate_live_output`` with the failed check named."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from live_scenarios import LiveRuns, Raw, events, ts

from compass_pipeline.live import LIVE_BY_NAME
from schemas.live import LIVE_MODELS, OutputValidationError, validate_live_output

LIST_AT = ts("2026-03-02T04:00Z")
DASHBOARD_AT = ts("2026-03-03T00:00Z")


@pytest.fixture(scope="module")
def partitions() -> dict[str, pa.Table]:
    raw = Raw()
    raw.shop("S1")
    raw.account("H1", "channel")
    raw.account("HA", "affiliate")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.product("P1", "S1", unit_price="19.99", globally_sellable=True)
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T01:12:30Z", products=["P1"])
    raw.live("L2", "HA", "2026-03-02T02:00Z", "2026-03-02T05:00Z", products=["P1"])
    raw.order(
        "O1",
        "2026-03-02T01:05Z",
        [{"product_id": "P1", "unit_price": "19.99", "source_type": "live", "source_id": "L1"}],
        shipping_fee="2.00",
    )
    raw.order(
        "O2",
        "2026-03-02T01:06Z",
        [{"product_id": "P1", "unit_price": "19.99", "source_type": "live", "source_id": "L1"}],
        buyer_id="B2",
        buyer_country="GB",
    )
    raw.refund("R1", "O1-L1", "2026-03-02T01:30Z", "5.00", succeeded_at="2026-03-02T02:00Z")
    events(
        raw,
        "L1",
        ("V1", "enter", "2026-03-02T01:00:30Z", "US"),
        ("V2", "enter", "2026-03-02T01:03:00Z", "GB"),
        ("V2", "leave", "2026-03-02T01:04:10Z", "GB"),
        ("V2", "enter", "2026-03-02T01:04:50Z", "GB"),
    )
    run = LiveRuns(raw)
    try:
        return {
            asset: pa.Table.from_pylist(
                run.rows(asset, instant_of(asset)), schema=LIVE_BY_NAME[asset].arrow_schema()
            )
            for asset in LIVE_MODELS
        }
    finally:
        run.close()


def instant_of(asset: str):
    return LIST_AT if asset in ("live_list_snapshot", "creator_live_snapshot") else DASHBOARD_AT


def with_value(table: pa.Table, column: str, value, row: int = 0) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(
        index, table.schema.field(index), pa.array(values, type=table.schema.field(index).type)
    )


def rejected(asset: str, table: pa.Table) -> str:
    with pytest.raises(OutputValidationError) as info:
        validate_live_output(asset, table, instant_of(asset))
    checks = " ".join(info.value.failure_cases.column("check").to_pylist())
    return f"{info.value} || {checks}"


@pytest.mark.parametrize("asset", list(LIVE_MODELS))
def test_a_computed_partition_passes_its_schema(partitions, asset):
    table = partitions[asset]
    assert table.num_rows > 0, asset
    validate_live_output(asset, table, instant_of(asset))


@pytest.mark.parametrize("asset", list(LIVE_MODELS))
def test_a_row_outside_its_partition_is_rejected(partitions, asset):
    table = partitions[asset]
    moved = with_value(table, "snapshot_at", instant_of(asset) + timedelta(days=1))
    assert "row_inside_partition" in rejected(asset, moved)


@pytest.mark.parametrize("asset", list(LIVE_MODELS))
def test_a_duplicated_key_is_rejected(partitions, asset):
    table = partitions[asset]
    assert "unique" in rejected(asset, pa.concat_tables([table, table.slice(0, 1)]))


@pytest.mark.parametrize(
    ("asset", "column", "value", "check"),
    [
        ("live_list_snapshot", "gmv_after_live", Decimal("1.00"), "gmv_is_during_plus_after_live"),
        ("live_list_snapshot", "status", "ended", "status_live_iff_ended_at_null"),
        ("live_list_snapshot", "refund_amount", Decimal("999.00"), "refund_amount_within_gmv"),
        ("live_list_snapshot", "is_final", True, "final_refresh_is_after_end"),
        ("live_list_snapshot", "gmv", Decimal("-1.00"), "greater_than_or_equal_to(0)"),
        (
            "creator_live_snapshot",
            "gmv_own_shops",
            Decimal("999.00"),
            "gmv_all_shops_at_least_gmv_own_shops",
        ),
        ("creator_live_snapshot", "shop_count", 0, "shop_count_within_sku_orders"),
        (
            "big_screen_snapshot",
            "entry_unavailable_reason",
            "not_bound",
            "entry_available_iff_no_reason",
        ),
        ("big_screen_snapshot", "viewers", 99, "views_at_least_viewers"),
        ("big_screen_snapshot", "gmv_local", Decimal("999.00"), "gmv_at_least_gmv_local"),
        ("big_screen_snapshot", "peak_online_users", 99, "peak_online_users_within_viewers"),
        ("big_screen_snapshot", "account_type", "affiliate", "affiliate_reason_iff_affiliate_host"),
        ("big_screen_traffic", "viewers", 99, "views_at_least_viewers"),
        (
            "live_online_trend",
            "in_room_online_at_bucket_end",
            9,
            "online_users_last_minute_at_least_in_room",
        ),
        (
            "live_online_trend",
            "bucket_start",
            ts("2026-03-02T01:01Z"),
            "bucket_start_on_5_minute_clock",
        ),
        ("live_online_trend", "net_entries", 7, "running_net_entries_is_in_room"),
        (
            "live_online_trend",
            "online_users_5min_sum",
            99,
            "five_minute_sum_between_max_and_minutes_times_max",
        ),
        ("live_online_trend", "minutes_in_live", 6, "in_range"),
    ],
)
def test_a_broken_row_identity_is_rejected_by_name(partitions, asset, column, value, check):
    table = partitions[asset]
    row = 0
    if asset == "live_list_snapshot" and column in ("gmv_after_live", "status", "is_final"):
        row = table.column("status").to_pylist().index("live")
    if asset == "live_list_snapshot" and column == "refund_amount":
        row = table.column("live_id").to_pylist().index("L1")
    assert check in rejected(asset, with_value(table, column, value, row))


def test_types_and_columns_are_strict(partitions):
    table = partitions["live_list_snapshot"]
    as_float = table.set_column(
        table.schema.get_field_index("gmv"), "gmv", pc.cast(table.column("gmv"), pa.float64())
    )
    assert "dtype" in rejected("live_list_snapshot", as_float)
    extra = table.append_column("note", pa.array(["x"] * table.num_rows))
    assert "column_in_schema" in rejected("live_list_snapshot", extra)
    null_key = with_value(table, "shop_id", None)
    assert "not_nullable" in rejected("live_list_snapshot", null_key)
