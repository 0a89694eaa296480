"""The Dagster layer: definitions load, schedules ask for the right partition, assets
materialize in-process with per-partition metadata and check results."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets_defs.definitions import DAILY_JOB, INGEST_JOB, build_definitions
from assets_defs.resources import CompassResource
from compass_pipeline.config import Settings


def _defs(raw: Path, data: Path, quarantine: bool = False, monkeypatch=None) -> dg.Definitions:
    monkeypatch.setenv("COMPASS_RAW_DIR", str(raw))
    monkeypatch.setenv("COMPASS_DATA_DIR", str(data))
    if quarantine:
        monkeypatch.setenv("COMPASS_QUARANTINE", "true")
    return build_definitions(Settings())


def test_definitions_load_with_every_job_and_schedule():
    defs = build_definitions(Settings())
    dg.Definitions.validate_loadable(defs)
    for job in (INGEST_JOB, DAILY_JOB):
        assert defs.resolve_job_def(job)
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"raw", "facts", "daily"} <= groups


def test_resource_defaults_come_from_environment(monkeypatch, tmp_path):
    from assets_defs.resources import resource_from_env

    monkeypatch.setenv("COMPASS_RAW_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("COMPASS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("COMPASS_QUARANTINE", "yes")
    resource = resource_from_env()
    assert resource == CompassResource(
        raw_dir=str(tmp_path / "r"), data_dir=str(tmp_path / "d"), quarantine=True
    )


def test_ingestion_assets_materialize_in_process(small_raw_dir, compass_env, monkeypatch):
    data = compass_env / "data"
    defs = _defs(small_raw_dir, data, monkeypatch=monkeypatch)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(INGEST_JOB).execute_in_process(instance=instance)
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert evaluations and all(e.passed for e in evaluations)
        materialized = {m.asset_key.path[-1] for m in result.get_asset_materialization_events()}
    assert {"raw_orders", "raw_order_lines", "raw_quarantine", "line_facts"} <= materialized
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    orders = con.execute("select count(*) from raw_orders").fetchone()[0]
    lines = con.execute("select count(*) from raw_order_lines").fetchone()[0]
    assert orders > 0 and lines > orders
    assert con.execute("select count(*) from raw_quarantine").fetchone() == (0,)


def test_daily_range_run_records_each_partition_with_its_check(
    small_raw_dir, compass_env, monkeypatch
):
    data = compass_env / "data"
    defs = _defs(small_raw_dir, data, monkeypatch=monkeypatch)
    tags = {
        "dagster/asset_partition_range_start": "2026-03-02",
        "dagster/asset_partition_range_end": "2026-03-04",
    }
    with dg.instance_for_test() as instance:
        # the daily job reads the stored facts: the ingestion is a job of its own
        assert defs.resolve_job_def(INGEST_JOB).execute_in_process(instance=instance).success
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(instance=instance, tags=tags)
        assert result.success
        key = dg.AssetKey("core_data_daily")
        assert instance.get_materialized_partitions(key) == {
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
        }
        checks = [e for e in result.get_asset_check_evaluations() if e.asset_key == key]
        assert sorted(e.partition for e in checks) == ["2026-03-02", "2026-03-03", "2026-03-04"]
        assert all(e.passed and e.target_materialization_data for e in checks)
        gmv_meta = [
            m.materialization.metadata["gmv_total"].value
            for m in result.get_asset_materialization_events()
            if m.asset_key == key
        ]
        assert len(gmv_meta) == 3
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    keys = con.execute(
        "select partition_key from _partitions where asset = 'core_data_daily' order by 1"
    ).fetchall()
    assert keys == [("2026-03-02",), ("2026-03-03",), ("2026-03-04",)]
    totals = con.execute(
        "select stat_date::varchar, sum(gmv)::varchar from core_data_daily group by 1 order by 1"
    ).fetchall()
    assert [str(t) for _, t in totals] == gmv_meta


@pytest.mark.parametrize("quarantine", [False, True])
def test_bad_raw_row_fails_closed_or_is_quarantined_visibly(
    small_raw_dir, compass_env, monkeypatch, quarantine
):
    import shutil

    import pyarrow.parquet as pq

    raw = compass_env / "raw"
    shutil.copytree(small_raw_dir, raw)
    path = raw / "skus.parquet"
    skus = pq.read_table(path).to_pylist()
    skus[0]["product_id"] = "NO_SUCH_PRODUCT"
    pq.write_table(pq.read_table(path).from_pylist(skus, schema=pq.read_schema(path)), path)
    data = compass_env / "data"
    defs = _defs(raw, data, quarantine=quarantine, monkeypatch=monkeypatch)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(INGEST_JOB).execute_in_process(
            instance=instance, raise_on_error=False
        )
        if not quarantine:
            assert not result.success
            failure = next(e for e in result.all_events if e.is_step_failure)
            text = str(failure.step_failure_data.user_failure_data.description)
            assert "skus" in text and "product_id" in text
            assert not (data / "raw").exists()
            return
        assert result.success
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        assert {e.asset_key.path[-1] for e in failed} >= {"raw_skus"}
    con = duckdb.connect(str(data / "compass.duckdb"), read_only=True)
    rows = con.execute(
        "select table_name, rule from raw_quarantine where table_name = 'skus'"
    ).fetchall()
    assert rows


def test_the_instance_sqlite_files_sync_at_checkpoints_not_every_event(tmp_path):
    """Loading the definitions makes every SQLite connection of the instance use
    synchronous=NORMAL (1) in Dagster's WAL mode, so an event is not one disk sync."""
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        with instance.event_log_storage.index_connection() as conn:
            assert conn.exec_driver_sql("pragma synchronous").scalar() == 1
            assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
    finally:
        instance.dispose()


def test_the_instance_sqlite_log_files_stay_open_between_events(tmp_path):
    """An event's connection closing is not the last one to its database, so SQLite does
    not checkpoint, sync and delete the log after every event (it would without the
    connection `assets_defs.instance` holds open)."""
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        for partition in ("a", "b"):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key="held", partition=partition)
            )
        logs = sorted(p.name for p in (tmp_path / "history" / "runs").glob("*.db-wal"))
        assert "index.db-wal" in logs
        events = instance.fetch_materializations(dg.AssetKey("held"), limit=10).records
        assert len(events) == 2
    finally:
        instance.dispose()


def test_the_instance_holds_the_latest_sqlite_files_open_only(tmp_path, monkeypatch):
    """A long-lived process (the UI's code server) keeps at most `HELD_OPEN_LIMIT` files."""
    import sqlalchemy

    from assets_defs import instance as held

    monkeypatch.setattr(held, "HELD_OPEN_LIMIT", 2)
    monkeypatch.setattr(held, "_held", type(held._held)())
    for name in ("one", "two", "three"):
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / name}.db")
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        engine.dispose()
    assert [os.path.basename(p) for p in held._held] == ["two.db", "three.db"]


def test_a_forked_process_opens_its_own_held_sqlite_connections(tmp_path, monkeypatch):
    """A child process never reads through, nor closes, the connections of its parent."""
    import sqlalchemy

    from assets_defs import instance as held

    monkeypatch.setattr(held, "_held", type(held._held)())
    monkeypatch.setattr(held, "_inherited", [])
    engine = sqlalchemy.create_engine(  # a connection per use, as Dagster's storage has
        f"sqlite:///{tmp_path / 'shared'}.db", poolclass=sqlalchemy.pool.NullPool
    )
    with engine.connect() as conn:
        conn.exec_driver_sql("select 1")
    parents = list(held._held.values())
    monkeypatch.setattr(held, "_held_by_pid", -1)  # as if this process were the fork
    with engine.connect() as conn:
        conn.exec_driver_sql("select 1")
    engine.dispose()
    assert held._inherited == parents
    assert len(held._held) == 1 and list(held._held.values()) != parents
    assert held._held_by_pid == os.getpid()


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
def _tiny() -> None:
    """Two partitions, a materialization event each."""


def test_the_instance_storage_makes_one_engine_per_database_on_dagster_s_own_files(tmp_path):
    """The instance `compass` writes stores runs and events through one SQLAlchemy engine
    per database file (Dagster's makes one per statement), in Dagster's files: the stock
    storage reads the same runs and materializations back."""
    from assets_defs.instance import CompassSqliteStorage
    from compass_pipeline.cli import ensure_instance

    home = ensure_instance(tmp_path / "home with 'quotes'")
    with dg.DagsterInstance.from_config(str(home)) as instance:  # no DAGSTER_HOME needed
        assert isinstance(instance.get_ref().storage, CompassSqliteStorage)
        for partition in ("a", "b"):
            assert dg.materialize([_tiny], instance=instance, partition_key=partition).success
        events, runs = instance.event_log_storage, instance.run_storage
        engines = set()
        for _ in range(2):
            with events.index_connection() as index, runs.connect() as run:
                engines |= {index.engine, run.engine}
        assert len(engines) == 2
        run_ids = {run.run_id for run in instance.get_runs()}
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # Dagster's default
    with dg.DagsterInstance.from_config(str(home)) as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert {run.run_id for run in stock.get_runs()} == run_ids
        assert stock.get_materialized_partitions(dg.AssetKey("_tiny")) == {"a", "b"}


def test_the_instance_storage_keeps_the_engines_of_the_latest_run_databases_only(
    tmp_path, monkeypatch
):
    """A long-lived process (the UI) reads many runs' databases: the engines of the latest
    `HELD_OPEN_LIMIT` are kept, the others disposed of."""
    from assets_defs import instance as storage_module
    from compass_pipeline.cli import ensure_instance

    monkeypatch.setattr(storage_module, "HELD_OPEN_LIMIT", 3)
    with dg.DagsterInstance.from_config(str(ensure_instance(tmp_path / "home"))) as instance:
        events = instance.event_log_storage
        for shard in ("run1", "run2", "run3", "run4", "index", "run5"):
            with events.run_connection(shard) as conn:
                conn.exec_driver_sql("select 1")
        assert list(events._engines) == ["run4", "index", "run5"]
