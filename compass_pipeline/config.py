"""Deployment settings and local defaults (outputs.md, "Command line").

The LIVE-list refresh hours and the first partition date are read once, when the
definitions load: partitions, schedules and `window_close` must agree, so they are not
run-time config. Paths are run-time config and live in the Dagster resource.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_LIVE_LIST_HOURS = (4, 12, 20)
DEFAULT_PARTITIONS_START = date(2026, 3, 1)
DEFAULT_RAW_DIR = Path("compass_raw")
DEFAULT_DATA_DIR = Path("compass_data")
DUCKDB_THREADS_VARIABLE = "COMPASS_DUCKDB_THREADS"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable and the rule."""


def _parse_hours(text: str) -> tuple[int, ...]:
    try:
        hours = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError as exc:
        raise ConfigError(
            f"COMPASS_LIVE_LIST_HOURS={text!r}: expected comma-separated UTC hours, e.g. 4,12,20"
        ) from exc
    if not hours or any(h < 0 or h > 23 for h in hours):
        raise ConfigError(f"COMPASS_LIVE_LIST_HOURS={text!r}: hours must be within 0..23")
    return hours


@dataclass(frozen=True)
class Settings:
    """The deployment settings of outputs.md, fixed for the life of a code location."""

    live_list_hours: tuple[int, ...] = DEFAULT_LIVE_LIST_HOURS
    partitions_start: date = DEFAULT_PARTITIONS_START

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        hours = env.get("COMPASS_LIVE_LIST_HOURS")
        start = env.get("COMPASS_PARTITIONS_START")
        try:
            start_date = date.fromisoformat(start) if start else DEFAULT_PARTITIONS_START
        except ValueError as exc:
            raise ConfigError(
                f"COMPASS_PARTITIONS_START={start!r}: expected a date like 2026-03-01"
            ) from exc
        return cls(
            live_list_hours=_parse_hours(hours) if hours else DEFAULT_LIVE_LIST_HOURS,
            partitions_start=start_date,
        )

    @property
    def live_list_cron(self) -> str:
        return f"0 {','.join(str(h) for h in self.live_list_hours)} * * *"


def default_raw_dir() -> Path:
    return Path(os.environ.get("COMPASS_RAW_DIR", DEFAULT_RAW_DIR)).resolve()


def default_data_dir() -> Path:
    return Path(os.environ.get("COMPASS_DATA_DIR", DEFAULT_DATA_DIR)).resolve()


def duckdb_threads() -> int | None:
    """`COMPASS_DUCKDB_THREADS`, the threads of each compute step's connection; None (unset):
    DuckDB's own default, one per core."""
    text = os.environ.get(DUCKDB_THREADS_VARIABLE, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigError(
            f"{DUCKDB_THREADS_VARIABLE}={text!r}: expected a whole number of threads, at least 1"
        )
    return int(text)
