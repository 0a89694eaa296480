"""How this code's processes write the Dagster instance's SQLite storage.

Every Dagster event (a run's step start, each partition's materialization and check) is
one SQLite commit, two or three for an asset event (its run's database and the index).
Dagster opens its SQLite files in WAL mode, where the default `synchronous=FULL` syncs the
log to disk on every commit; `NORMAL` syncs it at checkpoints only. The database stays
consistent after a crash; a power loss may drop the last events, never corrupt the files.
For production, the instance's storage should be PostgreSQL anyway (see the README).
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sync_sqlite_at_checkpoints(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("pragma synchronous=normal")
