"""Every partition is validated before it is stored (outputs.md): a corrupted partition is
rejected and not stored, the other partitions of the same run are, and the Dagster run
fails with the failed check shown on that partition."""

from __future__ import annotations

import shutil

import dagster as dg
import pyarrow as pa
import pytest

from compass_pipeline import catalog, pipeline
from compass_pipeline.config import Settings
from compass_pipeline.registry import DASHBOARD, LIVE_LIST, STAT_DATE
from compass_pipeline.storage import DataDir

# Two partitions of each set in which the small simulated marketplace has rows.
KEYS = {
    STAT_DATE: ["2026-03-03", "2026-03-04"],
    LIVE_LIST: ["2026-03-05T04:00", "2026-03-05T12:00"],
    DASHBOARD: ["2026-03-05", "2026-03-06"],
}
PARTITIONED = [spec for spec in catalog.all_specs() if spec.partitions in KEYS]


@pytest.fixture(scope="module")
def built_data_dir(small_raw_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("built") / "data"
    pipeline.ingest(small_raw_dir, data)
    pipeline.build_facts(data, Settings())
    return data


@pytest.fixture
def data_dir(built_data_dir, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(built_data_dir, copy, symlinks=True)
    return copy


def _corrupt_second_partition(monkeypatch, spec):
    """Duplicate the rows of the second partition: its unique key check must fire."""
    original = pipeline.partition_kind
    kind = original(spec)
    second = kind.parse(KEYS[spec.partitions][1])

    def compute(con, assets, values, settings, as_of):
        tables = kind.compute(con, assets, values, settings, as_of)
        table = tables[spec.name]
        column = table[kind.column]
        mask = pa.compute.equal(column, pa.scalar(second, column.type))
        return {**tables, spec.name: pa.concat_tables([table, table.filter(mask)])}

    def corrupted(other):
        if other.name != spec.name:
            return original(other)
        return pipeline.PartitionKind(kind.name, kind.column, kind.parse, compute, kind.validate)

    monkeypatch.setattr(pipeline, "partition_kind", corrupted)


@pytest.mark.parametrize("spec", PARTITIONED, ids=lambda spec: spec.name)
def test_corrupted_partition_is_rejected_and_not_stored(spec, data_dir, monkeypatch):
    first, second = KEYS[spec.partitions]
    clean = pipeline.materialize_partitions(data_dir, spec.name, [first, second], Settings())
    assert all(result.passed for result in clean)
    assert clean[1].row_count > 0, f"{spec.name}: pick partitions with rows"
    store = DataDir(data_dir)
    stored_second = store.partition_path(spec.name, second).read_bytes()
    store.partition_path(spec.name, first).unlink()

    _corrupt_second_partition(monkeypatch, spec)
    results = pipeline.materialize_partitions(data_dir, spec.name, [first, second], Settings())

    assert [result.passed for result in results] == [True, False]
    assert "unique" in results[1].message.lower() or "duplicate" in results[1].message.lower()
    assert results[1].failure_cases is not None and results[1].failure_cases.num_rows > 0
    assert store.partition_path(spec.name, first).exists()
    assert store.partition_path(spec.name, second).read_bytes() == stored_second


def test_failed_partition_fails_the_run_and_its_check_in_dagster(
    small_raw_dir, data_dir, compass_env, monkeypatch
):
    from assets_defs.definitions import DAILY_JOB, build_definitions

    monkeypatch.setenv("COMPASS_RAW_DIR", str(small_raw_dir))
    monkeypatch.setenv("COMPASS_DATA_DIR", str(data_dir))
    spec = catalog.spec_by_name("core_data_daily")
    _corrupt_second_partition(monkeypatch, spec)
    defs = build_definitions(Settings())
    first, second = KEYS[STAT_DATE]
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey("core_data_daily")],
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": second,
            },
            raise_on_error=False,
        )
        assert not result.success
        evaluations = {e.partition: e for e in result.get_asset_check_evaluations()}
        assert evaluations[first].passed
        assert not evaluations[second].passed
        assert "failure_cases" in evaluations[second].metadata
        assert instance.get_materialized_partitions(dg.AssetKey("core_data_daily")) == {first}


def test_row_without_a_partition_fails_the_call_and_is_not_dropped(data_dir, monkeypatch):
    """A computed row whose partition column is null belongs to no partition: the call fails
    naming it, instead of storing the partitions without it."""
    spec = catalog.spec_by_name("core_data_daily")
    original = pipeline.partition_kind
    kind = original(spec)

    def compute(con, assets, values, settings, as_of):
        tables = kind.compute(con, assets, values, settings, as_of)
        table = tables[spec.name]
        index = table.schema.get_field_index(kind.column)
        column = pa.concat_arrays(
            [pa.nulls(1, table.schema.field(index).type), table[kind.column].combine_chunks()[1:]]
        )
        return {**tables, spec.name: table.set_column(index, kind.column, column)}

    monkeypatch.setattr(
        pipeline,
        "partition_kind",
        lambda other: (
            pipeline.PartitionKind(kind.name, kind.column, kind.parse, compute, kind.validate)
            if other.name == spec.name
            else original(other)
        ),
    )
    with pytest.raises(ValueError, match="rows outside the requested partitions"):
        pipeline.materialize_partitions(data_dir, spec.name, KEYS[STAT_DATE], Settings())
    assert not DataDir(data_dir).asset_dir(spec.name).exists()


def _live_list_defs(small_raw_dir, data_dir, monkeypatch):
    from assets_defs.definitions import build_definitions

    monkeypatch.setenv("COMPASS_RAW_DIR", str(small_raw_dir))
    monkeypatch.setenv("COMPASS_DATA_DIR", str(data_dir))
    return build_definitions(Settings())


def _range_tags(keys):
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def test_selecting_one_asset_of_a_shared_step_computes_only_that_asset(
    small_raw_dir, data_dir, compass_env, monkeypatch
):
    """The two LIVE-list snapshots share one step; materializing one of them (a UI selection)
    stores and checks that one only."""
    from assets_defs.definitions import LIVE_LIST_JOB

    defs = _live_list_defs(small_raw_dir, data_dir, monkeypatch)
    keys = KEYS[LIVE_LIST]
    creator, seller = dg.AssetKey("creator_live_snapshot"), dg.AssetKey("live_list_snapshot")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(LIVE_LIST_JOB).execute_in_process(
            instance=instance, asset_selection=[creator], tags=_range_tags(keys)
        )
        assert result.success
        assert instance.get_materialized_partitions(creator) == set(keys)
        assert not instance.get_materialized_partitions(seller)
        evaluations = {(e.asset_key, e.partition) for e in result.get_asset_check_evaluations()}
        assert evaluations == {(creator, key) for key in keys}
    assert not DataDir(data_dir).asset_dir("live_list_snapshot").exists()
    assert sorted(p.name for p in DataDir(data_dir).asset_dir("creator_live_snapshot").iterdir())


def test_selecting_only_the_validation_check_fails_with_a_clear_message(
    small_raw_dir, data_dir, compass_env, monkeypatch
):
    """`schema_valid` is evaluated while its partition is materialized, never alone."""
    defs = _live_list_defs(small_raw_dir, data_dir, monkeypatch)
    step = defs.resolve_assets_def(dg.AssetKey("creator_live_snapshot"))
    check = dg.AssetCheckKey(dg.AssetKey("creator_live_snapshot"), "schema_valid")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [step],
            selection=dg.AssetSelection.checks(check),
            instance=instance,
            tags=_range_tags(KEYS[LIVE_LIST]),
            raise_on_error=False,
        )
        assert not result.success
        failure = result.get_step_failure_events()[0]
        assert "select the asset itself" in failure.step_failure_data.error.message
    assert not DataDir(data_dir).asset_dir("creator_live_snapshot").exists()


def test_materializing_no_asset_is_an_error(data_dir):
    with pytest.raises(ValueError, match="no asset given"):
        pipeline.materialize_partitions(data_dir, [], KEYS[STAT_DATE], Settings())
