"""The simulator as a landing zone: a stream of daily drops (raw-contract.md, "Incremental
ingestion"), and `compass simulate --append` adding the next ones.

Day d's files hold what an exporter delivers at the end of that UTC day, T_d = 00:00 UTC of
day d + 1: the rows created that day and the new versions of rows that changed that day.
So a run of N days is the first N drops of any longer run, no drop holds an instant after
its T_d, the rows in effect after each drop are the marketplace as it stood at T_d, and the
contract's rules hold for every prefix of drops. The queries are written here from the
contract and the spec, independently of the simulator's code.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_simulator import CONTRACT, _count, _files, _views

from compass_pipeline.simulate import SimulationStateError, append, simulate
from compass_pipeline.simulate.columns import DAILY_TABLES, SCHEMAS, STATIC_TABLES

START = date(2026, 3, 1)
DAYS = 10
SCALE = 200
SEED = 13


@pytest.fixture(scope="module")
def drops(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("drops") / "raw"
    simulate(out, start=START, days=DAYS, seed=SEED, scale=SCALE)
    return out


@pytest.fixture(scope="module")
def con(drops) -> duckdb.DuckDBPyConnection:
    """`<table>_drops`: every row as written, with `drop_day`, the day of the file it is in."""
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    for name in DAILY_TABLES:
        connection.execute(
            f"""create table {name}_drops as
            select * exclude (filename),
                regexp_extract(filename, 'part-([0-9-]+)[.]', 1)::date as drop_day
            from read_parquet('{drops / name}/*.parquet', filename = true)"""
        )
    return connection


def _day_end(day: str) -> str:
    """T_d as SQL: 00:00 UTC after the drop's day."""
    return f"({day}::timestamptz + interval 1 day)"


def _timestamp_columns(name: str) -> list[str]:
    return [f.name for f in SCHEMAS[name] if pa.types.is_timestamp(f.type)]


# --- appending is continuing ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_two_days_appended_day_by_day_are_byte_identical_to_five_days(tmp_path, fmt):
    """Same file names, same bytes, the state and the queue of undelivered rows included."""
    kwargs = {"start": START, "seed": 3, "scale": 120, "fmt": fmt}
    simulate(tmp_path / "whole", days=5, **kwargs)
    simulate(tmp_path / "stepped", days=2, **kwargs)
    for _ in range(3):
        append(tmp_path / "stepped")
    simulate(tmp_path / "at_once", days=2, **kwargs)
    append(tmp_path / "at_once", days=3)
    whole = _files(tmp_path / "whole")
    assert sum(name.endswith(f"part-2026-03-05.{fmt}") for name in whole) == len(DAILY_TABLES)
    assert _files(tmp_path / "stepped") == whole
    assert _files(tmp_path / "at_once") == whole


def test_a_short_run_is_the_first_drops_of_a_longer_one(tmp_path, drops):
    simulate(tmp_path, start=START, days=3, seed=SEED, scale=SCALE)
    short = {name: data for name, data in _files(tmp_path).items() if not name.startswith(".")}
    assert len(short) == len(STATIC_TABLES) + 3 * len(DAILY_TABLES)
    long = _files(drops)
    assert all(long[name] == data for name, data in short.items())


def test_append_records_the_days_and_says_what_it_wrote(tmp_path):
    simulate(tmp_path, start=START, days=2, seed=3, scale=40)
    summary = append(tmp_path, days=2, seed=3)
    assert (summary.first_day, summary.days) == (date(2026, 3, 3), 2)
    assert summary.snapshot_at.isoformat() == "2026-03-05T00:00:00+00:00"
    assert summary.tables["order_lines"] == 2 * 40
    assert summary.tables["shops"] == 0  # the static tables are not written again
    state = json.loads((tmp_path / ".compass-simulation.json").read_text())
    assert (state["start"], state["seed"], state["scale"], state["format"], state["days"]) == (
        "2026-03-01",
        3,
        40,
        "parquet",
        4,
    )
    assert len(list((tmp_path / "orders").iterdir())) == 4


def test_without_append_a_run_replaces_an_appended_one(tmp_path):
    simulate(tmp_path, start=START, days=2, seed=3, scale=40)
    append(tmp_path, days=2)
    simulate(tmp_path, start=START, days=1, seed=3, scale=40, fmt="csv")
    assert not list(tmp_path.rglob("*.parquet.*"))
    assert [p.name for p in (tmp_path / "orders").iterdir()] == ["part-2026-03-01.csv"]
    assert json.loads((tmp_path / ".compass-simulation.json").read_text())["days"] == 1


def test_append_without_a_simulation_is_an_error(tmp_path):
    with pytest.raises(SimulationStateError, match="no simulation to append to"):
        append(tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("seed", 4), ("scale", 41), ("start", date(2026, 3, 2)), ("fmt", "csv")],
)
def test_append_with_other_parameters_is_an_error_and_writes_nothing(tmp_path, option, value):
    simulate(tmp_path, start=START, days=2, seed=3, scale=40)
    before = _files(tmp_path)
    with pytest.raises(SimulationStateError, match="other parameters"):
        append(tmp_path, **{option: value})
    assert _files(tmp_path) == before


def test_the_command_line_appends_and_refuses_a_mismatching_seed(tmp_path, capsys):
    from compass_pipeline.cli import main

    out = str(tmp_path / "raw")
    assert main(["simulate", "--out", out, "--days", "2", "--scale", "30", "--seed", "3"]) == 0
    assert main(["simulate", "--out", out, "--append"]) == 0
    assert "appended 1 day from 2026-03-03" in capsys.readouterr().out
    assert main(["simulate", "--out", out, "--append", "--seed", "3", "--days", "2"]) == 0
    assert len(list((tmp_path / "raw" / "orders").iterdir())) == 5
    before = _files(tmp_path / "raw")
    assert main(["simulate", "--out", out, "--append", "--seed", "4"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "--seed 4" in err and "recorded: 3" in err
    assert _files(tmp_path / "raw") == before
    assert main(["simulate", "--out", str(tmp_path / "empty"), "--append"]) == 2
    assert "no simulation to append to" in capsys.readouterr().err


# --- each drop as of the end of its day ---------------------------------------------------


def test_every_table_gets_one_file_a_day_with_its_full_schema(drops):
    for name in DAILY_TABLES:
        parts = sorted((drops / name).iterdir())
        assert [p.name for p in parts] == [
            f"part-{START + timedelta(days=d)}.parquet" for d in range(DAYS)
        ]
        for part in parts:
            assert pq.read_schema(part).names == SCHEMAS[name].names
    # nothing new for the bindings on most days: an empty file, not a missing one
    sizes = [pq.read_metadata(p).num_rows for p in sorted((drops / "account_bindings").iterdir())]
    assert 0 in sizes and sizes[0] > 0


@pytest.mark.parametrize("name", [n for n in DAILY_TABLES if _timestamp_columns(n)])
def test_no_drop_holds_an_instant_after_the_end_of_its_day(con, name):
    for column in _timestamp_columns(name):
        late = _count(
            con, f"select count(*) from {name}_drops where {column} >= {_day_end('drop_day')}"
        )
        assert late == 0, f"{name}.{column}: {late} rows from after their drop's day"


# the instant of a row's change: it must lie in its drop's day (day 0 also carries what
# existed before the simulation: bindings made long ago; cart adds come with their sale)
CHANGE_INSTANT = {
    "orders": "updated_at",
    "refunds": "updated_at",
    "account_bindings": "updated_at",
    "commission_settlements": "settled_at",
    "live_room_events": "occurred_at",
    "product_impressions": "occurred_at",
    "videos": "published_at",
    "live_sessions": "coalesce(ended_at, started_at)",
}


@pytest.mark.parametrize("name", sorted(CHANGE_INSTANT))
def test_each_row_arrives_in_the_drop_of_the_day_it_changed(con, name):
    instant = CHANGE_INSTANT[name]
    early = _count(
        con,
        f"""select count(*) from {name}_drops
        where {instant} < drop_day::timestamptz and drop_day > date '{START}'""",
    )
    assert early == 0


def test_rows_created_with_their_sale_or_live_arrive_the_same_day(con):
    """Lines with their order, cart adds with the line that checks them out (or the day
    they were added), a LIVE's bag with the LIVE, a video's products with the video."""
    rules = {
        "line_and_first_order_version": """select count(*) from order_lines_drops l
            join (select order_id, min(drop_day) as first_drop, min(created_at) as created
                  from orders_drops group by all) o using (order_id)
            where l.drop_day <> o.first_drop or l.drop_day <> o.created::date""",
        "cart_add_with_its_line_or_on_its_day": """select count(*) from cart_adds_drops c
            left join order_lines_drops l
              on l.source_type = 'cart' and l.source_id = c.cart_add_id
            where c.drop_day <> coalesce(l.drop_day, c.added_at::date)""",
        "bag_with_its_live": """select count(*) from live_products_drops p
            join (select live_id, min(drop_day) as first_drop from live_sessions_drops
                  group by all) s using (live_id)
            where p.drop_day <> s.first_drop""",
        "video_products_with_the_video": """select count(*) from video_products_drops p
            join videos_drops v using (video_id) where p.drop_day <> v.drop_day""",
        "live_first_on_its_start_day": """select count(*) from (
            select live_id, min(drop_day) as first_drop, min(started_at) as started
            from live_sessions_drops group by all) where first_drop <> started::date""",
    }
    for rule, sql in rules.items():
        assert _count(con, sql) == 0, rule


# --- changes arrive as later versions ----------------------------------------------------

# Per table: its key, how the newest version is found, and for each changing column the
# instant from which the change is in effect; after each drop, the rows in effect must show
# a change if and only if it happened before the drop's T_d.
IN_EFFECT = {
    "orders": (
        "order_id",
        "updated_at desc",
        {"paid_at": "paid_at", "cancelled_at": "cancelled_at"},
    ),
    "refunds": ("refund_id", "updated_at desc", {"succeeded_at": "succeeded_at"}),
    "account_bindings": (
        "shop_id, account_id",
        "updated_at desc",
        {"unbound_at": "unbound_at"},
    ),
    "live_sessions": ("live_id", "ended_at desc nulls last", {"ended_at": "ended_at"}),
}


@pytest.mark.parametrize("name", sorted(IN_EFFECT))
def test_after_each_drop_the_rows_in_effect_are_the_state_at_its_day_end(con, name):
    key, newest, changes = IN_EFFECT[name]
    mismatches = " or ".join(
        f"e.{column} is distinct from "
        f"(case when f.{column} < {_day_end('e.d')} then f.{column} end)"
        for column in changes
    )
    sql = f"""
        with days as (select distinct drop_day as d from {name}_drops),
        effect as (
            select days.d, v.*, row_number() over (
                partition by days.d, {", ".join(f"v.{k.strip()}" for k in key.split(","))}
                order by {", ".join(f"v.{part}" for part in newest.split(", "))}) as rank
            from days join {name}_drops as v on v.drop_day <= days.d),
        e as (select * from effect where rank = 1),
        f as (select * from e where d = (select max(d) from days))
        select count(*) from e join f using ({key}) where {mismatches}
    """
    assert _count(con, sql) == 0
    if name == "refunds":  # and a refund's status: pending until decided
        assert (
            _count(
                con,
                """with v as (select *, row_number() over (
                    partition by refund_id order by updated_at desc) as rank from refunds_drops)
                select count(*) from v where rank = 1 and status = 'pending'
                  and exists (select 1 from refunds_drops w where w.refund_id = v.refund_id
                              and w.status <> 'pending')""",
            )
            == 0
        )


def test_a_live_on_the_air_at_a_drops_end_arrives_again_ended_the_next_day(con):
    """Every day has one (a nightly LIVE); the two rows differ in `ended_at` only."""
    on_air = con.sql(
        """select a.drop_day, count(*) from live_sessions_drops a
        join live_sessions_drops b on b.live_id = a.live_id and b.drop_day = a.drop_day + 1
        where a.ended_at is null and b.ended_at is not null
          and (a.account_id, a.region, a.title, a.started_at)
              = (b.account_id, b.region, b.title, b.started_at)
        group by all"""
    ).fetchall()
    assert {day for day, _ in on_air} == {START + timedelta(days=d) for d in range(DAYS - 1)}
    unresolved = _count(
        con,
        f"""select count(*) from live_sessions_drops a where a.ended_at is null
        and a.drop_day < date '{START + timedelta(days=DAYS - 1)}'
        and not exists (select 1 from live_sessions_drops b
                        where b.live_id = a.live_id and b.ended_at is not null)""",
    )
    assert unresolved == 0


def test_a_refund_pending_in_one_drop_succeeds_in_a_later_one(con):
    assert (
        _count(
            con,
            """select count(*) from refunds_drops p join refunds_drops s using (refund_id)
            where p.status = 'pending' and s.status = 'succeeded' and s.drop_day > p.drop_day
              and p.succeeded_at is null and s.succeeded_at >= s.drop_day::timestamptz""",
        )
        >= 10
    )


def test_an_order_is_cancelled_in_a_later_drop_than_it_was_created(con):
    assert (
        _count(
            con,
            """select count(*) from orders_drops o join orders_drops c using (order_id)
            where o.cancelled_at is null and c.cancelled_at is not null
              and c.drop_day > o.drop_day""",
        )
        >= 10
    )
    # and one created before midnight and paid after it: open first, paid the next day
    assert (
        _count(
            con,
            """select count(*) from orders_drops o join orders_drops p using (order_id)
            where o.paid_at is null and p.paid_at is not null and p.drop_day = o.drop_day + 1
              and p.paid_at::date = p.drop_day""",
        )
        >= 1
    )


def test_a_binding_is_unbound_in_the_drop_of_its_unbind_day(con):
    rows = con.sql(
        """select b.drop_day, b.unbound_at from account_bindings_drops b
        where b.unbound_at is not null order by all"""
    ).fetchall()
    assert len(rows) >= 2
    assert all(day == unbound.date() for day, unbound in rows)
    assert (
        _count(
            con,
            """select count(*) from account_bindings_drops a join account_bindings_drops b
            using (shop_id, account_id)
            where a.unbound_at is null and b.unbound_at is not null and a.drop_day < b.drop_day""",
        )
        >= 2
    )


# --- the contract holds for every prefix of drops ------------------------------------------


@pytest.mark.parametrize("days", range(1, DAYS + 1))
def test_every_contract_rule_holds_after_each_drop(drops, tmp_path, days):
    """The landing zone as an ingestion finds it after drop `days`: the static files and the
    first `days` files of every table (cross-table rules included)."""
    for name in STATIC_TABLES:
        shutil.copy(drops / f"{name}.parquet", tmp_path)
    for name in DAILY_TABLES:
        (tmp_path / name).mkdir()
        for part in sorted((drops / name).iterdir())[:days]:
            shutil.copy(part, tmp_path / name)
    connection = duckdb.connect()
    _views(connection, tmp_path)
    day_end = f"timestamptz '{START + timedelta(days=days)} 00:00:00+00'"
    broken = {
        rule: n
        for rule, sql in CONTRACT.items()
        if (n := _count(connection, sql, snapshot=day_end))
    }
    assert broken == {}
