"""Versions, duplicates, layouts and formats of the raw directory (raw-contract.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from raw_fixture import good_rows, typed_table, write_raw_dir

from compass_pipeline.ingest import RawDataError, ingest_raw, ingest_to_data_dir
from compass_pipeline.storage import DataDir
from schemas.raw import RAW_TABLES, raw_arrow_schema, raw_table_info


def _by_key(table: pa.Table, key: str) -> dict:
    return {row[key]: row for row in table.to_pylist()}


def test_latest_updated_at_wins(tmp_path):
    """Mutable tables: "the row with the greatest updated_at wins"."""
    result = ingest_raw(write_raw_dir(tmp_path))
    orders = _by_key(result.tables["orders"], "order_id")
    assert orders["O1"]["paid_at"] == datetime(2026, 3, 1, 10, 41, tzinfo=UTC)
    refunds = _by_key(result.tables["refunds"], "refund_id")
    assert refunds["R1"]["status"] == "succeeded"
    bindings = {
        (r["shop_id"], r["account_id"]): r for r in result.tables["account_bindings"].to_pylist()
    }
    assert bindings[("S1", "A2")]["unbound_at"] == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert result.rows_read["orders"] == 4 and result.tables["orders"].num_rows == 3


def test_latest_version_wins_whatever_the_row_order(tmp_path):
    rows = good_rows()
    rows["orders"][0], rows["orders"][1] = rows["orders"][1], rows["orders"][0]
    orders = _by_key(ingest_raw(write_raw_dir(tmp_path, rows)).tables["orders"], "order_id")
    assert orders["O1"]["paid_at"] is not None


def test_conflicting_versions_are_an_error(tmp_path):
    """Same key, same updated_at, different content: an error, not a guess."""
    rows = good_rows()
    rows["refunds"].append({**rows["refunds"][1], "amount": "4.00"})
    with pytest.raises(RawDataError, match="conflicting_versions") as caught:
        ingest_raw(write_raw_dir(tmp_path, rows))
    assert "refunds.csv row 2" in str(caught.value)
    assert "refunds.csv row 4" in str(caught.value)


def test_exact_duplicates_are_dropped_silently(tmp_path):
    rows = good_rows()
    rows["order_lines"].append(dict(rows["order_lines"][0]))
    rows["orders"].append(dict(rows["orders"][0]))  # a copy of an older version
    rows["orders"].append(dict(rows["orders"][1]))  # a copy of the latest version
    rows["shops"].append(dict(rows["shops"][1]))
    result = ingest_raw(write_raw_dir(tmp_path, rows))
    assert result.tables["order_lines"].num_rows == 5
    assert result.tables["orders"].num_rows == 3
    assert result.tables["shops"].num_rows == 2
    assert result.quarantine.num_rows == 0 and result.warnings == []


def test_same_instant_spelled_differently_is_a_duplicate(tmp_path):
    """Duplicates are compared on values: `Z` and `+00:00` name the same instant."""
    rows = good_rows()
    rows["videos"].append({**rows["videos"][0], "published_at": "2026-03-01T08:00:00Z"})
    assert ingest_raw(write_raw_dir(tmp_path, rows)).tables["videos"].num_rows == 1


def test_csv_and_parquet_give_identical_tables(tmp_path):
    from_csv = ingest_raw(write_raw_dir(tmp_path / "csv", fmt="csv"))
    from_parquet = ingest_raw(write_raw_dir(tmp_path / "parquet", fmt="parquet"))
    for table in RAW_TABLES:
        assert from_csv.tables[table].equals(from_parquet.tables[table]), table
    assert from_csv.data_watermark == from_parquet.data_watermark


def test_normalized_tables_have_the_contract_schema(tmp_path):
    result = ingest_raw(write_raw_dir(tmp_path))
    for table in RAW_TABLES:
        assert result.tables[table].schema.equals(raw_arrow_schema(table)), table
    assert result.tables["order_lines"].column("unit_price").type == pa.decimal128(18, 2)
    assert result.tables["order_lines"].column("commission_rate").type == pa.decimal128(6, 4)


def test_folder_of_files_layout(tmp_path):
    folders = ("orders", "order_lines", "live_room_events")
    single = ingest_raw(write_raw_dir(tmp_path / "single"))
    split = ingest_raw(write_raw_dir(tmp_path / "split", folders=folders, parts=3))
    for table in RAW_TABLES:
        key = list(raw_table_info(table).key)
        assert (
            split.tables[table]
            .sort_by([(k, "ascending") for k in key])
            .equals(single.tables[table].sort_by([(k, "ascending") for k in key]))
        ), table


def test_folder_rows_are_numbered_per_file(tmp_path):
    rows = good_rows()
    rows["order_lines"][3]["order_id"] = "O404"  # OL4: second line of part-1 (rows 1, 3)
    with pytest.raises(RawDataError) as caught:
        ingest_raw(write_raw_dir(tmp_path, rows, folders=("order_lines",)))
    assert "order_lines/part-1.csv row 2 (line_id=OL4, order_id=O404 not in orders)" in str(
        caught.value
    )


def test_empty_folder_is_an_empty_table(tmp_path):
    """ "a folder holding any number of files": none is a table without rows."""
    rows = good_rows()
    rows["commission_settlements"] = []
    raw = write_raw_dir(tmp_path, rows)
    (raw / "commission_settlements.csv").unlink()
    (raw / "commission_settlements").mkdir()
    result = ingest_raw(raw)
    assert result.tables["commission_settlements"].num_rows == 0
    assert result.tables["commission_settlements"].schema.equals(
        raw_arrow_schema("commission_settlements")
    )


def test_extra_columns_are_ignored_with_a_warning(tmp_path):
    rows = good_rows()
    for row in rows["shops"]:
        row["manager"] = "Ann"
    messages = []
    result = ingest_raw(write_raw_dir(tmp_path, rows), progress=messages.append)
    assert result.warnings == [
        "shops: shops.csv has column(s) not in the raw contract, ignored: manager"
    ]
    assert result.warnings[0] in messages
    assert "manager" not in result.tables["shops"].column_names


def test_missing_required_column_names_file_and_column(tmp_path):
    rows = good_rows()
    for row in rows["refunds"]:
        del row["status"]
    with pytest.raises(RawDataError, match="missing_column") as caught:
        ingest_raw(write_raw_dir(tmp_path, rows))
    assert "refunds.csv" in str(caught.value) and "status" in str(caught.value)


def test_missing_table_is_named(tmp_path):
    rows = good_rows()
    del rows["live_products"]
    with pytest.raises(RawDataError, match="missing_table") as caught:
        ingest_raw(write_raw_dir(tmp_path, rows))
    assert "live_products" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-03-01T23:15:00+08:00", datetime(2026, 3, 1, 15, 15, tzinfo=UTC)),
        ("2026-03-01T23:15:00-0530", datetime(2026, 3, 2, 4, 45, tzinfo=UTC)),
        ("2026-03-01 23:15Z", datetime(2026, 3, 1, 23, 15, tzinfo=UTC)),
        ("2026-03-01T23:15:00.123456Z", datetime(2026, 3, 1, 23, 15, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offset_become_utc(tmp_path, text, instant):
    rows = good_rows()
    rows["commission_settlements"][0]["settled_at"] = text
    result = ingest_raw(write_raw_dir(tmp_path, rows))
    assert result.tables["commission_settlements"].column("settled_at")[0].as_py() == instant


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2026-03-05T00:00:00", "timestamp_offset"),
        ("2026-03-05", "timestamp_offset"),
        ("2026-03-05T24:00:00Z", "timestamp_format"),
        ("2026-02-30T00:00:00Z", "timestamp_format"),
        ("2026-03-05T00:00:00.1234567Z", "timestamp_format"),
        ("1772668800", "timestamp_format"),
    ],
)
def test_bad_timestamps(tmp_path, text, rule):
    rows = good_rows()
    rows["commission_settlements"][0]["settled_at"] = text
    with pytest.raises(RawDataError, match=rule):
        ingest_raw(write_raw_dir(tmp_path, rows))


@pytest.mark.parametrize(
    ("text", "value"),
    [("2.9", "2.90"), ("2.900", "2.90"), ("+2.90", "2.90"), ("0", "0.00"), ("3", "3.00")],
)
def test_money_text_is_exact(tmp_path, text, value):
    rows = good_rows()
    rows["commission_settlements"][0]["amount"] = text
    result = ingest_raw(write_raw_dir(tmp_path, rows))
    assert result.tables["commission_settlements"].column("amount")[0].as_py() == Decimal(value)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2.905", "decimal_scale"),
        ("2.9001", "decimal_scale"),
        ("2,90", "decimal_format"),
        ("2.9e0", "decimal_format"),
        ("$2.90", "decimal_format"),
        ("12345678901234567", "decimal_overflow"),
    ],
)
def test_money_is_never_rounded(tmp_path, text, rule):
    rows = good_rows()
    rows["commission_settlements"][0]["amount"] = text
    with pytest.raises(RawDataError, match=rule):
        ingest_raw(write_raw_dir(tmp_path, rows))


def test_booleans_are_case_insensitive(tmp_path):
    products = _by_key(ingest_raw(write_raw_dir(tmp_path)).tables["products"], "product_id")
    assert [products[p]["globally_sellable"] for p in ("P1", "P2", "P3")] == [True, False, True]


def test_parquet_text_columns_follow_the_text_rules(tmp_path):
    """A Parquet column stored as text is read like CSV: an offset is still required."""
    raw = write_raw_dir(tmp_path, fmt="parquet")
    videos = typed_table("videos", good_rows()["videos"])
    for text, expected in (
        ("2026-03-01T08:00:00+00:00", datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("2026-03-01T08:00:00", None),
    ):
        pq.write_table(
            videos.set_column(2, "published_at", pa.array([text])), raw / "videos.parquet"
        )
        if expected is None:
            with pytest.raises(RawDataError, match="timestamp_offset"):
                ingest_raw(raw)
        else:
            published = ingest_raw(raw).tables["videos"].column("published_at")
            assert published[0].as_py() == expected


def test_refund_up_to_the_gmv_with_its_shipping_share_passes(tmp_path):
    """Line OL1: 2 x 10.00 - 1.00 - 0.50 = 18.50, plus its share of O1's 3.00 shipping:
    weights 19.00 and 5.50 give 2.3265... and 0.6734..., so 2.32 + 0.67 = 2.99 and the
    leftover cent goes to the larger remainder, OL1: GMV 18.50 + 2.33 = 20.83."""
    rows = good_rows()
    for refund in rows["refunds"][:2]:
        refund["amount"] = "20.83"
    result = ingest_raw(write_raw_dir(tmp_path, rows))
    assert _by_key(result.tables["refunds"], "refund_id")["R1"]["amount"] == Decimal("20.83")


def test_refunds_of_a_line_add_up(tmp_path):
    """The sum over a line's succeeded refunds counts, not each refund alone."""
    rows = good_rows()
    second = {**rows["refunds"][1], "refund_id": "R9", "amount": "15.84"}
    second["succeeded_at"] = "2026-03-04T00:00:00Z"
    rows["refunds"].append(second)  # 5.00 + 15.84 = 20.84 > 20.83
    with pytest.raises(RawDataError, match="refund_exceeds_gmv") as caught:
        ingest_raw(write_raw_dir(tmp_path, rows))
    assert "refund_id=R9" in str(caught.value)
    assert "refund_id=R1" not in str(caught.value)


def test_data_watermark_is_the_latest_instant(tmp_path):
    result = ingest_raw(write_raw_dir(tmp_path))
    assert result.data_watermark == datetime(2026, 3, 5, tzinfo=UTC)


def test_stored_snapshot_keeps_the_rows_in_the_order_read(tmp_path):
    """Files by name, rows as in each file, superseded versions left out where they were."""
    data = tmp_path / "data"
    raw = write_raw_dir(tmp_path / "raw", folders=("orders",), parts=2)
    # part-0 holds O1 (first version) and O2, part-1 O1 (latest version) and O3
    result = ingest_to_data_dir(raw, data)
    store = DataDir(data)
    con = duckdb.connect()
    stored = con.sql(
        f"select order_id, paid_at from read_parquet('{store.raw_table_glob('orders')}')"
    ).fetchall()
    assert stored == [
        ("O2", None),
        ("O1", datetime(2026, 3, 1, 10, 41, tzinfo=UTC)),
        ("O3", datetime(2026, 3, 1, 9, 5, 30, 250000, tzinfo=UTC)),
    ]
    lines = con.sql(
        f"select line_id from read_parquet('{store.raw_table_glob('order_lines')}')"
    ).fetchall()
    assert [r[0] for r in lines] == [r["line_id"] for r in good_rows()["order_lines"]]
    assert result.tables["orders"].column("order_id").to_pylist() == ["O2", "O1", "O3"]
    quarantine = con.sql(
        f"select count(*) from read_parquet('{store.raw_table_glob('raw_quarantine')}')"
    ).fetchall()
    assert quarantine == [(0,)]
