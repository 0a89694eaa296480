"""Reading the raw directory, raw validation, dedupe and quarantine (raw-contract.md)."""

from compass_pipeline.ingest.core import (
    QUARANTINE_SCHEMA,
    QUARANTINE_TABLE,
    IngestResult,
    ingest_raw,
    ingest_to_data_dir,
)
from compass_pipeline.ingest.errors import RawDataError, Violation

__all__ = [
    "QUARANTINE_SCHEMA",
    "QUARANTINE_TABLE",
    "IngestResult",
    "RawDataError",
    "Violation",
    "ingest_raw",
    "ingest_to_data_dir",
]
