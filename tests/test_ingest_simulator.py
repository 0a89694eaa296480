"""The built-in simulator writes raw-contract.md's layout: it ingests with no row rejected,
the same from CSV as from Parquet."""

from __future__ import annotations

from datetime import date

import pytest

from compass_pipeline.ingest import ingest_raw
from compass_pipeline.simulate import simulate
from schemas.raw import RAW_TABLES

START = date(2026, 3, 1)


@pytest.fixture(scope="module")
def raw_simulated(tmp_path_factory):
    """The same small simulation written as Parquet and as CSV."""
    root = tmp_path_factory.mktemp("simulated")
    for fmt in ("parquet", "csv"):
        simulate(root / fmt, start=START, days=8, seed=5, scale=250, fmt=fmt)
    return root


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_simulator_output_ingests_with_nothing_rejected(raw_simulated, fmt):
    result = ingest_raw(raw_simulated / fmt)  # fail closed: raises on any violation
    assert sum(result.rows_rejected.values()) == 0
    assert result.warnings == []
    assert result.tables["order_lines"].num_rows > 0
    # versions and exact duplicates were resolved, not rejected
    assert sum(t.num_rows for t in result.tables.values()) <= sum(result.rows_read.values())


def test_simulator_csv_and_parquet_ingest_identically(raw_simulated):
    from_parquet = ingest_raw(raw_simulated / "parquet")
    from_csv = ingest_raw(raw_simulated / "csv")
    for table in RAW_TABLES:
        assert from_csv.tables[table].equals(from_parquet.tables[table]), table
    assert from_csv.data_watermark == from_parquet.data_watermark
