"""Reading the raw directory, raw validation, dedupe and quarantine (raw-contract.md)."""

from compass_pipeline.ingest.core import (
    QUARANTINE_SCHEMA,
    QUARANTINE_TABLE,
    IngestResult,
    StoredRaw,
    ingest_raw,
)
from compass_pipeline.ingest.errors import RawDataError, Violation
from compass_pipeline.ingest.incremental import ingest_to_data_dir

__all__ = [
    "QUARANTINE_SCHEMA",
    "QUARANTINE_TABLE",
    "IngestResult",
    "RawDataError",
    "StoredRaw",
    "Violation",
    "ingest_raw",
    "ingest_to_data_dir",
]
