"""The data directory of outputs.md, "Storage": atomic partitions, typed views, `_partitions`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compass_pipeline import storage
from compass_pipeline.storage import CatalogEntry, DataDir

SCHEMA = pa.schema(
    [
        ("snapshot_at", pa.timestamp("us", tz="UTC")),
        ("shop_id", pa.string()),
        ("stat_date", pa.date32()),
        ("gmv", pa.decimal128(18, 2)),
    ]
)
SNAP = CatalogEntry("snap", SCHEMA, latest_key=("shop_id",))
RAW = CatalogEntry("raw_orders", SCHEMA, raw=True)


def _table(snapshot: datetime, rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "snapshot_at": pa.array([snapshot] * len(rows), pa.timestamp("us", tz="UTC")),
            "shop_id": [shop for shop, _ in rows],
            "stat_date": pa.array([date(2026, 3, 1)] * len(rows), pa.date32()),
            "gmv": pa.array([Decimal(v) for _, v in rows], pa.decimal128(18, 2)),
        },
        schema=SCHEMA,
    )


def _catalog(store: DataDir) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(store.catalog_path), read_only=True)


def test_every_view_exists_typed_before_its_first_partition(tmp_path):
    store = DataDir(tmp_path)
    store.refresh_catalog([SNAP, RAW])
    con = _catalog(store)
    types = dict(con.execute("select column_name, column_type from (describe snap)").fetchall())
    assert types == {
        "snapshot_at": "TIMESTAMP WITH TIME ZONE",
        "shop_id": "VARCHAR",
        "stat_date": "DATE",
        "gmv": "DECIMAL(18,2)",
    }
    assert con.execute("select count(*) from snap").fetchone() == (0,)
    assert con.execute("select count(*) from snap_latest").fetchone() == (0,)
    assert con.execute("select count(*) from raw_orders").fetchone() == (0,)
    assert con.execute("select count(*) from _partitions").fetchone() == (0,)


def test_partition_rewrite_replaces_never_duplicates_and_latest_view_picks_newest(tmp_path):
    store = DataDir(tmp_path)
    t1 = datetime(2026, 3, 1, 4, tzinfo=UTC)
    t2 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    store.write_partition("snap", "2026-03-01T04:00", _table(t1, [("s1", "1.00")]))
    store.write_partition("snap", "2026-03-01T04:00", _table(t1, [("s1", "1.50")]))
    store.write_partition("snap", "2026-03-01T12:00", _table(t2, [("s1", "2.25")]))
    store.refresh_catalog([SNAP])
    con = _catalog(store)
    assert con.execute("select count(*), sum(gmv) from snap").fetchone() == (2, Decimal("3.75"))
    assert con.execute("select gmv from snap_latest").fetchone() == (Decimal("2.25"),)


def test_empty_partition_is_written_and_listed_with_zero_rows(tmp_path):
    store = DataDir(tmp_path)
    watermark = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    store.write_partition(
        "snap", "2026-03-01T04:00", SCHEMA.empty_table(), data_watermark=watermark
    )
    store.refresh_catalog([SNAP])
    row = (
        _catalog(store)
        .execute("select asset, partition_key, row_count, data_watermark from _partitions")
        .fetchone()
    )
    assert row[:3] == ("snap", "2026-03-01T04:00", 0)
    assert row[3] == watermark


def test_failed_write_leaves_previous_partition_intact(tmp_path, monkeypatch):
    store = DataDir(tmp_path)
    t1 = datetime(2026, 3, 1, 4, tzinfo=UTC)
    path = store.write_partition("snap", "2026-03-01T04:00", _table(t1, [("s1", "1.00")]))
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    def crash(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(storage.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write_partition("snap", "2026-03-01T04:00", _table(t1, [("s1", "9.99")]))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert pq.read_table(path)["gmv"].to_pylist() == [Decimal("1.00")]


def test_raw_snapshot_is_replaced_as_one_set(tmp_path):
    store = DataDir(tmp_path)
    t = datetime(2026, 3, 1, tzinfo=UTC)
    first = store.replace_raw_snapshot(
        {"orders": _table(t, [("s1", "1.00")]), "refunds": _table(t, [("s1", "2.00")])},
        data_watermark=t,
    )
    second = store.replace_raw_snapshot(
        {"orders": _table(t, [("s2", "3.00")]), "refunds": _table(t, [("s2", "4.00")])},
        data_watermark=t,
    )
    assert store.raw_dir.resolve() == second
    assert first.exists(), "the previous snapshot stays for steps still reading it"
    third = store.replace_raw_snapshot(
        {"orders": _table(t, [("s2", "3.00")]), "refunds": _table(t, [("s2", "4.00")])},
        data_watermark=t,
    )
    assert store.raw_dir.resolve() == third
    assert second.exists() and not first.exists()
    assert pq.read_table(store.raw_table_path("orders"))["shop_id"].to_pylist() == ["s2"]
    assert store.raw_watermark() == t


def test_compute_connection_runs_in_utc(tmp_path):
    con = storage.connect()
    assert con.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)


def test_compute_connection_memory_cap_defaults_to_a_share_of_the_machine(monkeypatch):
    monkeypatch.delenv("COMPASS_DUCKDB_MEMORY_LIMIT", raising=False)
    assert storage.default_memory_limit().endswith("MB")
    assert int(storage.default_memory_limit()[:-2]) >= 1024
    monkeypatch.setenv("COMPASS_DUCKDB_MEMORY_LIMIT", "1GB")
    limit = storage.connect().execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit in {"953.6 MiB", "1.0 GiB", "1.0 GB"}


@pytest.mark.parametrize("ordered", [True, False])
def test_copied_query_keeps_every_row_and_restores_the_order_setting(tmp_path, ordered):
    con = storage.connect()
    path = tmp_path / "out.parquet"
    schema = pa.schema([("n", pa.int64())])
    query = "select range as n from range(300000) order by n desc"
    storage.copy_query_to_parquet(con, query, None, path, schema, {}, ordered=ordered)
    values = pq.read_table(path)["n"].to_pylist()
    assert sorted(values) == list(range(300000))
    if ordered:
        assert values == sorted(values, reverse=True)
    assert con.execute("select current_setting('preserve_insertion_order')").fetchone() == (True,)


def _copy_validated(path, query, schema, validate, metadata=None):
    """`copy_query_to_parquet` on a fresh connection, every row group shown to `validate`."""
    storage.copy_query_to_parquet(
        duckdb.connect(), query, None, path, schema, metadata or {}, validate=validate
    )


def test_copied_query_is_validated_one_row_group_at_a_time_before_it_is_written(tmp_path):
    """Every row group reaches `validate` as an Arrow table of the asset's schema, and the
    file holds exactly those row groups."""
    path = tmp_path / "facts.parquet"
    schema = pa.schema([("n", pa.int64())])
    seen: list[pa.Table] = []
    _copy_validated(path, "select range as n from range(600000)", schema, seen.append, {"k": "v"})
    assert [t.num_rows for t in seen] == [262_144, 262_144, 75_712]
    assert all(t.schema.equals(schema) for t in seen)
    stored = pq.ParquetFile(path)
    sizes = [stored.metadata.row_group(i).num_rows for i in range(stored.metadata.num_row_groups)]
    assert sizes == [262_144, 262_144, 75_712]
    assert pq.read_table(path)["n"].to_pylist() == list(range(600000))
    assert stored.schema_arrow.metadata[b"k"] == b"v"


def test_copied_query_rejected_by_validation_leaves_the_stored_file_as_it_was(tmp_path):
    path = tmp_path / "facts.parquet"
    schema = pa.schema([("n", pa.int64())])
    pq.write_table(pa.table({"n": [7]}), path)
    seen = []

    def reject_the_second(rows: pa.Table) -> None:
        seen.append(rows.num_rows)
        if len(seen) == 2:
            raise ValueError("bad row group")

    with pytest.raises(ValueError, match="bad row group"):
        _copy_validated(path, "select range as n from range(600000)", schema, reject_the_second)
    assert seen == [262_144, 262_144]
    assert pq.read_table(path)["n"].to_pylist() == [7]
    assert [p.name for p in tmp_path.iterdir()] == ["facts.parquet"]


def test_copied_empty_query_is_validated_and_stored_with_its_schema(tmp_path):
    path = tmp_path / "facts.parquet"
    schema = pa.schema([("n", pa.int64()), ("s", pa.string())])
    seen: list[pa.Table] = []
    _copy_validated(path, "select range as n, 'x' as s from range(0)", schema, seen.append)
    assert [t.num_rows for t in seen] == [0]
    assert seen[0].schema.equals(schema)
    stored = pq.read_table(path)
    assert stored.num_rows == 0 and stored.schema.names == ["n", "s"]


def test_parquet_dictionaries_only_for_few_values_statistics_only_where_ordered(tmp_path):
    """Ids get neither a dictionary nor string statistics; a few-valued column gets a
    dictionary; numbers, instants and the order's string keys keep min/max statistics."""
    n = 4_000
    table = pa.table(
        {
            "line_id": [f"L{i:06d}" for i in range(n)],
            "order_id": [f"O{i // 2:06d}" for i in range(n)],
            "channel": ["live", "video"] * (n // 2),
            "gmv": pa.array([Decimal(i) / 100 for i in range(n)], pa.decimal128(18, 2)),
            "amounts": [[{"name": "gmv", "value": 1}]] * n,
        }
    )
    path = tmp_path / "t.parquet"
    storage.write_parquet_atomic(path, table, {"k": "v"}, sort_by=("order_id",))
    group = pq.ParquetFile(path).metadata.row_group(0)
    chunks = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert [name for name, c in chunks.items() if c.has_dictionary_page] == ["channel"]
    assert [name for name, c in chunks.items() if c.is_stats_set] == ["order_id", "gmv"]
    assert chunks["order_id"].statistics.min == "O000000"
    assert pq.read_table(path).equals(table)


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("jemalloc", "jemalloc")])
def test_arrow_allocates_from_the_c_library_unless_the_user_chooses(chosen, expected):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = "import compass_pipeline, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == expected, out.stderr


def test_streamed_query_keeps_dictionaries_of_few_valued_strings_only(tmp_path):
    """Through DuckDB: a product id of 10 000 values (each repeated ten times: more than
    one in eight rows of the sample distinct) is stored plain; a two-valued column keeps
    its dictionary."""
    schema = pa.schema([("product_id", pa.string()), ("channel", pa.string())])
    query = (
        "select 'P' || lpad((i % 10000)::varchar, 12, '0') as product_id, "
        "case when i % 2 = 0 then 'live' else 'video' end as channel from range(100000) t(i)"
    )
    path = tmp_path / "facts.parquet"
    storage.copy_query_to_parquet(storage.connect(), query, None, path, schema, {"k": "v"})
    group = pq.ParquetFile(path).metadata.row_group(0)
    dictionary = {
        group.column(i).path_in_schema: group.column(i).has_dictionary_page
        for i in range(group.num_columns)
    }
    assert dictionary == {"product_id": False, "channel": True}
    assert pq.read_table(path).num_rows == 100_000
