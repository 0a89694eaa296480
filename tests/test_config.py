"""Deployment settings of outputs.md: refresh hours and first partition, read once."""

from datetime import date

import pytest

from compass_pipeline.config import ConfigError, Settings


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
