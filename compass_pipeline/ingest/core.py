"""Ingestion of a raw directory (raw-contract.md): read, type, validate, version, cross-check.

The phases, each set-based (Arrow, pandera on polars, DuckDB SQL; no loop over rows):

1. read every file of every table (CSV as text), check the columns;
2. type every value (`parse`), checking text against the contract's grammar first;
3. validate types, nullability, values and row rules with the pandera models (`schemas.raw`);
4. version: drop exact duplicates, keep the greatest `updated_at` of a mutable key, reject a
   key with two different rows of one version (or, immutable, two different rows);
5. cross-table rules (`rules`) on the rows in effect, repeated until nothing new is rejected.

A rejected row rejects its whole key (every version), and a row referencing a rejected key
is rejected as `parent_quarantined`. Fail closed (the default) raises `RawDataError` when
anything was rejected; quarantine mode returns the valid rows and the rejected ones.
Nothing is written here: `incremental.ingest_to_data_dir` stores the result as one set, each table's
rows in the order read (files by name, rows as in the file): sorting them cost 6 CPU-s of
the 3 M-line ingestion and no query reads faster for it (see `DataDir.replace_raw_snapshot`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandera.errors
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from compass_pipeline.ingest.closure import IN_EFFECT, ROW_ID, StoredParts, stored_rows_in_play
from compass_pipeline.ingest.duck import arrow as _arrow
from compass_pipeline.ingest.duck import register
from compass_pipeline.ingest.errors import (
    KEPT_VIOLATIONS,
    KEY_QUARANTINED,
    PARENT_QUARANTINED,
    RawDataError,
    Violation,
)
from compass_pipeline.ingest.parse import type_file
from compass_pipeline.ingest.read import SourceFile, extra_columns, locate, read_source
from compass_pipeline.ingest.rules import (
    CONTEXTS,
    ENTER_LEAVE_RULE,
    ENTER_LEAVE_SQL,
    SET_RULES,
    Context,
    Reference,
    SetRule,
)
from compass_pipeline.storage import connect
from schemas.raw import RAW_TABLES, RawTableInfo, raw_table_info

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "raw_quarantine"
QUARANTINE_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),  # 1-based data row within source_file
        ("row_key", pa.string()),  # e.g. "order_id=O123"
        ("column_name", pa.string()),
        ("rule", pa.string()),
        ("reason", pa.string()),
        ("raw_row", pa.string()),  # the row unchanged, as a JSON object
    ]
)

# Per table, one row per violation: the row id, the column, the rule id and a reason.
VIOLATIONS_SCHEMA = pa.schema(
    [("rid", pa.int64()), ("column", pa.string()), ("rule", pa.string()), ("reason", pa.string())]
)
RID, FILE, ROW, ROW_IDS = "__rid", "__file", "__row", "__row_id"
# Where each stored row came from (file of the landing zone, 1-based data row), kept beside
# the contract columns so that a later ingestion names it in its messages and quarantine.
SOURCE_FILE, SOURCE_ROW = "_source_file", "_source_row"


@dataclass
class StoredRaw:
    """What earlier ingestions stored, for an incremental one to merge its new files into.

    `parts`: the stored Parquet files; the rows the new files can affect are taken from
    them (`closure`), the others stay there and are read as parents only. Stored rows
    carry `SOURCE_FILE`, `SOURCE_ROW` and `ROW_ID` beside the contract columns.
    `quarantine`: the rows rejected so far (quarantine mode).
    """

    quarantine: pa.Table
    parts: StoredParts


@dataclass
class IngestResult:
    """The normalized raw tables and what the ingestion saw.

    `tables`: per table, the latest version of each valid key judged (every key of a
    first ingestion; of an incremental one, the new rows' keys and the stored ones judged
    again), in contract column order. `quarantine`: every rejected row so far (empty
    unless quarantine mode). `data_watermark`: the greatest instant of any timestamp
    column of the rows in effect (of the whole stored snapshot, once stored).
    """

    tables: dict[str, pa.Table]
    quarantine: pa.Table
    data_watermark: datetime | None
    rows_read: dict[str, int]
    rows_rejected: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    # per file read (its name in the raw directory): rows read from it
    file_rows: dict[str, int] = field(default_factory=dict)
    # What changes in the stored tables, per table, rows with where they came from:
    # `stored`, the new rows in effect; `superseded`, the rows that became superseded
    # versions (new ones, or stored ones no longer in effect); `deleted`, per kind of
    # stored file (`closure.KINDS`), the ids of stored rows that leave them (no longer in
    # effect, or rejected);
    # `judged_again`, the ids of every stored row judged with the new ones.
    stored: dict[str, pa.Table] = field(default_factory=dict)
    superseded: dict[str, pa.Table] = field(default_factory=dict)
    deleted: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    judged_again: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class _TableState:
    """One table on its way through the phases; row id = position in `typed`."""

    info: RawTableInfo
    sources: list[SourceFile]  # __file indexes this list
    typed: pa.Table  # contract columns + __rid, __file, __row
    n_stored: int = 0  # the first rows are stored ones, already checked on their own
    stored_in_effect: np.ndarray | None = None  # of the stored rows: stored as in effect
    file_rows: dict[str, int] = field(default_factory=dict)  # rows read per new file
    violations: list[pa.Table] = field(default_factory=list)
    duplicate: np.ndarray | None = None  # exact copy of a kept row: dropped, never quarantined
    superseded: np.ndarray | None = None  # an older version of a key
    quarantined: np.ndarray | None = None
    _in_effect: pa.Table | None = None

    def __post_init__(self) -> None:
        n = self.typed.num_rows
        self.duplicate = np.zeros(n, dtype=bool)
        self.superseded = np.zeros(n, dtype=bool)
        self.quarantined = np.zeros(n, dtype=bool)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def alive(self) -> np.ndarray:
        return ~(self.duplicate | self.superseded | self.quarantined)

    def rows_in_effect(self) -> pa.Table:
        """The latest version of every key not rejected (cached until the masks change)."""
        if self._in_effect is None:
            alive = self.alive
            self._in_effect = self.typed if alive.all() else self.typed.filter(pa.array(alive))
        return self._in_effect

    def masks_changed(self) -> None:
        self._in_effect = None

    def add_violations(self, table: pa.Table) -> None:
        if table.num_rows:
            self.violations.append(table.cast(VIOLATIONS_SCHEMA))

    def all_violations(self) -> pa.Table:
        if not self.violations:
            return VIOLATIONS_SCHEMA.empty_table()
        return pa.concat_tables(self.violations)


def ingest_raw(
    raw_dir: Path,
    *,
    quarantine: bool = False,
    progress: Callable[[str], None] | None = None,
    sources: dict[str, list[SourceFile]] | None = None,
    stored: StoredRaw | None = None,
    first_row_id: int = 0,
) -> IngestResult:
    """Read and check a raw directory against raw-contract.md; store nothing.

    Fail closed (default): any violation raises `RawDataError`. `quarantine=True`: valid rows
    pass and every rejected row is returned in `IngestResult.quarantine` with its reason.

    Incremental: `sources` (per table, the new files; default every file) merged into
    `stored`. The stored rows take part in versions and cross-table rules like new ones
    (raw-contract.md: the rules hold across stored and new rows) but are not type-checked
    again; a key rejected by an earlier ingestion stays rejected. New rows are numbered
    (`ROW_ID`) from `first_row_id` on.
    """
    say = _reporter(progress)
    raw_dir = Path(raw_dir)
    if sources is None:
        sources, problems = locate(raw_dir)
        if problems:
            raise RawDataError(problems)
    problems = []
    con = connect()
    warnings: list[str] = []
    states: dict[str, _TableState] = {}
    rejected_before = _rejected_keys(stored)

    def load(table: str) -> tuple[_TableState | None, list[Violation], list[str]]:
        table_warnings: list[str] = []
        with con.cursor() as cursor:  # closed even when a phase raises
            state, table_problems = _load(
                cursor, table, sources.get(table, []), table_warnings, say
            )
            if state is not None:
                _validate_model(state)
        return state, table_problems, table_warnings

    def version(state: _TableState) -> None:
        with con.cursor() as cursor:
            _reject_keys_rejected_before(cursor, state, rejected_before.get(state.name))
            _version(cursor, state, _key_hashes(state))
            _quarantine_keys(cursor, state, _violation_rids(state))
            state.rows_in_effect()  # filtered here, two tables at a time, not serially later
            say(f"{state.name}: types, values and versions checked")

    # Phases 1-4 of a table need no other table, and reading, typing and checking release
    # the GIL (Arrow, DuckDB, Polars): two tables at a time, biggest first, each on its own
    # cursor; results are taken in the contract's table order.
    by_size = sorted(
        RAW_TABLES, key=lambda t: -sum(s.path.stat().st_size for s in sources.get(t, []))
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        loaded = dict(zip(by_size, pool.map(load, by_size), strict=True))
        for table in RAW_TABLES:
            state, table_problems, table_warnings = loaded[table]
            problems.extend(table_problems)
            warnings.extend(table_warnings)
            if state is not None:
                states[table] = state
        if problems:
            raise RawDataError(problems)
        prior = _stored_rows(con, states, stored, say)
        for table, state in states.items():
            _number(state, first_row_id)
            _prepend(state, prior.get(table))
        list(pool.map(version, sorted(states.values(), key=lambda s: -s.typed.num_rows)))

    _cross_table(con, states, say, rejected_before, stored.parts if stored else None)
    say("cross-table rules checked")

    if not quarantine:
        _raise_if_rejected(con, states)
    result = _result(con, states, warnings, stored)
    con.close()
    say(
        f"ingested {sum(result.rows_read.values())} rows, "
        f"{sum(result.rows_rejected.values())} rejected"
    )
    return result


# Phase 1-2: read and type ------------------------------------------------------------------


def _load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[SourceFile],
    warnings: list[str],
    say: Callable[[str], None],
) -> tuple[_TableState | None, list[Violation]]:
    info = raw_table_info(table)
    schema = _typed_schema(table)
    problems: list[Violation] = []
    typed_parts: list[pa.Table] = []
    error_parts: list[pa.Table] = []
    offset = 0
    file_rows: dict[str, int] = {}
    for index, source in enumerate(sources):
        read, read_problems = read_source(source)
        problems.extend(read_problems)
        if read is None:
            continue
        extras = extra_columns(read)
        if extras:
            message = (
                f"{table}: {source.name} has column(s) not in the raw contract, ignored: "
                f"{', '.join(extras)}"
            )
            warnings.append(message)
            log.warning(message)
            say(message)
        typed, type_problems = type_file(read, con)
        problems.extend(type_problems)
        if typed is None:
            continue
        n = typed.data.num_rows
        file_rows[source.name] = n
        typed_parts.append(
            typed.data.append_column(FILE, pa.array(np.full(n, index, dtype=np.int32)))
            .append_column(ROW, pa.array(np.arange(1, n + 1, dtype=np.int64)))
            .cast(schema)
        )
        if typed.errors.num_rows:
            errors = typed.errors
            error_parts.append(errors.set_column(0, "rid", pc.add(errors.column("row"), offset)))
        offset += n
    if problems:
        return None, problems
    typed = pa.concat_tables(typed_parts) if typed_parts else schema.empty_table()
    typed = typed.append_column(RID, pa.array(np.arange(typed.num_rows, dtype=np.int64)))
    state = _TableState(info, list(sources), typed)
    state.file_rows.update(file_rows)
    for errors in error_parts:
        state.add_violations(errors.rename_columns(["rid", "column", "rule", "reason"]))
    say(f"{table}: read {typed.num_rows} rows from {len(sources)} file(s)")
    return state, []


def _typed_schema(table: str) -> pa.Schema:
    from schemas.raw import raw_arrow_schema

    schema = raw_arrow_schema(table).append(pa.field(FILE, pa.int32()))
    return schema.append(pa.field(ROW, pa.int64()))


def _stored_rows(
    con: duckdb.DuckDBPyConnection,
    states: dict[str, _TableState],
    stored: StoredRaw | None,
    say: Callable[[str], None],
) -> dict[str, pa.Table]:
    """The stored rows to judge with the new ones: those they can affect (`closure`)."""
    if stored is None:
        return {}
    new = {name: state.typed.select(list(state.info.columns)) for name, state in states.items()}
    with con.cursor() as cursor:
        prior = stored_rows_in_play(cursor, new, stored.parts)
    if prior:
        say(
            "stored rows judged again with the new ones: "
            + ", ".join(f"{t} {rows.num_rows}" for t, rows in prior.items() if rows.num_rows)
        )
    return prior


def _number(state: _TableState, first_row_id: int) -> None:
    """Give the new rows their row ids, `first_row_id` on in the order read."""
    n = state.typed.num_rows
    ids = pa.array(np.arange(first_row_id, first_row_id + n, dtype=np.int64))
    state.typed = state.typed.append_column(ROW_IDS, ids)


def _prepend(state: _TableState, prior: pa.Table | None) -> None:
    """Put the stored rows before the new ones; the new rows' ids and violations shift."""
    if prior is None or not prior.num_rows:
        return
    info = state.info
    files = pc.dictionary_encode(prior.column(SOURCE_FILE).cast(pa.string())).combine_chunks()
    stored_sources = [
        SourceFile(info.name, Path(name), name, Path(name).suffix[1:], stored=True)
        for name in files.dictionary.to_pylist()
    ]
    n = prior.num_rows
    old = prior.select(list(info.columns))
    old = old.append_column(FILE, files.indices.cast(pa.int32()))
    old = old.append_column(ROW, prior.column(SOURCE_ROW)).cast(_typed_schema(info.name))
    old = old.append_column(RID, pa.array(np.arange(n, dtype=np.int64)))
    old = old.append_column(ROW_IDS, prior.column(ROW_ID).cast(pa.int64()))
    new = state.typed
    new = new.set_column(
        new.schema.get_field_index(FILE),
        FILE,
        pc.add(new.column(FILE), len(stored_sources)).cast(pa.int32()),
    )
    new = new.set_column(new.schema.get_field_index(RID), RID, pc.add(new.column(RID), n))
    shifted = [v.set_column(0, "rid", pc.add(v.column("rid"), n)) for v in state.violations]
    fresh = _TableState(
        info,
        stored_sources + state.sources,
        pa.concat_tables([old, new]),
        n_stored=n,
        stored_in_effect=prior.column(IN_EFFECT).to_numpy(zero_copy_only=False),
        file_rows=state.file_rows,
        violations=shifted,
    )
    state.__dict__.update(fresh.__dict__)


# Phase 3: the pandera model ----------------------------------------------------------------


def _check_rules(info: RawTableInfo) -> dict[str, tuple[str, str | None, str]]:
    """error text of each check -> (rule id, column, reason), from the check names."""
    schema = info.model.to_schema()
    checks = list(schema.checks)
    for column in schema.columns.values():
        checks.extend(column.checks)
    rules = {}
    for check in checks:
        rule, _, reason = (check.error or "").partition(": ")
        column, _, _ = (check.name or "").partition(":")
        rules[check.error] = (rule, column or None, reason)
    return rules


def _validate_model(state: _TableState) -> None:
    """Types, nullability, values and row rules: the model of the table, on an eager frame
    of the new rows (stored rows passed it when they were ingested)."""
    info = state.info
    frame = pl.from_arrow(state.typed.select(list(info.columns)))
    try:
        info.model.validate(frame.slice(state.n_stored), lazy=True)
        return
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases["index"].null_count():
        raise RuntimeError(f"{info.name}: typed table does not match its model:\n{cases}")
    checks = pl.DataFrame(
        [
            (error, rule, columns, sentence)
            for error, (rule, columns, sentence) in _check_rules(info).items()
        ],
        schema={"check": pl.Utf8, "rule": pl.Utf8, "rule_column": pl.Utf8, "sentence": pl.Utf8},
        orient="row",
    )
    cases = cases.join(checks, on="check", how="left")
    unknown = cases.filter(pl.col("rule").is_null() & (pl.col("check") != "not_nullable"))
    if unknown.height:
        raise RuntimeError(f"{info.name}: failure of an unnamed check:\n{unknown}")
    # A row rule's failure case is the whole row as JSON: show the columns it is about.
    shown = pl.format("{}='{}'", "rule_column", "failure_case")
    for columns in cases.filter(pl.col("schema_context") != "Column")["rule_column"].unique():
        values = [
            pl.format(
                f"{c}={{}}",
                pl.col("failure_case").str.json_path_match(f"$.{c}").fill_null("null"),
            )
            for c in columns.split(",")
        ]
        shown = (
            pl.when(pl.col("rule_column") == columns)
            .then(pl.concat_str(values, separator=", "))
            .otherwise(shown)
        )
    found = cases.select(
        rid=pl.col("index").cast(pl.Int64) + state.n_stored,
        column=pl.coalesce("rule_column", "column"),
        rule=pl.col("rule").fill_null("required"),
        reason=pl.when(pl.col("check") == "not_nullable")
        .then(pl.format("{} is empty", "column"))
        .otherwise(pl.format("{}: {}", shown, "sentence")),
    )
    # A value that failed its text rule is null here; it is reported once, by that rule.
    earlier = state.all_violations()
    if earlier.num_rows:
        parsed = pl.from_arrow(earlier.select(["rid", "column"])).with_columns(
            rule=pl.lit("required")
        )
        found = found.join(parsed, on=["rid", "column", "rule"], how="anti")
    state.add_violations(found.to_arrow())


# Phase 4: versions and duplicates ------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _violation_rids(state: _TableState) -> np.ndarray:
    violations = state.all_violations()
    if not violations.num_rows:
        return np.array([], dtype=np.int64)
    return np.unique(violations.column("rid").to_numpy())


def _key_hashes(state: _TableState) -> np.ndarray:
    """A 64-bit hash of each row's key: equal keys, equal hashes."""
    columns = list(state.info.key)
    frame = pl.from_arrow(state.typed.select(columns))
    if len(columns) == 1:
        return frame.get_column(columns[0]).hash().to_numpy()
    return frame.select(pl.struct(columns).hash()).to_series().to_numpy()


def _repeated(hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The rows (a subset of row ids) whose hash occurs more than once among them."""
    subset = pl.Series(hashes[rows])
    if subset.n_unique() == len(subset):  # the usual case, and 10x cheaper to rule out
        return rows[:0]
    # a window count is about 30% cheaper than Series.is_duplicated on millions of hashes
    repeated = subset.to_frame("h").select(pl.len().over("h") > 1).to_series()
    return rows[repeated.to_numpy()]


def _version(con: duckdb.DuckDBPyConnection, state: _TableState, key_hashes: np.ndarray) -> None:
    """Exact duplicates dropped; latest updated_at per key; conflicting rows rejected.

    Rows with a violation take no part: their key is rejected whole anyway. A key can only
    repeat among rows whose key hash repeats, and two rows can only be copies or
    conflicting versions when their key and version hash repeats too: hashing millions of
    rows is far cheaper than grouping them by strings, so only those few rows are grouped,
    exactly, in SQL.
    """
    info = state.info
    clean = np.ones(state.typed.num_rows, dtype=bool)
    clean[_violation_rids(state)] = False
    candidates = _repeated(key_hashes, np.flatnonzero(clean))
    if not len(candidates):
        return
    keys = ", ".join(_q(k) for k in info.key)
    if info.mutable:
        # an empty version (a LIVE still on the air) is older than any other
        version = f"coalesce({_q(info.version_column)}, '-infinity'::timestamptz)"
        rows = state.typed.select([*info.key, info.version_column, RID]).take(pa.array(candidates))
        latest = _arrow_of(
            con,
            rows,
            f"""
            select {RID} from __rows
            qualify {version} < max({version}) over (partition by {keys})
            """,
        )
        state.superseded[latest.column(RID).to_numpy()] = True
        state.masks_changed()
        versions = pl.from_arrow(rows.column(info.version_column))
        version_hashes = np.zeros(state.typed.num_rows, dtype=np.uint64)
        version_hashes[candidates] = key_hashes[candidates] ^ versions.hash().to_numpy()
        candidates = _repeated(version_hashes, candidates)
        if not len(candidates):
            return
    group = f"{keys}, {_q(info.version_column)}" if info.mutable else keys
    columns = ", ".join(_q(c) for c in info.columns)
    rows = state.typed.take(pa.array(candidates))
    conflicts = _arrow_of(
        con,
        rows,
        f"""
        with conflicting as (
            select {group}, count(distinct row({columns})) as variants
            from __rows group by {group} having count(distinct row({columns})) > 1
        )
        select r.{RID}, c.variants from __rows r join conflicting c using ({group})
        """,
    )
    if conflicts.num_rows:
        rule = "conflicting_versions" if info.mutable else "duplicate_key"
        what = f"for one key and {info.version_column}" if info.mutable else "for one key"
        state.add_violations(
            _violations(
                conflicts.column(RID),
                info.version_column or info.key[0],
                rule,
                [f"{v} different rows {what}" for v in conflicts.column("variants").to_pylist()],
            )
        )
    copies = _arrow_of(
        con,
        rows,
        f"select {RID} from __rows qualify row_number() over (partition by {columns} "
        f"order by {RID}) > 1",
    )
    state.duplicate[copies.column(RID).to_numpy()] = True
    state.masks_changed()


def _arrow_of(con: duckdb.DuckDBPyConnection, rows: pa.Table, sql: str) -> pa.Table:
    """Run `sql` over `rows` registered as `__rows`."""
    register(con, "__rows", rows)
    try:
        return _arrow(con, sql)
    finally:
        con.unregister("__rows")


def _quarantine_keys(con: duckdb.DuckDBPyConnection, state: _TableState, rids: np.ndarray) -> bool:
    """Reject these rows and every version of their keys; True when something new was rejected.

    "Quarantine works on keys: when any version of a key is rejected, the whole key is
    quarantined (an older version never silently takes its place)."
    """
    if not len(rids):
        return False
    before = state.quarantined.sum()
    state.quarantined[rids] = True
    keys = [_q(k) for k in state.info.key]
    register(con, "__t", state.typed)
    register(con, "__bad", pa.table({"rid": pa.array(rids, pa.int64())}))
    try:
        same_key = _arrow(
            con,
            f"""
                select t.{RID}
                from __t t
                semi join (
                    select distinct {", ".join(keys)} from __t
                    where {RID} in (select rid from __bad)
                ) b on {" and ".join(f"t.{k} = b.{k}" for k in keys)}
                """,
        )
    finally:
        con.unregister("__t")
        con.unregister("__bad")
    state.quarantined[same_key.column(RID).to_numpy()] = True
    state.masks_changed()
    return bool(state.quarantined.sum() > before)


def _rejected_keys(stored: StoredRaw | None) -> dict[str, pa.Table]:
    """Per table, the keys that earlier ingestions rejected (their rows are in quarantine)."""
    if stored is None or not stored.quarantine.num_rows:
        return {}
    con = connect()
    register(con, "__quarantine", stored.quarantine)
    found = {}
    try:
        for table in pc.unique(stored.quarantine.column("table_name")).to_pylist():
            key = raw_table_info(table).key
            columns = ", ".join(f"json_extract_string(raw_row, '$.{k}') as {_q(k)}" for k in key)
            keys = _arrow(
                con,
                f"select distinct {columns} from __quarantine where table_name = '{table}'",
            )
            found[table] = keys.filter(pc.is_valid(keys.column(0)))
    finally:
        con.close()
    return found


def _reject_keys_rejected_before(
    con: duckdb.DuckDBPyConnection, state: _TableState, keys: pa.Table | None
) -> None:
    """A new version of a key rejected by an earlier ingestion is rejected too, as a rebuild
    from every file would reject it ("an older version never silently takes its place")."""
    if keys is None or not keys.num_rows:
        return
    info = state.info
    register(con, "__t", state.typed)
    register(con, "__rejected", keys)
    try:
        rows = _arrow(
            con,
            f"""
            select t.{RID} as rid, {_key_sql(info)} as row_key
            from __t t
            semi join __rejected r on {" and ".join(f"t.{_q(k)} = r.{_q(k)}" for k in info.key)}
            where t.{RID} >= {state.n_stored}
            """,
        )
    finally:
        con.unregister("__t")
        con.unregister("__rejected")
    reasons = [f"{key} was rejected by an earlier ingestion" for key in rows["row_key"].to_pylist()]
    state.add_violations(_violations(rows.column("rid"), info.key[0], KEY_QUARANTINED, reasons))


# Phase 5: cross-table rules ----------------------------------------------------------------


def _cross_table(
    con: duckdb.DuckDBPyConnection,
    states: dict[str, _TableState],
    say: Callable[[str], None],
    rejected_before: dict[str, pa.Table],
    parts: StoredParts | None = None,
) -> None:
    """Run the rules on the rows in effect until no rule rejects anything new.

    The loop is over passes, not rows. A pass judges the tables parents first, each
    against its parents' rows as they are after their own rules, and skips a table when
    nothing it reads changed since it was last judged. Set rules run once the row rules
    found nothing more; what they reject can start another pass.

    The rows judged are the loaded ones (`<table>__judged`); each table's view `<table>`,
    which the rules read as a parent and the set rules read whole, also holds the stored
    rows in effect that were not loaded (`parts`), unchanged in their files.
    """
    for name, state in states.items():
        every_key = state.typed
        before = rejected_before.get(name)
        if before is not None and before.num_rows and len(state.info.key) == 1:
            # a reference to a key rejected earlier is `parent_quarantined`, not unknown
            key = state.info.key[0]
            every_key = pa.table(
                {key: pa.chunked_array([*state.typed[key].chunks, *before[key].chunks])}
            )
        register(con, f"{name}__all", every_key)
        register(con, f"{name}__judged", state.rows_in_effect())
        _full_view(con, state, parts)
    generation = dict.fromkeys(states, 0)  # bumped when a table loses rows
    judged: dict[str, tuple[int, ...]] = {}

    def fresh(name: str, depends_on: Sequence[str]) -> bool:
        stamp = tuple(generation[t] for t in depends_on)
        if judged.get(name) == stamp:
            return False
        judged[name] = stamp
        return True

    def reject(table: str, violations: list[pa.Table]) -> bool:
        violations = [v for v in violations if v.num_rows]
        if not violations:
            return False
        for v in violations:
            states[table].add_violations(v)
        rids = np.unique(np.concatenate([v.column("rid").to_numpy() for v in violations]))
        if not _quarantine_keys(con, states[table], rids):
            return False
        generation[table] += 1
        register(con, f"{table}__judged", states[table].rows_in_effect())
        say(f"cross-table rules: rows of {table} rejected")
        return True

    while True:
        for ctx in CONTEXTS:
            if fresh(ctx.table, ctx.depends_on):
                reject(ctx.table, _run_context(con, ctx))
        rejected = False
        for rule in SET_RULES:
            if fresh(f"set:{rule.rule}", rule.depends_on):
                rejected |= reject(rule.table, [_run_set_rule(con, rule)])
        if fresh(f"set:{ENTER_LEAVE_RULE}", ("live_room_events",)):
            rejected |= reject("live_room_events", [_enter_leave(con)])
        if not rejected:
            break


def _full_view(
    con: duckdb.DuckDBPyConnection, state: _TableState, parts: StoredParts | None
) -> None:
    """`<table>`: the judged rows in effect, and the stored rows in effect not loaded."""
    columns = ", ".join(_q(c) for c in state.info.columns)
    sql = f"select {columns}, {RID} from {state.name}__judged"
    stored = parts.scan(state.name, "effect") if parts else None
    if stored is not None:
        register(con, f"{state.name}__loaded", state.typed.select([ROW_IDS]))
        sql += (
            f" union all select {columns}, cast(null as bigint) as {RID}"
            f" from {stored} s"
            f" anti join {state.name}__loaded l on l.{ROW_IDS} = s.{ROW_ID}"
        )
    con.execute(f"create or replace temp view {state.name} as {sql}")


def _violations(rids, column: str | None, rule: str | Sequence[str], reasons) -> pa.Table:
    n = len(rids)
    rules = [rule] * n if isinstance(rule, str) else list(rule)
    return pa.table(
        {
            "rid": pa.array(rids, pa.int64()),
            "column": pa.array([column] * n, pa.string()),
            "rule": pa.array(rules, pa.string()),
            "reason": pa.array(reasons, pa.string()),
        },
        schema=VIOLATIONS_SCHEMA,
    )


def _run_context(con: duckdb.DuckDBPyConnection, ctx: Context) -> list[pa.Table]:
    """Every rule of one table in one query over its context; the violations per rule."""
    rows = _arrow(con, ctx.sql(f"{ctx.table}__judged"))
    if not rows.num_rows:
        return []
    found = []
    rids = rows.column(RID)
    for i, ref in enumerate(ctx.references):
        refs = rows.column(f"ref_{i}")
        hit = pc.is_valid(refs)
        if pc.any(hit).as_py():
            found.append(_classify_reference(con, ref, rids.filter(hit), refs.filter(hit)))
    for i, check in enumerate(ctx.checks):
        details = rows.column(f"check_{i}")
        hit = pc.is_valid(details)
        if pc.any(hit).as_py():
            found.append(
                _violations(rids.filter(hit), check.column, check.rule, details.filter(hit))
            )
    return found


def _classify_reference(
    con: duckdb.DuckDBPyConnection, ref: Reference, rids: pa.ChunkedArray, refs: pa.ChunkedArray
) -> pa.Table:
    """A missing parent is unknown, or rejected (`parent_quarantined`) if it is in the raw."""
    register(con, "__offending", pa.table({RID: rids, "ref": refs}))
    try:
        rows = _arrow(
            con,
            f"""
            select o.{RID} as rid, '{ref.column}' as "column",
                case when q.parent_exists then '{PARENT_QUARANTINED}' else '{ref.rule}' end
                    as rule,
                '{ref.column}=' || o.ref || case when q.parent_exists
                    then ' is a rejected row of {ref.parent}'
                    else ' not in {ref.parent}' end as reason
            from __offending o
            join ({ref.quarantined_sql("__offending")}) q using ({RID})
            """,
        )
    finally:
        con.unregister("__offending")
    return rows


def _run_set_rule(con: duckdb.DuckDBPyConnection, rule: SetRule) -> pa.Table:
    """A set rule over the whole tables; it can only reject loaded rows, since `closure`
    loads every member of a group the drop touches."""
    rows = _arrow(con, rule.sql)
    if rows.num_rows and rows.column(RID).null_count:
        stray = rows.filter(pc.is_null(rows.column(RID))).column("detail").to_pylist()[:3]
        raise RuntimeError(f"{rule.rule} rejects stored rows that were not judged: {stray}")
    return _violations(rows.column(RID), rule.column, rule.rule, rows.column("detail"))


def _enter_leave(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The enter/leave rule, by one sort instead of a window over millions of events.

    Events sorted by (hash of LIVE and viewer, occurred_at) put each viewer's events of a
    LIVE together in time order; an event breaks the rule when it has the same type as the
    one before it in its group, or opens its group with a leave. Groups where that order
    is not decided (two events at the same instant, where event_id breaks the tie) or
    where a second hash disagrees (a collision of the first), and groups with an
    offending event, are judged by the reference SQL, which also words the reasons.
    """
    rows = _arrow(
        con,
        """
        select hash(live_id, viewer_id) as g,
            hash(live_id || chr(31) || viewer_id) as g2,
            epoch_us(occurred_at) as t,
            event_type = 'enter' as is_enter
        from live_room_events__judged
        order by g, t
        """,
    )
    if not rows.num_rows:
        return VIOLATIONS_SCHEMA.empty_table()
    g = rows.column("g").to_numpy()
    g2 = rows.column("g2").to_numpy()
    t = rows.column("t").to_numpy()
    enter = rows.column("is_enter").to_numpy(zero_copy_only=False)
    same = np.zeros(len(g), dtype=bool)
    same[1:] = g[1:] == g[:-1]
    previous = np.zeros(len(g), dtype=bool)
    previous[1:] = enter[:-1]
    offending = np.where(same, previous == enter, ~enter)
    undecided = np.zeros(len(g), dtype=bool)
    undecided[1:] = same[1:] & ((t[1:] == t[:-1]) | (g2[1:] != g2[:-1]))
    groups = np.unique(g[offending | undecided])
    if not len(groups):
        return VIOLATIONS_SCHEMA.empty_table()
    register(con, "__groups", pa.table({"g": pa.array(groups, pa.uint64())}))
    try:
        where = "where hash(live_id, viewer_id) in (select g from __groups)"
        found = _arrow(con, ENTER_LEAVE_SQL.format(events="live_room_events__judged", where=where))
    finally:
        con.unregister("__groups")
    return _violations(found.column(RID), "event_type", ENTER_LEAVE_RULE, found.column("detail"))


# Results -----------------------------------------------------------------------------------


def _key_sql(info: RawTableInfo, alias: str = "t") -> str:
    parts = [f"'{k}=' || coalesce(cast({alias}.{_q(k)} as varchar), 'null')" for k in info.key]
    return " || ', ' || ".join(parts)


def _result(
    con: duckdb.DuckDBPyConnection,
    states: dict[str, _TableState],
    warnings: list[str],
    stored: StoredRaw | None = None,
) -> IngestResult:
    """The rows in effect, in the order read, and the quarantine; frees the inputs as it goes."""
    quarantine_parts = [_quarantined_rows(con, state) for state in states.values()]
    before = [stored.quarantine.cast(QUARANTINE_SCHEMA)] if stored else []
    quarantine = pa.concat_tables([QUARANTINE_SCHEMA.empty_table(), *before, *quarantine_parts])
    if before and quarantine.num_rows:
        # a rejected row delivered again is kept once, as a rebuild keeps it
        first = (
            pl.from_arrow(quarantine.select(["table_name", "raw_row"]))
            .select(pl.struct("table_name", "raw_row").is_first_distinct())
            .to_series()
            .to_numpy()
        )
        quarantine = quarantine.filter(pa.array(first))
    # counts of this ingestion's rejections
    new_rejected = pa.concat_tables([QUARANTINE_SCHEMA.empty_table(), *quarantine_parts])
    counts = (
        {v["values"]: v["counts"] for v in pc.value_counts(new_rejected["table_name"]).to_pylist()}
        if new_rejected.num_rows
        else {}
    )
    rows_read = {name: s.typed.num_rows - s.n_stored for name, s in states.items()}
    for name in states:
        con.execute(f"drop view if exists {name}")
        con.unregister(f"{name}__judged")
        con.unregister(f"{name}__all")
    tables, kept, superseded, deleted, file_rows, judged_again = {}, {}, {}, {}, {}, {}
    for name, state in states.items():
        n = state.n_stored
        ids = state.typed.column(ROW_IDS).to_numpy()
        judged_again[name] = ids[:n]
        in_effect = state.rows_in_effect()
        tables[name] = in_effect.select(list(state.info.columns))
        # stored rows stay where they are unless their standing changed
        new = np.arange(state.typed.num_rows) >= n
        was_in_effect = np.zeros(state.typed.num_rows, dtype=bool)
        if n:
            was_in_effect[:n] = state.stored_in_effect
        # the rows in effect come in row-id order, the stored ones first: the new ones are
        # their tail (a slice, no copy)
        kept[name] = _with_source(in_effect.slice(int(state.alive[:n].sum())), state)
        older = state.superseded & ~state.quarantined & ~state.duplicate
        superseded[name] = _with_source(
            state.typed.filter(pa.array(older & (new | was_in_effect))), state
        )
        deleted["effect", name] = ids[~new & was_in_effect & ~state.alive]
        deleted["versions", name] = ids[~new & ~was_in_effect & state.quarantined]
        file_rows.update(state.file_rows)
        state.typed = state.typed.schema.empty_table()  # free the input
        state.masks_changed()
    return IngestResult(
        tables=tables,
        quarantine=quarantine,
        data_watermark=_watermark(tables),
        rows_read=rows_read,
        rows_rejected={name: counts.get(name, 0) for name in states},
        warnings=warnings,
        file_rows=file_rows,
        stored=kept,
        superseded=superseded,
        deleted=deleted,
        judged_again=judged_again,
    )


def _with_source(rows: pa.Table, state: _TableState) -> pa.Table:
    """The contract columns and where each row came from (file name, 1-based data row)."""
    names = pa.array([source.name for source in state.sources], pa.string())
    files = pa.DictionaryArray.from_arrays(rows.column(FILE).combine_chunks(), names)
    return (
        rows.select(list(state.info.columns))
        .append_column(SOURCE_FILE, files)
        .append_column(SOURCE_ROW, rows.column(ROW))
        .append_column(ROW_ID, rows.column(ROW_IDS))
    )


def _watermark(tables: dict[str, pa.Table]) -> datetime | None:
    """The greatest instant of any timestamp column of the rows in effect."""
    latest = None
    for name, table in tables.items():
        for column in raw_table_info(name).timestamp_columns:
            value = pc.max(table.column(column)).as_py()
            if value is not None and (latest is None or value > latest):
                latest = value
    return latest


def _quarantined_rows(con: duckdb.DuckDBPyConnection, state: _TableState) -> pa.Table:
    """Every rejected row, once, unchanged, with its first rule and all its reasons."""
    rejected = state.quarantined & ~state.duplicate
    if not rejected.any():
        return QUARANTINE_SCHEMA.empty_table()
    info = state.info
    rows = state.typed.filter(pa.array(rejected))
    register(con, "__rows", rows)
    register(
        con,
        "__violations",
        state.all_violations().append_column(
            "ordinal", pa.array(np.arange(state.all_violations().num_rows, dtype=np.int64))
        ),
    )
    try:
        table = _arrow(
            con,
            f"""
                with keyed as (
                    select {RID}, {FILE}, {ROW}, {_key_sql(info)} as row_key
                    from __rows t
                ),
                numbered as (
                    select *, row_number() over (partition by rid order by ordinal) as k
                    from __violations
                ),
                own as (
                    select rid,
                        max(rule) filter (where k = 1) as rule,
                        max("column") filter (where k = 1) as column_name,
                        max(reason) filter (where k = 1)
                            || coalesce('; also ' || string_agg(
                                rule || coalesce(' (' || "column" || ')', '') || ': ' || reason,
                                '; ' order by ordinal
                            ) filter (where k > 1), '') as reason
                    from numbered
                    group by rid
                ),
                key_cause as (
                    select k.row_key, arg_min(o.rule, k.{FILE} * 1e12 + k.{ROW}) as rule
                    from keyed k join own o on o.rid = k.{RID}
                    group by k.row_key
                )
                select k.{RID} as rid, k.{FILE} as file, k.{ROW} as source_row, k.row_key,
                    coalesce(o.column_name, null) as column_name,
                    coalesce(o.rule, '{KEY_QUARANTINED}') as rule,
                    coalesce(
                        o.reason,
                        'another version of ' || k.row_key || ' was rejected ('
                            || coalesce(c.rule, 'key') || ')'
                    ) as reason
                from keyed k
                left join own o on o.rid = k.{RID}
                left join key_cause c on c.row_key = k.row_key
                order by k.{FILE}, k.{ROW}
                """,
        )
    finally:
        con.unregister("__rows")
        con.unregister("__violations")
    sources = state.sources
    files = table.column("file").to_pylist()
    source_rows = table.column("source_row").to_pylist()
    raw_rows = _raw_rows(con, state, files, source_rows, table.column("rid").to_pylist())
    out = pa.table(
        {
            "table_name": pa.array([info.name] * table.num_rows, pa.string()),
            "source_file": pa.array([sources[f].name for f in files], pa.string()),
            "source_row": table.column("source_row"),
            "row_key": table.column("row_key"),
            "column_name": table.column("column_name").cast(pa.string()),
            "rule": table.column("rule"),
            "reason": table.column("reason"),
            "raw_row": pa.array(raw_rows, pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    # An exact duplicate is never quarantined: identical raw rows are stored once.
    first = pl.Series(raw_rows, dtype=pl.Utf8).is_first_distinct().to_numpy()
    return out.filter(pa.array(first))


def _raw_rows(
    con: duckdb.DuckDBPyConnection,
    state: _TableState,
    files: list[int],
    rows: list[int],
    rids: list[int],
) -> list[str]:
    """The rows as read (every column, extras included), as JSON objects.

    The files are read again: keeping every raw text value in memory for the few rejected
    rows would cost more than the typed tables themselves. A stored row (rejected because
    of what a later drop brought) is shown with its stored, typed values.
    """
    sources = state.sources
    out: list[str] = [""] * len(files)
    by_file: dict[int, list[int]] = {}
    for i, f in enumerate(files):
        by_file.setdefault(f, []).append(i)
    for f, positions in by_file.items():
        if sources[f].stored:
            data = state.typed.take(pa.array([rids[i] for i in positions], pa.int64()))
            data = data.select(list(state.info.columns))
        else:
            read, _ = read_source(sources[f])
            data = read.data.take(pa.array([rows[i] - 1 for i in positions], pa.int64()))
        texts = _arrow_of(con, _jsonable(data), "select to_json(r) from __rows r")
        for i, text in zip(positions, texts.column(0).to_pylist(), strict=True):
            out[i] = text
    return out


def _jsonable(data: pa.Table) -> pa.Table:
    """Values JSON can hold exactly: text for instants and decimals, as Arrow spells them."""
    columns = []
    for column in data.columns:
        t = column.type
        keep = (
            pa.types.is_string(t)
            or pa.types.is_integer(t)
            or pa.types.is_boolean(t)
            or pa.types.is_floating(t)
            or pa.types.is_null(t)
        )
        try:
            columns.append(column if keep else column.cast(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            columns.append(pa.array([str(v) for v in column.to_pylist()], pa.string()))
    return pa.table(columns, names=data.column_names)


def _raise_if_rejected(con: duckdb.DuckDBPyConnection, states: dict[str, _TableState]) -> None:
    """Fail closed: name table, file, rows, key, column and rule of every violation found.

    Rows rejected only as dependants (`parent_quarantined`) are left out: the message
    names their causes.
    """
    violations: list[Violation] = []
    counts: dict[tuple[str, str, str | None], int] = {}
    for name, state in states.items():
        found = state.all_violations()
        if not found.num_rows:
            continue
        found = found.filter(pc.not_equal(found.column("rule"), PARENT_QUARANTINED))
        if not found.num_rows:
            continue
        register(con, "__t", state.typed)
        register(
            con,
            "__v",
            found.append_column("ordinal", pa.array(np.arange(found.num_rows, dtype=np.int64))),
        )
        try:
            ranked = _arrow(
                con,
                f"""
                    with v as (
                        select v.rule, v."column", v.reason, v.ordinal, t.{FILE} as file,
                            t.{ROW} as source_row, {_key_sql(state.info)} as row_key,
                            row_number() over (
                                partition by v.rule, v."column" order by t.{FILE}, t.{ROW}
                            ) as pos,
                            count(*) over (partition by v.rule, v."column") as total
                        from __v v join __t t on t.{RID} = v.rid
                    )
                    select * from v where pos <= {KEPT_VIOLATIONS}
                    order by min(ordinal) over (partition by rule, "column"), pos
                    """,
            )
        finally:
            con.unregister("__t")
            con.unregister("__v")
        sources = state.sources
        for row in ranked.to_pylist():
            counts[(name, row["rule"], row["column"])] = row["total"]
            violations.append(
                Violation(
                    table=name,
                    rule=row["rule"],
                    reason=row["reason"],
                    file=sources[row["file"]].name,
                    row=row["source_row"],
                    key=row["row_key"],
                    column=row["column"],
                )
            )
    if violations:
        raise RawDataError(violations, counts)


def _reporter(progress: Callable[[str], None] | None) -> Callable[[str], None]:
    def say(message: str) -> None:
        if progress is None:
            log.info(message)
        else:
            progress(message)

    return say
