"""Deployment settings of outputs.md: refresh hours and first partition, read once."""

from datetime import date

import pytest

from compass_pipeline.config import ConfigError, Settings, duckdb_threads
from compass_pipeline.storage import connect


def test_defaults_are_the_platform_cadence():
    settings = Settings.from_env({})
    assert settings.live_list_hours == (4, 12, 20)
    assert settings.live_list_cron == "0 4,12,20 * * *"
    assert settings.partitions_start == date(2026, 3, 1)


def test_hours_and_start_come_from_the_environment():
    settings = Settings.from_env(
        {"COMPASS_LIVE_LIST_HOURS": "20, 4,12", "COMPASS_PARTITIONS_START": "2026-01-15"}
    )
    assert settings.live_list_hours == (4, 12, 20)
    assert settings.partitions_start == date(2026, 1, 15)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COMPASS_LIVE_LIST_HOURS": "4,25"}, "within 0..23"),
        ({"COMPASS_LIVE_LIST_HOURS": "four"}, "comma-separated"),
        ({"COMPASS_PARTITIONS_START": "March"}, "COMPASS_PARTITIONS_START"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_each_connection_computes_on_the_duckdb_threads_set(monkeypatch):
    monkeypatch.delenv("COMPASS_DUCKDB_THREADS", raising=False)
    assert duckdb_threads() is None
    monkeypatch.setenv("COMPASS_DUCKDB_THREADS", " 3 ")
    assert duckdb_threads() == 3

    def threads(con) -> int:
        return int(con.sql("select current_setting('threads')").fetchall()[0][0])

    assert threads(connect()) == 3
    assert threads(connect(threads=1)) == 1  # a caller's own choice wins


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5", "²"])
def test_a_bad_duckdb_threads_setting_names_the_variable(monkeypatch, text):
    monkeypatch.setenv("COMPASS_DUCKDB_THREADS", text)
    with pytest.raises(ConfigError, match=r"COMPASS_DUCKDB_THREADS=.*at least 1"):
        duckdb_threads()
    with pytest.raises(ConfigError, match="COMPASS_DUCKDB_THREADS"):
        connect()
