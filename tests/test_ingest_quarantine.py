"""Quarantine mode (raw-contract.md, "Bad input"): valid rows pass, every rejected row is
kept unchanged with its reason, keys are rejected whole, dependants follow their parent."""

from __future__ import annotations

import json

import duckdb
import pytest
from raw_fixture import good_rows, write_raw_dir

from compass_pipeline.ingest import (
    QUARANTINE_SCHEMA,
    RawDataError,
    ingest_raw,
    ingest_to_data_dir,
)
from compass_pipeline.storage import DataDir


def _quarantine(result) -> list[dict]:
    return result.quarantine.to_pylist()


def _find(rows: list[dict], table: str, key: str) -> list[dict]:
    return [r for r in rows if r["table_name"] == table and r["row_key"] == key]


def test_rejected_row_is_kept_unchanged_with_its_reason(tmp_path):
    rows = good_rows()
    rows["skus"][1]["unit_price"] = "5.505"
    raw = write_raw_dir(tmp_path, rows)
    with pytest.raises(RawDataError):
        ingest_raw(raw)

    result = ingest_raw(raw, quarantine=True)
    assert result.quarantine.schema.equals(QUARANTINE_SCHEMA)
    [row] = _find(_quarantine(result), "skus", "sku_id=K2")
    assert row["source_file"] == "skus.csv"
    assert row["source_row"] == 2
    assert row["column_name"] == "unit_price"
    assert row["rule"] == "decimal_scale"
    assert "5.505" in row["reason"] and "never rounded" in row["reason"]
    assert json.loads(row["raw_row"]) == {"sku_id": "K2", "product_id": "P2", "unit_price": "5.505"}
    assert "K2" not in result.tables["skus"].column("sku_id").to_pylist()
    assert result.rows_rejected["skus"] >= 1


def test_valid_rows_are_still_stored_and_the_quarantine_is_queryable(tmp_path):
    rows = good_rows()
    rows["accounts"][1]["account_type"] = "vip"  # A2: its binding depends on it
    data = tmp_path / "data"
    result = ingest_to_data_dir(write_raw_dir(tmp_path / "raw", rows), data, quarantine=True)
    assert result.tables["accounts"].column("account_id").to_pylist() == ["A1", "A3"]
    assert result.tables["orders"].num_rows == 3  # untouched tables are whole
    assert result.tables["order_lines"].num_rows == 5
    assert result.rows_rejected == {
        **dict.fromkeys(result.tables, 0),
        "accounts": 1,
        "account_bindings": 2,  # both versions of (S1, A2)
    }
    path = DataDir(data).raw_table_path("raw_quarantine")
    found = (
        duckdb.connect()
        .sql(
            f"select table_name, row_key, rule from read_parquet('{path}') "
            "order by table_name, source_row"
        )
        .fetchall()
    )
    assert found == [
        # the older version is not in effect; it goes with its key
        ("account_bindings", "shop_id=S1, account_id=A2", "key_quarantined"),
        ("account_bindings", "shop_id=S1, account_id=A2", "parent_quarantined"),
        ("accounts", "account_id=A2", "enum"),
    ]


def test_a_rejected_version_rejects_the_whole_key(tmp_path):
    """The older version of O1 breaks a rule: the newer one must not take its place."""
    rows = good_rows()
    rows["orders"][0]["buyer_country"] = "United States"
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    assert "O1" not in result.tables["orders"].column("order_id").to_pylist()
    o1 = _find(_quarantine(result), "orders", "order_id=O1")
    assert [(r["source_row"], r["rule"]) for r in o1] == [
        (1, "country_code"),
        (2, "key_quarantined"),
    ]
    assert json.loads(o1[1]["raw_row"])["paid_at"] == "2026-03-01T10:41:00Z"


def test_dependants_are_quarantined_with_their_parent(tmp_path):
    """order -> its lines -> their refunds and settlements: "parent quarantined"."""
    rows = good_rows()
    rows["orders"][3]["shipping_fee"] = "-1.99"  # O3: lines OL4, OL5; R2 and CS1 on OL4
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    rejected = {(r["table_name"], r["row_key"]): r for r in _quarantine(result)}
    assert rejected[("orders", "order_id=O3")]["rule"] == "non_negative"
    for key in ("line_id=OL4", "line_id=OL5"):
        assert rejected[("order_lines", key)]["rule"] == "parent_quarantined"
        assert "order_id=O3" in rejected[("order_lines", key)]["reason"]
    assert rejected[("refunds", "refund_id=R2")]["rule"] == "parent_quarantined"
    assert rejected[("commission_settlements", "settlement_id=CS1")]["rule"] == (
        "parent_quarantined"
    )
    assert result.tables["order_lines"].column("line_id").to_pylist() == ["OL1", "OL2", "OL3"]
    assert result.tables["commission_settlements"].num_rows == 0
    assert result.rows_rejected["orders"] == 1
    assert result.rows_rejected["order_lines"] == 2
    assert sum(result.rows_rejected.values()) == result.quarantine.num_rows == 5


def test_reference_to_a_missing_key_is_unknown_not_parent_quarantined(tmp_path):
    rows = good_rows()
    rows["order_lines"][2]["order_id"] = "O404"
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    [row] = _find(_quarantine(result), "order_lines", "line_id=OL3")
    assert row["rule"] == "unknown_order"


def test_exact_duplicates_are_never_quarantined(tmp_path):
    rows = good_rows()
    bad = {**rows["live_room_events"][0], "viewer_country": "Narnia"}
    rows["live_room_events"][0] = bad
    rows["live_room_events"].append(dict(bad))
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    e1 = _find(_quarantine(result), "live_room_events", "event_id=E1")
    assert [r["source_row"] for r in e1] == [1]


def test_rules_on_sets_see_the_rows_left_after_rejections(tmp_path):
    """E2 (leave) lies outside its LIVE; without it, E3 is an enter after an enter."""
    rows = good_rows()
    rows["live_room_events"][1]["occurred_at"] = "2026-03-01T09:00:00Z"
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    rules = {r["row_key"]: r["rule"] for r in _quarantine(result)}
    assert rules == {"event_id=E2": "outside_live", "event_id=E3": "enter_leave_order"}
    assert result.tables["live_room_events"].column("event_id").to_pylist() == ["E1", "E4"]


def test_a_row_breaking_several_rules_is_stored_once(tmp_path):
    rows = good_rows()
    rows["accounts"][2].update(account_type="bot", region="Britain")
    result = ingest_raw(write_raw_dir(tmp_path, rows), quarantine=True)
    a3 = _find(_quarantine(result), "accounts", "account_id=A3")
    assert len(a3) == 1
    assert a3[0]["rule"] == "enum"
    assert "also country_code (region)" in a3[0]["reason"]
