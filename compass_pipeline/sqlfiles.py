"""Load the metric SQL shipped in ``compass_pipeline/sql`` (one file per fact table or mart)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load_sql(name: str) -> str:
    """The text of ``sql/<name>.sql``; names come from the asset specs, never from user text."""
    return (files("compass_pipeline") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
