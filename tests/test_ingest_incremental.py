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
        if store.raw_table_glob(table) is None:  # a table that never had a row
            out[table] = []
            continue
        rows = store.read_raw_table(table)
        if table != "raw_quarantine":
            rows = rows.select(list(raw_table_info(table).columns))
        out[table] = sorted((tuple(r.values()) for r in rows.to_pylist()), key=repr)
    return out


def _rows_of(data: Path, table: str) -> list[dict]:
    store = DataDir(data)
    return store.read_raw_table(table).to_pylist() if store.raw_table_glob(table) else []


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
    orders = {r["order_id"]: r for r in store.read_raw_table("orders").to_pylist()}
    assert orders["O1"]["paid_at"] is not None
    refunds = store.read_raw_table("refunds").to_pylist()
    assert {r["refund_id"]: r["status"] for r in refunds} == {"R1": "succeeded", "R2": "rejected"}
    lives = store.read_raw_table("live_sessions").to_pylist()
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
    ingest_to_data_dir(raw, data)
    assert DataDir(data).read_raw_table("videos").column("video_id").to_pylist() == ["V1"]
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


def _catalog_views(data: Path) -> dict[str, list[tuple]]:
    """Every view of the catalog, sorted, R01/R03's `as_of` and the bookkeeping aside."""
    import duckdb

    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    try:
        views = [
            name
            for (name,) in con.sql(
                "select view_name from duckdb_views() where not internal"
            ).fetchall()
            if name != "_partitions"
        ]
        out = {}
        for name in views:
            columns = [c for c in con.sql(f'select * from "{name}" limit 0').columns]
            kept = ", ".join(f'"{c}"' for c in columns if c != "as_of")
            out[name] = sorted(con.sql(f'select {kept} from "{name}"').fetchall(), key=repr)
        return out
    finally:
        con.close()


@pytest.mark.slow
def test_compass_run_after_each_drop_equals_a_rebuild_view_by_view(tmp_path, compass_env):
    """Through the command line and Dagster: every catalog view after three incremental
    runs equals a `--rebuild` of the same landing zone."""
    from compass_pipeline.cli import main

    raw, incremental, rebuilt = tmp_path / "raw", tmp_path / "incremental", tmp_path / "rebuilt"
    span = ["--start", "2026-03-01", "--end", "2026-03-03"]
    for number, tables in enumerate(_drops(), start=1):
        _drop(raw, f"drop-{number}", tables)
        assert main(["run", "--raw", str(raw), "--data", str(incremental), *span]) == 0
    _assert_a_rebuild_gives_the_same_views(
        raw, incremental, rebuilt, span, ("raw_orders", "core_data_daily", "live_list_snapshot")
    )


def _assert_a_rebuild_gives_the_same_views(raw, incremental, rebuilt, span, filled):
    """`compass run --rebuild` of `raw` into `rebuilt`: every catalog view equals the one
    `incremental` holds, and the views `filled` have rows."""
    from compass_pipeline.cli import main

    assert main(["run", "--raw", str(raw), "--data", str(rebuilt), "--rebuild", *span]) == 0
    ours, theirs = _catalog_views(incremental), _catalog_views(rebuilt)
    assert ours.keys() == theirs.keys()
    assert all(ours[view] for view in filled)
    for view in ours:
        assert ours[view] == theirs[view], view


# A later drop that makes a stored row break a rule: the stored row is judged again
# (`closure`), so the drop fails as a rebuild from every file fails, and in quarantine
# mode the stored tables equal a rebuild's.


def _refund(refund_id, line_id, at, amount, status="succeeded"):
    return dict(
        refund_id=refund_id,
        line_id=line_id,
        requested_at=at,
        status=status,
        succeeded_at=at if status == "succeeded" else None,
        amount=amount,
        updated_at=at,
    )


def _event(event_id, live_id, viewer_id, kind, at):
    return dict(
        event_id=event_id,
        live_id=live_id,
        viewer_id=viewer_id,
        event_type=kind,
        occurred_at=at,
        viewer_country="US",
    )


def _late_breakers():
    """(id, rule, stored file named, drops): the last drop makes a stored row offend."""
    first, second, _ = _drops()
    first_with_e4 = {**first, "live_room_events": good_rows()["live_room_events"]}
    lv2 = _rows("live_sessions", live_id={"LV2"})[0]
    o3 = _rows("orders", order_id={"O3"})[0]
    ol5 = _rows("order_lines", line_id={"OL5"})[0]
    return [
        (
            "a LIVE ends before a stored room event",
            "outside_live",
            "live_room_events/drop-1.csv row 4",
            [first_with_e4, {"live_sessions": [{**lv2, "ended_at": "2026-03-03T04:30:00Z"}]}],
        ),
        (
            "an order paid after a stored refund was requested",
            "requested_before_paid",
            "refunds/drop-2.csv row 1",
            [
                first,
                {"refunds": [_refund("R5", "OL4", "2026-03-02T00:00:00Z", "1.00", "pending")]},
                {
                    "orders": [
                        {
                            **o3,
                            "paid_at": "2026-03-02T05:00:00Z",
                            "updated_at": "2026-03-02T05:00:00Z",
                        }
                    ]
                },
            ],
        ),
        (
            "a refund succeeding earlier pushes a stored refund above the line's GMV",
            "refund_exceeds_gmv",
            "refunds/drop-2.csv row 1",
            [
                first,
                {"refunds": [_refund("R5", "OL5", "2026-03-04T00:00:00Z", "15.00")]},
                {"refunds": [_refund("R6", "OL5", "2026-03-03T00:00:00Z", "10.00")]},
            ],
        ),
        (
            "a new line of a stored order lowers a refunded line's shipping share",
            "refund_exceeds_gmv",
            "refunds/drop-2.csv row 1",
            [
                first,
                {"refunds": [_refund("R5", "OL5", "2026-03-04T00:00:00Z", "20.50")]},
                {
                    "order_lines": [
                        {
                            **ol5,
                            "line_id": "OL6",
                            "source_type": "mall",
                            "source_id": None,
                            "commission_rate": None,
                        }
                    ]
                },
            ],
        ),
        (
            "an enter between a stored leave and a stored enter",
            "enter_leave_order",
            "live_room_events/drop-1.csv row 3",
            [
                first,
                {"live_room_events": [_event("E9", "LV1", "U1", "enter", "2026-03-01T10:21:00Z")]},
            ],
        ),
        (
            "a product of another currency in a stored LIVE's bag",
            "live_mixed_currency",
            "live_products/drop-1.csv row 1",
            [first, {"live_products": [dict(live_id="LV1", product_id="P3")]}],
        ),
    ]


@pytest.mark.parametrize(
    "case", _late_breakers(), ids=lambda c: c[0] if isinstance(c, tuple) else c
)
def test_a_drop_that_breaks_a_stored_row_fails_as_a_rebuild_would(tmp_path, case):
    _, rule, named, drops = case
    raw, data = tmp_path / "raw", tmp_path / "data"
    for number, tables in enumerate(drops[:-1], start=1):
        _drop(raw, f"drop-{number}", tables)
        ingest_to_data_dir(raw, data)
    before = _digest(data)
    _drop(raw, f"drop-{len(drops)}", drops[-1])
    with pytest.raises(RawDataError) as incremental:
        ingest_to_data_dir(raw, data)
    assert f"rule '{rule}'" in str(incremental.value)
    assert named in str(incremental.value)
    assert _digest(data) == before
    with pytest.raises(RawDataError) as rebuilt:
        ingest_to_data_dir(raw, tmp_path / "rebuilt", rebuild=True)
    assert {(v.table, v.rule) for v in incremental.value.violations} == {
        (v.table, v.rule) for v in rebuilt.value.violations
    }

    # quarantine mode: the same rows kept aside, the same rows stored
    quarantined = tmp_path / "quarantined"
    for number in range(1, len(drops) + 1):
        keep = raw.parent / f"raw-{number}"
        for table in RAW_TABLES:
            (keep / table).mkdir(parents=True, exist_ok=True)
            for path in (raw / table).glob("drop-*.csv"):
                if int(path.stem.split("-")[1]) <= number:
                    (keep / table / path.name).write_bytes(path.read_bytes())
        ingest_to_data_dir(keep, quarantined, quarantine=True)
    ingest_to_data_dir(raw, tmp_path / "rebuilt_q", quarantine=True, rebuild=True)
    ours, theirs = _stored(quarantined), _stored(tmp_path / "rebuilt_q")
    for table in RAW_TABLES:
        assert ours[table] == theirs[table], table
    assert [r[:4] for r in ours["raw_quarantine"]] == [r[:4] for r in theirs["raw_quarantine"]]


@pytest.mark.parametrize("compact_at", [0.25, 1.01])
def test_a_drop_leaves_the_stored_files_it_does_not_change(tmp_path, monkeypatch, compact_at):
    """Parts of two rows. Drop 3 supersedes R1 and LV2 (they leave their parts, as ids in
    the deleted list, or the part is rewritten once `COMPACT_AT` of it has left); every
    other stored part is the same file (a hard link into the new snapshot), O1 included
    (its old version delivered again changes nothing). Views, `_partitions` and the next
    drop's judgement all read the stored rows less those that left."""
    from compass_pipeline import catalog
    from compass_pipeline.ingest import snapshot

    monkeypatch.setattr(snapshot, "PART_ROWS", 2)
    monkeypatch.setattr(snapshot, "COMPACT_AT", compact_at)
    raw, data = tmp_path / "raw", tmp_path / "data"
    first, second, third = _drops()
    for number, tables in enumerate((first, second), start=1):
        _drop(raw, f"drop-{number}", tables)
        ingest_to_data_dir(raw, data)
    before = snapshot.stored_parts(DataDir(data))
    _drop(raw, "drop-3", third)
    ingest_to_data_dir(raw, data)
    after = snapshot.stored_parts(DataDir(data))

    def inodes(parts):
        return {(t, p.name): p.stat().st_ino for t, files in parts.effect.items() for p in files}

    old, new = inodes(before), inodes(after)
    same = {k for k in old if k in new and old[k] == new[k]}
    rewritten = {k for k in old if k in new and old[k] != new[k]}
    left = {("live_sessions", "part-000001-0000.parquet"), ("refunds", "part-000002-0000.parquet")}
    if compact_at <= 0.5:  # half of each of those parts left
        assert rewritten == left and not after.deleted
    else:
        left_in_effect = {table for kind, table in after.deleted if kind == "effect"}
        assert not rewritten and {"live_sessions", "refunds"} <= left_in_effect
    assert ("orders", "part-000002-0000.parquet") in same
    assert len(same) > 10
    ingest_to_data_dir(raw, tmp_path / "rebuilt", rebuild=True)
    assert _stored(data) == _stored(tmp_path / "rebuilt")
    catalog.refresh_catalog(DataDir(data))
    views = _catalog_views(data)
    assert sorted(r[0] for r in views["raw_refunds"]) == ["R1", "R2"]
    import duckdb

    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    counts = dict(con.sql("select asset, row_count from _partitions").fetchall())
    assert counts["raw_refunds"] == 2 and counts["raw_live_sessions"] == 2


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_simulated_appends_ingested_one_by_one_equal_a_rebuild(tmp_path, fmt):
    """`compass simulate --append` day by day, each day ingested as it lands: LIVEs that
    end after midnight, refunds that succeed days later, orders cancelled later, carts
    paid in a later drop. The stored tables equal one ingestion of every file."""
    from compass_pipeline.simulate import append, simulate

    raw, data = tmp_path / "raw", tmp_path / "data"
    simulate(raw, days=2, scale=150, seed=5, fmt=fmt)
    first = ingest_to_data_dir(raw, data)
    assert sum(first.rows_rejected.values()) == 0
    judged_again = {}
    for _ in range(3):
        append(raw, days=1)
        result = ingest_to_data_dir(raw, data)
        assert sum(result.rows_rejected.values()) == 0
        for table, ids in result.judged_again.items():
            judged_again[table] = judged_again.get(table, 0) + len(ids)
    ingest_to_data_dir(raw, tmp_path / "rebuilt", rebuild=True)
    assert _stored(data) == _stored(tmp_path / "rebuilt")
    for table in RAW_TABLES:  # one row per key in effect
        key = raw_table_info(table).key
        rows = [tuple(row[k] for k in key) for row in _rows_of(data, table)]
        assert len(rows) == len(set(rows)), table
    # later drops judged stored rows again (a LIVE on the air at every midnight), and far
    # fewer than were stored
    assert judged_again["live_sessions"] >= 3
    stored = sum(len(rows) for rows in _stored(data).values())
    assert 0 < sum(judged_again.values()) < stored / 4


@pytest.mark.slow
def test_simulated_appends_through_compass_run_equal_a_rebuild_view_by_view(tmp_path, compass_env):
    """`compass simulate --append`, then `compass run` after each drop: every catalog view
    (facts, marts, reconciliations) equals one `compass run --rebuild` of the same days."""
    from compass_pipeline.cli import main

    raw, incremental, rebuilt = tmp_path / "raw", tmp_path / "incremental", tmp_path / "rebuilt"
    assert main(["simulate", "--out", str(raw), "--days", "2", "--scale", "120"]) == 0
    span = ["--start", "2026-03-01", "--end", "2026-03-04"]
    assert main(["run", "--raw", str(raw), "--data", str(incremental), *span]) == 0
    for _ in range(2):
        assert main(["simulate", "--out", str(raw), "--append"]) == 0
        assert main(["run", "--raw", str(raw), "--data", str(incremental), *span]) == 0
    _assert_a_rebuild_gives_the_same_views(
        raw, incremental, rebuilt, span, ("line_facts", "core_data_daily", "reconciliation_live")
    )
