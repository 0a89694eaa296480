"""How this code's processes write the Dagster instance's SQLite storage.

Every Dagster event (a run's step start, each partition's materialization and check) is
one SQLite commit on a new connection, two or three for an asset event (its run's database
and the index). Dagster opens its SQLite files in WAL mode, and two SQLite defaults make
each of those commits cost disk syncs:

- `synchronous=FULL` syncs the log on every commit; `NORMAL` syncs it at checkpoints only.
- When the last connection to a database closes, SQLite checkpoints the log into the
  database, syncs both and deletes the log, and the next connection creates it again. With a
  new connection per event, that is every event. One idle connection held open per database
  file (`_hold_open`) keeps each close from being the last: about a third of an event's
  cost (2,700 syncs and 1,400 file deletions for 300 events, against 280 and 90).

The database stays consistent after a crash; a power loss may drop the last events, never
corrupt the files. For production, the instance's storage should be PostgreSQL anyway (see
the README).

Dagster's SQLite storages also build a new SQLAlchemy engine for every statement they run
(and dispose of it after): about half of an event's 10-14 ms of CPU. `CompassSqliteStorage`,
the instance's `storage` in the dagster.yaml `compass` writes, is Dagster's own storage on
the same files and tables, with one engine per database file for the life of the process;
each statement still gets a connection of its own, as with Dagster's (no pool).
"""

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# Databases held open per process, newest use last: a run's own database is written during
# that run only, so a long-lived process (the UI's code server) keeps the latest few.
HELD_OPEN_LIMIT = 16
_held: OrderedDict[str, sqlite3.Connection] = OrderedDict()
_held_by_pid = os.getpid()
_inherited: list[sqlite3.Connection] = []  # a parent's, after a fork: never used nor closed
_lock = threading.Lock()


@event.listens_for(Engine, "connect")
def _on_sqlite_connect(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("pragma synchronous=normal")
        path = dbapi_connection.execute("pragma database_list").fetchone()[2]
        if path:  # not an in-memory database
            _hold_open(path)


def _hold_open(path: str) -> None:
    """Keep an idle connection to `path` that has read it, so it holds the log open.

    It reads on every new connection to the file: the first one may come before Dagster
    switches the file to WAL mode, and only a read in WAL mode attaches it to the log. It
    never writes and holds no transaction, so it blocks no writer and no checkpoint.
    """
    global _held_by_pid
    with _lock:
        if _held_by_pid != os.getpid():  # a forked child: its parent's connections aren't its
            _inherited.extend(_held.values())
            _held.clear()
            _held_by_pid = os.getpid()
        try:
            held = _held.get(path)
            if held is None:
                held = _held[path] = sqlite3.connect(path, timeout=30, check_same_thread=False)
                while len(_held) > HELD_OPEN_LIMIT:
                    _held.popitem(last=False)[1].close()
            _held.move_to_end(path)
            held.execute("select count(*) from sqlite_master").fetchall()
        except sqlite3.Error:  # only a saving: Dagster's own connection is unaffected
            _held.pop(path, None)


class CompassSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage under `base_dir` (runs, event logs, schedules), its run and
    event-log databases opened through one engine each per process."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self.base_dir = base_dir
        self._run_storage = _RunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = _EventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "CompassSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)


class _RunStorage(SqliteRunStorage):
    @cached_property
    def _engine(self) -> Engine:
        return create_engine(self._conn_string, poolclass=NullPool)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn


class _EventLogStorage(SqliteEventLogStorage):
    """One database per run plus the index: the engines of the latest `HELD_OPEN_LIMIT`."""

    @cached_property
    def _engines(self) -> OrderedDict[str, Engine]:
        return OrderedDict()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = self._engines[shard] = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                while len(self._engines) > HELD_OPEN_LIMIT:
                    self._engines.popitem(last=False)[1].dispose()
            self._engines.move_to_end(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn
