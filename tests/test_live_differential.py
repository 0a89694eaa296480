"""Differential test: the LIVE SQL against the plain-Python reading of the spec
(``tests/reference_live.py``), on small random raw snapshots and on the simulator's data
through the real ingestion: every row and every value."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import reference_live
from daily_scenarios import facts_connection
from live_scenarios import DASHBOARD_ASSETS, LIST_ASSETS, START, compute, random_raw, sort_rows

from compass_pipeline.config import Settings
from compass_pipeline.ingest import ingest_raw
from compass_pipeline.refresh_calendar import dashboard_instants, live_list_instants
from compass_pipeline.simulate import simulate
from schemas.live import validate_live_output

SEEDS = (1, 2, 3, 5, 8)


def _assert_live_matches_reference(tables, settings, list_instants, dashboard_refreshes):
    raw = {name: table.to_pylist() for name, table in tables.items()}
    plans = {
        **dict.fromkeys(LIST_ASSETS, list_instants),
        **dict.fromkeys(DASHBOARD_ASSETS, dashboard_refreshes),
    }
    con, _ = facts_connection(tables, settings)
    try:
        for asset, instants in plans.items():
            table = compute(con, asset, instants, settings)
            validate_live_output(asset, table, None)
            got = sort_rows(asset, table.to_pylist())
            want = sort_rows(
                asset, reference_live.compute(asset, raw, instants, settings.live_list_hours)
            )
            assert len(got) == len(want), f"{asset}: {len(got)} rows, reference {len(want)}"
            for got_row, want_row in zip(got, want, strict=True):
                assert got_row == want_row, asset
            assert got, f"{asset}: the data should exercise it"
    finally:
        con.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_live_assets_equal_the_reference(seed):
    settings = Settings(live_list_hours=(4, 12, 20) if seed % 2 else (1, 9, 17, 23))
    end = START + timedelta(days=36)
    _assert_live_matches_reference(
        random_raw(seed).tables(),
        settings,
        live_list_instants(settings, START, end),
        dashboard_instants(START, end),
    )


def test_simulated_marketplace_equals_the_reference(tmp_path):
    """The simulator's data, through the real ingestion, gives the reference's rows: the
    first days' refreshes and those around the LIVEs' window closes."""
    simulate(tmp_path / "raw", start=date(2026, 3, 1), days=3, seed=5, scale=60)
    settings = Settings()
    first, closing = START, START + timedelta(days=30)
    _assert_live_matches_reference(
        ingest_raw(tmp_path / "raw").tables,
        settings,
        live_list_instants(settings, first, first + timedelta(days=4))
        + live_list_instants(settings, closing, closing + timedelta(days=4)),
        dashboard_instants(first, first + timedelta(days=4))
        + dashboard_instants(closing, closing + timedelta(days=4)),
    )
