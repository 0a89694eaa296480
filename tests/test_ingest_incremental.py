"""The landing zone ingested drop by drop (raw-contract.md, first section).

The good fixture is cut into three drops the way an exporter would deliver them: a cart
added in one drop and paid in the next, an order's later version, a refund that succeeds a
day later, a LIVE that ends in a later drop, a settlement of a line stored two drops ago.
Ingested one drop at a time, the stored tables must equal a rebuild from every file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from raw_fixture import good_rows, write_table_file

from compass_pipeline.ingest import RawDataError, ingest_to_data_dir
from compass_pipeline.ingest.incremental import stored_manifest
from compass_pipeline.storage import DataDir
from schemas.raw import RAW_TABLES, raw_table_info


def _rows(table: str, **where) -> list[dict]:
    rows = good_rows()[table]
    return [r for r in rows if all(r.get(k) in v for k, v in where.items())]


def _drops() -> list[dict[str, list[dict]]]:
    good = good_rows()
    lv2 = dict(_rows("live_sessions", live_id={"LV2"})[0])
    lv2_ended = {**lv2, "ended_at": "2026-03-03T08:00:00Z"}
    o1_unpaid, o1_paid = _rows("orders", order_id={"O1"})
    r1_pending, r1_succeeded = _rows("refunds", refund_id={"R1"})
    binding_a1, binding_a2 = good["account_bindings"][:2], good["account_bindings"][2:]
    first = {
        "shops": good["shops"],
        "accounts": good["accounts"],
        "account_bindings": binding_a1,
        "products": good["products"],
        "skus": good["skus"],
        "live_sessions": good["live_sessions"],
        "live_products": good["live_products"],
        "videos": good["videos"],
        "video_products": good["video_products"],
        "orders": [o1_unpaid, *_rows("orders", order_id={"O3"})],
        "order_lines": _rows("order_lines", order_id={"O3"}),
        "cart_adds": good["cart_adds"],
        "live_room_events": _rows("live_room_events", live_id={"LV1"}),
        "product_impressions": good["product_impressions"],
    }
    second = {
        "account_bindings": binding_a2,
        "orders": [o1_paid, *_rows("orders", order_id={"O2"})],
        "order_lines": _rows("order_lines", order_id={"O1", "O2"}),
        "refunds": [r1_pending, *_rows("refunds", refund_id={"R2"})],
    }
    third = {
        "orders": [o1_unpaid],  # an old version delivered late: the stored one stays
        "refunds": [r1_succeeded],
        "commission_settlements": good["commission_settlements"],
        "live_sessions": [lv2_ended],
        "live_room_events": _rows("live_room_events", live_id={"LV2"}),
    }
    return [first, second, third]


def _drop(raw: Path, name: str, tables: dict[str, list[dict]], fmt: str = "csv") -> None:
    """One delivery: a file per table it has rows for, in the table's folder."""
    for table in RAW_TABLES:
        (raw / table).mkdir(parents=True, exist_ok=True)
        if table in tables:
            write_table_file(raw / table / f"{name}.{fmt}", table, tables[table], fmt=fmt)


def _stored(data: Path) -> dict[str, list[tuple]]:
    """Every stored raw table and the quarantine, as sorted rows (the views' content)."""
    store = DataDir(data)
    out = {}
    for table in (*RAW_TABLES, "raw_quarantine"):
        rows = pq.read_table(store.raw_table_path(table))
        if table != "raw_quarantine":
            rows = rows.select(list(raw_table_info(table).columns))
        out[table] = sorted(tuple(r.values()) for r in rows.to_pylist())
    return out


def _digest(root: Path) -> dict[str, str]:
    """The data directory, file by file (lock files aside)."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.name.endswith(".lock"):
            continue
        if path.is_symlink():
            digest[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            digest[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_drops_ingested_one_at_a_time_equal_a_rebuild(tmp_path, fmt):
    raw, incremental, rebuilt = tmp_path / "raw", tmp_path / "incremental", tmp_path / "rebuilt"
    for number, tables in enumerate(_drops(), start=1):
        _drop(raw, f"drop-{number}", tables, fmt)
        result = ingest_to_data_dir(raw, incremental)
        assert sum(result.rows_read.values()) == sum(len(rows) for rows in tables.values())
    ingest_to_data_dir(raw, rebuilt, rebuild=True)

    assert _stored(incremental) == _stored(rebuilt)
    # and the drops hold exactly the good fixture's rows in effect
    whole = tmp_path / "whole"
    from raw_fixture import write_raw_dir

    ingest_to_data_dir(write_raw_dir(tmp_path / "whole_raw", fmt=fmt), whole)
    assert _stored(incremental)["orders"] == _stored(whole)["orders"]
    assert _stored(incremental)["refunds"] == _stored(whole)["refunds"]


def test_late_versions_across_drops(tmp_path):
    """O1 paid in drop 2 over its unpaid version of drop 1; the unpaid version delivered
    again in drop 3 is older and changes nothing; R1 succeeds in drop 3; LV2 ends in drop 3
    (a LIVE's version with `ended_at` supersedes the one on the air)."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    for number, tables in enumerate(_drops(), start=1):
        _drop(raw, f"drop-{number}", tables)
        ingest_to_data_dir(raw, data)
    store = DataDir(data)
    orders = {r["order_id"]: r for r in pq.read_table(store.raw_table_path("orders")).to_pylist()}
    assert orders["O1"]["paid_at"] is not None
    refunds = pq.read_table(store.raw_table_path("refunds")).to_pylist()
    assert {r["refund_id"]: r["status"] for r in refunds} == {"R1": "succeeded", "R2": "rejected"}
    lives = pq.read_table(store.raw_table_path("live_sessions")).to_pylist()
    assert {r["live_id"]: str(r["ended_at"]) for r in lives}["LV2"] == "2026-03-03 08:00:00+00:00"
    assert len(lives) == 2


def test_a_bad_row_in_a_later_drop_stores_nothing(tmp_path):
    """A refund of an unknown line in drop 3: the ingestion names file, row, column and rule,
    and the data directory is byte for byte what drop 2 left."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, third = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    _drop(raw, "drop-2", second)
    ingest_to_data_dir(raw, data)
    before = _digest(data)
    third["refunds"].append(
        dict(
            refund_id="R9",
            line_id="OL404",
            requested_at="2026-03-03T00:00:00Z",
            status="pending",
            succeeded_at=None,
            amount="1.00",
            updated_at="2026-03-03T00:00:00Z",
        )
    )
    _drop(raw, "drop-3", third)
    with pytest.raises(RawDataError) as caught:
        ingest_to_data_dir(raw, data)
    message = str(caught.value)
    assert "refunds/drop-3.csv row 2" in message
    assert "refund_id=R9" in message and "line_id" in message and "unknown_line" in message
    assert _digest(data) == before


def test_a_reference_to_a_line_stored_in_an_earlier_drop_is_fine(tmp_path):
    """R2 refunds OL4, stored two drops before: checked against the stored state."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    _drop(raw, "drop-2", {"refunds": [r for r in second["refunds"] if r["refund_id"] == "R2"]})
    result = ingest_to_data_dir(raw, data)
    assert result.rows_read["refunds"] == 1
    assert result.tables["refunds"].column("line_id").to_pylist() == ["OL4"]


def test_a_conflict_with_a_stored_version_is_rejected(tmp_path):
    """Same key, same updated_at, other content, across two drops: an error, as in one."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, _, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    o3 = dict(first["orders"][1], shipping_fee="9.99")
    _drop(raw, "drop-2", {"orders": [o3]})
    with pytest.raises(RawDataError, match="conflicting_versions"):
        ingest_to_data_dir(raw, data)


def test_a_conflict_with_a_superseded_version_is_rejected_as_a_rebuild_would(tmp_path):
    """O1's unpaid version (10:40) is superseded in drop 2; a different row of O1 at 10:40 in
    drop 3 conflicts with it, though it is no longer in effect."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    _drop(raw, "drop-2", second)
    ingest_to_data_dir(raw, data)
    unpaid = dict(first["orders"][0], shipping_fee="4.00")
    _drop(raw, "drop-3", {"orders": [unpaid]})
    with pytest.raises(RawDataError, match="conflicting_versions"):
        ingest_to_data_dir(raw, data)
    with pytest.raises(RawDataError, match="conflicting_versions"):
        ingest_to_data_dir(raw, tmp_path / "rebuilt", rebuild=True)


def test_an_unchanged_file_delivered_again_is_skipped(tmp_path):
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, _, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    snapshot = DataDir(data).raw_snapshot_id()
    _drop(raw, "drop-1", first)  # the same bytes, a new modification time
    path = raw / "orders" / "drop-1.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    result = ingest_to_data_dir(raw, data)
    assert sum(result.rows_read.values()) == 0
    assert DataDir(data).raw_snapshot_id() == snapshot
    manifest = stored_manifest(DataDir(data)).to_pylist()
    entry = next(m for m in manifest if m["path"] == "orders/drop-1.csv")
    assert entry["mtime_ns"] == path.stat().st_mtime_ns  # the next run does not hash it again
    assert entry["rows"] == 2 and entry["ingestion"] == 1


def test_a_changed_file_is_read_again(tmp_path):
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, _, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    extra = dict(first["cart_adds"][0], cart_add_id="C9")
    write_table_file(raw / "cart_adds" / "drop-1.csv", "cart_adds", [*first["cart_adds"], extra])
    result = ingest_to_data_dir(raw, data)
    assert result.rows_read["cart_adds"] == 3  # the file's rows; two are exact duplicates
    assert sorted(result.tables["cart_adds"].column("cart_add_id").to_pylist()) == [
        "C1",
        "C2",
        "C9",
    ]
    manifest = stored_manifest(DataDir(data)).to_pylist()
    entry = next(m for m in manifest if m["path"] == "cart_adds/drop-1.csv")
    assert (entry["rows"], entry["ingestion"]) == (3, 2)


def test_a_removed_file_leaves_its_rows_stored(tmp_path):
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, _ = _drops()
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data)
    (raw / "videos" / "drop-1.csv").unlink()
    _drop(raw, "drop-2", second)
    result = ingest_to_data_dir(raw, data)
    assert result.tables["videos"].column("video_id").to_pylist() == ["V1"]
    assert "videos/drop-1.csv" in stored_manifest(DataDir(data)).column("path").to_pylist()


def test_quarantine_across_drops_equals_a_rebuild(tmp_path):
    """Quarantine mode: a bad order in drop 2 is kept aside with its lines; drop 3's new
    version of that order is rejected too ("an older version never silently takes its
    place"), and the stored state equals a rebuild in quarantine mode."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, _ = _drops()
    o2_bad = dict(second["orders"][1], shipping_fee="-1.00")
    second["orders"][1] = o2_bad
    second["refunds"] = []
    _drop(raw, "drop-1", first)
    ingest_to_data_dir(raw, data, quarantine=True)
    _drop(raw, "drop-2", second)
    result = ingest_to_data_dir(raw, data, quarantine=True)
    assert result.rows_rejected["orders"] == 1 and result.rows_rejected["order_lines"] == 1
    o2_later = dict(o2_bad, shipping_fee="0.00", updated_at="2026-03-01T14:00:00Z")
    _drop(raw, "drop-3", {"orders": [o2_later]})
    result = ingest_to_data_dir(raw, data, quarantine=True)
    assert result.rows_rejected["orders"] == 1
    assert "O2" not in result.tables["orders"].column("order_id").to_pylist()

    rebuilt = tmp_path / "rebuilt"
    ingest_to_data_dir(raw, rebuilt, quarantine=True, rebuild=True)
    ours, theirs = _stored(data), _stored(rebuilt)
    for table in RAW_TABLES:
        assert ours[table] == theirs[table], table
    # the same rows rejected, each once (reasons may be worded for the drop that found them)
    assert [r[:4] for r in ours["raw_quarantine"]] == [r[:4] for r in theirs["raw_quarantine"]]
