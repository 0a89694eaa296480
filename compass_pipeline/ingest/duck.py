"""Arrow tables in and out of the ingestion's DuckDB connection."""

from __future__ import annotations

import duckdb
import pyarrow as pa

# DuckDB scans an Arrow table one record batch per task: a file read whole is one batch of
# millions of rows, scanned by one thread. Re-slicing (no copy) lets every core work.
BATCH_ROWS = 122_880


def register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Make `table` queryable as `name`, in batches small enough to scan in parallel."""
    if table.num_rows > BATCH_ROWS:
        table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), table.schema)
    con.register(name, table)


def arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result of a query as one Arrow table."""
    return con.sql(sql).to_arrow_table()
