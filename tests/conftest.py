"""Shared fixtures: a small simulated raw directory and an isolated environment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

SMALL_START = date(2026, 3, 1)
SMALL_DAYS = 6
SMALL_SCALE = 150


@pytest.fixture(scope="session")
def small_raw_dir(tmp_path_factory) -> Path:
    """A simulated raw directory, small enough for end-to-end tests (read-only: copy to mutate)."""
    from compass_pipeline.simulate import simulate

    out = tmp_path_factory.mktemp("small_raw") / "raw"
    simulate(out, start=SMALL_START, days=SMALL_DAYS, seed=11, scale=SMALL_SCALE)
    return out


@pytest.fixture
def compass_env(monkeypatch, tmp_path):
    """Keep COMPASS_* and DAGSTER_HOME changes made by the code under test inside the test."""
    for name in (
        "COMPASS_RAW_DIR",
        "COMPASS_DATA_DIR",
        "COMPASS_QUARANTINE",
        "COMPASS_LIVE_LIST_HOURS",
        "COMPASS_PARTITIONS_START",
        "COMPASS_DUCKDB_THREADS",
        "DAGSTER_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path
