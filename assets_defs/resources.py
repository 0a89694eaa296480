"""Run-time configuration as one Dagster resource (ARCHITECTURE.md, "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from compass_pipeline.config import default_data_dir, default_raw_dir


class CompassResource(dg.ConfigurableResource):
    """Where the raw snapshot is read, where outputs are written, and the bad-input mode.

    `quarantine=False` (the default) fails closed on any raw-contract violation; `True`
    lets valid rows through and keeps every rejected row in `raw_quarantine`.
    """

    raw_dir: str
    data_dir: str
    quarantine: bool = False

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def resource_from_env() -> CompassResource:
    """Fill the resource from COMPASS_RAW_DIR, COMPASS_DATA_DIR, COMPASS_QUARANTINE."""
    return CompassResource(
        raw_dir=str(default_raw_dir()),
        data_dir=str(default_data_dir()),
        quarantine=_truthy(os.environ.get("COMPASS_QUARANTINE")),
    )
