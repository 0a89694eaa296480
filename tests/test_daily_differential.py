"""Differential test: the SQL facts and marts against the plain-Python reference.

``reference.py`` reads metrics.md independently; on several seeds of small random raw data
(``daily_scenarios.random_raw``, which aims at the edges of the definitions) and on a small
simulated marketplace read through the real ingestion, every row of every daily asset must
be present in both and every value equal to the cent. Every SQL partition must also pass
its output schema.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import reference
from daily_scenarios import DAILY_KEYS, facts_connection, random_raw

from compass_pipeline.config import Settings
from compass_pipeline.daily import compute_daily, compute_daily_range
from compass_pipeline.facts import FACT_SPECS, fact_relation
from compass_pipeline.ingest import ingest_raw
from compass_pipeline.simulate import simulate
from compass_pipeline.storage import connect
from schemas.daily import validate_output

SEEDS = (1, 2, 3, 5, 8, 13)


def _by_key(rows, key):
    keyed = {tuple(row[k] for k in key): row for row in rows}
    assert len(keyed) == len(rows), "duplicate keys"
    return keyed


def _raw_rows(tables):
    return {name: table.to_pylist() for name, table in tables.items()}


def _assert_daily_matches_reference(tables):
    expected = reference.daily(_raw_rows(tables))
    dates = sorted({row["stat_date"] for rows in expected.values() for row in rows})
    # one day either side: dates with no activity have no rows
    span = [dates[0] - timedelta(days=1), *dates, dates[-1] + timedelta(days=1)]
    con, facts = facts_connection(tables)
    for name, table in facts.items():
        validate_output(name, table, None)
    for asset, key in DAILY_KEYS.items():
        got = compute_daily_range(con, asset, span)
        validate_output(asset, got, None)
        busiest = dates[len(dates) // 2]
        part = got.filter(pc.equal(got["stat_date"], pa.scalar(busiest, pa.date32())))
        validate_output(asset, part, busiest)
        got_rows = _by_key(got.to_pylist(), key)
        want_rows = _by_key(expected[asset], key)
        assert sorted(got_rows) == sorted(want_rows), asset
        for row_key, want in want_rows.items():
            assert got_rows[row_key] == want, (asset, row_key)
    con.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_daily_assets_match_the_reference_to_the_cent(seed):
    _assert_daily_matches_reference(random_raw(seed).tables())


def test_simulated_marketplace_matches_the_reference_to_the_cent(tmp_path):
    """The simulator's data, through the real ingestion, gives the same marts."""
    simulate(tmp_path / "raw", start=date(2026, 3, 1), days=4, seed=3, scale=60)
    _assert_daily_matches_reference(ingest_raw(tmp_path / "raw").tables)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_line_facts_match_the_reference(seed):
    """Shares, GMV, attribution, window close and estimates, line by line."""
    settings = Settings(live_list_hours=(2, 9, 17))
    tables = random_raw(seed).tables()
    want = {
        row["line_id"]: row
        for row in reference.line_facts(_raw_rows(tables), settings.live_list_hours)
    }
    con, facts = facts_connection(tables, settings)
    con.close()
    got = {row["line_id"]: row for row in facts["line_facts"].to_pylist()}
    assert sorted(got) == sorted(want)
    renamed = {"creator": "creator_account_id", "cancelled_date": "cancelled_stat_date"}
    for line_id, expected in want.items():
        for column, value in expected.items():
            assert got[line_id][renamed.get(column, column)] == value, (line_id, column)


def test_a_range_equals_its_single_dates():
    """One query over many stat dates gives each partition exactly as computed alone."""
    con, _ = facts_connection(random_raw(21).tables())
    [(first,)] = con.sql("select min(stat_date) from line_facts").fetchall()
    span = [first + timedelta(days=n) for n in range(0, 20, 3)]
    for asset in DAILY_KEYS:
        whole = compute_daily_range(con, asset, span)
        singles = [compute_daily(con, asset, day) for day in span]
        assert whole.to_pylist() == [row for part in singles for row in part.to_pylist()]
    con.close()


def test_facts_streamed_to_parquet_give_the_same_marts(tmp_path):
    """The large-data path: each fact written by DuckDB and read back as a Parquet view."""
    tables = random_raw(34).tables()
    in_memory, facts = facts_connection(tables)
    streamed = connect()
    for name, table in tables.items():
        streamed.register(f"raw_{name}", table)
    for spec in FACT_SPECS:
        path = tmp_path / f"{spec.name}.parquet"
        fact_relation(streamed, spec.name, Settings()).to_parquet(str(path))
        streamed.execute(
            f"create temporary view {spec.name} as select * from read_parquet('{path}')"
        )
    [(first, last)] = in_memory.sql(
        "select min(stat_date), max(stat_date) from line_facts"
    ).fetchall()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for asset in DAILY_KEYS:
        assert (
            compute_daily_range(streamed, asset, days).to_pylist()
            == compute_daily_range(in_memory, asset, days).to_pylist()
        ), asset
    assert streamed.sql("select line_id from line_facts").fetchall() == [
        (row["line_id"],) for row in facts["line_facts"].select(["line_id"]).to_pylist()
    ]
    in_memory.close()
    streamed.close()
