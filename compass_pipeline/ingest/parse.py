"""From the values as read to the contract's types, checking the text first (raw-contract.md,
"Conventions").

DuckDB would cast `'1.005'` to `DECIMAL(18,2)` as 1.01 and a timestamp without offset as
UTC, silently; so every text value is matched against the contract's grammar before it is
cast, and a value that does not match is a violation, never a rounded or guessed value.
Text columns (all of CSV, and string columns of Parquet) follow the same rules. Typed
Parquet columns are checked by type: timestamps must carry a time zone, money must be a
decimal or integer exact to the cent (a float is an error, whatever its values).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from compass_pipeline.ingest.duck import register
from compass_pipeline.ingest.errors import Violation
from compass_pipeline.ingest.read import ReadFile
from schemas.raw import (
    BOOLEAN,
    INTEGER,
    MONEY_KIND,
    RATE_KIND,
    STRING,
    TIMESTAMP,
    raw_arrow_schema,
    raw_table_info,
)

# ISO-8601 instants with an explicit offset or Z: date, `T` (or a space), hh:mm[:ss[.ffffff]].
_DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
_OFFSET = r"(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)"
TIMESTAMP_RE = f"{_DATE}[T ]{_TIME}{_OFFSET}"
TIMESTAMP_NO_OFFSET_RE = f"{_DATE}([T ]{_TIME})?"
DECIMAL_RE = r"[+-]?\d+(\.\d+)?"
# Exact to the cent: digits past the second decimal may only be zeros (never rounded).
MONEY_RE = r"[+-]?\d{1,16}(\.\d{1,2}0*)?"
MONEY_SCALE_RE = r"[+-]?\d+(\.\d{1,2}0*)?"
RATE_RE = r"[+-]?\d{1,2}(\.\d{1,4}0*)?"
RATE_SCALE_RE = r"[+-]?\d+(\.\d{1,4}0*)?"
INTEGER_RE = r"[+-]?\d{1,18}"

# Error codes of the text rules, in the SQL below, and what they mean.
TEXT_RULES = {
    1: ("timestamp_offset", "timestamp has no UTC offset (write Z or +hh:mm)"),
    2: ("timestamp_format", "not an ISO-8601 timestamp"),
    3: ("decimal_scale", "more than 2 decimals (money is exact to the cent, never rounded)"),
    4: ("decimal_format", "not a decimal number"),
    5: ("decimal_overflow", "does not fit DECIMAL(18,2)"),
    6: ("decimal_scale", "more than 4 decimals (a rate is DECIMAL(6,4), never rounded)"),
    7: ("decimal_overflow", "does not fit DECIMAL(6,4)"),
    8: ("integer_format", "not an integer"),
    9: ("boolean_format", "not true or false"),
}

_SQL_TYPES = {
    TIMESTAMP: "timestamptz",
    MONEY_KIND: "decimal(18,2)",
    RATE_KIND: "decimal(6,4)",
    INTEGER: "bigint",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text_check_sql(column: str, kind: str) -> tuple[str, str]:
    """SQL for the parsed value and the error code (0 = fine or null) of one text column."""
    c = _q(column)
    if kind == BOOLEAN:
        value = f"case lower({c}) when 'true' then true when 'false' then false end"
        code = f"case when {c} is null or lower({c}) in ('true', 'false') then 0 else 9 end"
        return value, code
    cast = f"try_cast({c} as {_SQL_TYPES[kind]})"
    if kind == TIMESTAMP:
        code = f"""case
            when {c} is null then 0
            when regexp_full_match({c}, '{TIMESTAMP_RE}') and {cast} is not null then 0
            when regexp_full_match({c}, '{TIMESTAMP_NO_OFFSET_RE}') then 1
            else 2 end"""
    elif kind == MONEY_KIND:
        code = f"""case
            when {c} is null then 0
            when regexp_full_match({c}, '{MONEY_RE}') then 0
            when not regexp_full_match({c}, '{DECIMAL_RE}') then 4
            when regexp_full_match({c}, '{MONEY_SCALE_RE}') then 5
            else 3 end"""
    elif kind == RATE_KIND:
        code = f"""case
            when {c} is null then 0
            when regexp_full_match({c}, '{RATE_RE}') then 0
            when not regexp_full_match({c}, '{DECIMAL_RE}') then 4
            when regexp_full_match({c}, '{RATE_SCALE_RE}') then 7
            else 6 end"""
    elif kind == INTEGER:
        code = f"""case
            when {c} is null then 0
            when regexp_full_match({c}, '{INTEGER_RE}') and {cast} is not null then 0
            else 8 end"""
    else:
        raise ValueError(kind)
    return cast, code


@dataclass
class TypedFile:
    """A file's contract columns in the contract's types, and the row violations found.

    `errors` has one row per bad value: row (0-based in the file), column, rule, reason.
    """

    data: pa.Table
    errors: pa.Table


ERRORS_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("column", pa.string()),
        ("rule", pa.string()),
        ("reason", pa.string()),
    ]
)


def type_file(
    read: ReadFile, con: duckdb.DuckDBPyConnection
) -> tuple[TypedFile | None, list[Violation]]:
    """Convert one file to the contract's types; column-level problems are violations."""
    table = read.source.table
    info = raw_table_info(table)
    target = raw_arrow_schema(table)
    columns: dict[str, pa.ChunkedArray] = {}
    text_columns: dict[str, str] = {}  # column -> kind, parsed in one DuckDB query
    errors: list[pa.Table] = []
    problems: list[Violation] = []
    for field in target:
        name, kind = field.name, info.kinds[field.name]
        array = read.data.column(name)
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if pa.types.is_null(array.type):
            columns[name] = pa.chunked_array([pa.nulls(len(array), field.type)])
        elif _is_text(array.type):
            # The CSV reader already reads an empty field as null.
            array = array.cast(pa.string())
            columns[name] = array if read.source.fmt == "csv" else _empty_to_null(array)
            if kind != STRING:
                text_columns[name] = kind
        else:
            converted, errs, problem = _typed_column(read, name, kind, array, field.type)
            if problem is not None:
                problems.append(problem)
                continue
            columns[name] = converted
            if errs is not None:
                errors.append(errs)
    if problems:
        return None, problems
    if text_columns:
        parsed, errs = _parse_text(con, {c: columns[c] for c in text_columns}, text_columns)
        columns.update(parsed)
        errors.append(errs)
    data = pa.table([columns[f.name] for f in target], schema=target)
    error_table = pa.concat_tables(errors) if errors else ERRORS_SCHEMA.empty_table()
    return TypedFile(data, error_table), []


def _is_text(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _empty_to_null(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """An empty string is null in Parquet as in CSV, so both formats give the same table."""
    empty = pc.equal(array, "")
    if not pc.any(empty).as_py():
        return array
    return pc.if_else(empty, pa.scalar(None, pa.string()), array)


def _parse_text(
    con: duckdb.DuckDBPyConnection,
    columns: dict[str, pa.ChunkedArray],
    kinds: dict[str, str],
) -> tuple[dict[str, pa.ChunkedArray], pa.Table]:
    """Match every text value against its grammar, then cast; one query for all columns."""
    source = pa.table(columns)
    selects = []
    for i, (name, kind) in enumerate(kinds.items()):
        value, code = _text_check_sql(name, kind)
        selects.append(f"{code} as __e{i}")
        selects.append(f"{value} as __v{i}")
    register(con, "__text_source", source)
    try:
        result = con.sql(f"select {', '.join(selects)} from __text_source").to_arrow_table()
    finally:
        con.unregister("__text_source")
    parsed: dict[str, pa.ChunkedArray] = {}
    errors = []
    for i, name in enumerate(kinds):
        codes = result.column(f"__e{i}")
        bad = pc.not_equal(codes, 0)
        value = result.column(f"__v{i}")
        if pc.any(bad).as_py():
            value = pc.if_else(bad, pa.scalar(None, value.type), value)
            rows = pc.indices_nonzero(bad.combine_chunks())
            bad_codes = pc.take(codes, rows).to_numpy()
            texts = pc.take(source.column(name), rows).to_pylist()
            errors.append(
                pa.table(
                    {
                        "row": rows.cast(pa.int64()),
                        "column": pa.array([name] * len(rows), pa.string()),
                        "rule": pa.array([TEXT_RULES[int(c)][0] for c in bad_codes], pa.string()),
                        "reason": pa.array(
                            [
                                f"{name}={t!r}: {TEXT_RULES[int(c)][1]}"
                                for t, c in zip(texts, bad_codes, strict=True)
                            ],
                            pa.string(),
                        ),
                    },
                    schema=ERRORS_SCHEMA,
                )
            )
        parsed[name] = value
    error_table = pa.concat_tables(errors) if errors else ERRORS_SCHEMA.empty_table()
    return parsed, error_table


def _typed_column(
    read: ReadFile, name: str, kind: str, array: pa.ChunkedArray, target: pa.DataType
) -> tuple[pa.ChunkedArray | None, pa.Table | None, Violation | None]:
    """A typed (Parquet) column: check its type, convert it, flag values that are not exact."""

    def problem(rule: str, reason: str) -> tuple[None, None, Violation]:
        return (
            None,
            None,
            Violation(
                read.source.table,
                rule,
                f"{name} is {array.type}: {reason}",
                file=read.source.name,
                column=name,
            ),
        )

    t = array.type
    if kind == TIMESTAMP:
        if not pa.types.is_timestamp(t):
            return problem("column_type", "expected a timestamp with time zone UTC")
        if t.tz is None:
            return problem(
                "timestamp_offset", "a timestamp without time zone is not an instant; store UTC"
            )
        # Arrow keeps tz-aware timestamps as UTC instants: relabelling the zone is exact.
        as_utc = array.cast(pa.timestamp(t.unit, "UTC"))
        if t.unit == "ns":
            ticks = as_utc.cast(pa.int64())
            bad = pc.not_equal(pc.subtract(ticks, pc.multiply(pc.divide(ticks, 1000), 1000)), 0)
            bad = pc.fill_null(bad, False)
            if pc.any(bad).as_py():
                errs = _errors_from_mask(
                    bad, name, "timestamp_format", "finer than a microsecond", array
                )
                cleaned = pc.if_else(bad, pa.scalar(None, as_utc.type), as_utc)
                return cleaned.cast(target, safe=False), errs, None
            return as_utc.cast(target, safe=False), None, None
        return as_utc.cast(target), None, None
    if kind in (MONEY_KIND, RATE_KIND):
        if pa.types.is_floating(t):
            return problem(
                "money_float", "floating point cannot hold exact amounts; use a decimal type"
            )
        if pa.types.is_integer(t):
            return _exact_decimal(read, name, kind, array.cast(pa.decimal128(38, 0)), target)
        if pa.types.is_decimal(t):
            return _exact_decimal(read, name, kind, array, target)
        return problem("column_type", f"expected {target}")
    if kind == INTEGER:
        if not pa.types.is_integer(t):
            return problem("column_type", "expected an integer type")
        try:
            return array.cast(pa.int64()), None, None
        except pa.ArrowInvalid:
            return problem("integer_format", "values do not fit a 64-bit integer")
    if kind == BOOLEAN:
        if not pa.types.is_boolean(t):
            return problem("column_type", "expected a boolean")
        return array, None, None
    return problem("column_type", "expected a string (IDs and names are strings)")


def _exact_decimal(
    read: ReadFile, name: str, kind: str, array: pa.ChunkedArray, target: pa.DataType
) -> tuple[pa.ChunkedArray, pa.Table | None, None]:
    """Cast a decimal to the contract's scale; a value that would change is a violation."""
    t = array.type
    fits_type = t.scale <= target.scale and t.precision - t.scale <= target.precision - target.scale
    if fits_type:
        return array.cast(target), None, None
    wide = array.cast(pa.decimal128(38, max(t.scale, target.scale)))
    rounded = pc.round(wide, ndigits=target.scale)
    inexact = pc.fill_null(pc.not_equal(rounded, wide), False)
    limit = pa.scalar(10 ** (target.precision - target.scale), pa.decimal128(38, 0)).cast(wide.type)
    too_big = pc.fill_null(pc.greater_equal(pc.abs(wide), limit), False)
    bad = pc.or_(inexact, too_big)
    if not pc.any(bad).as_py():
        return wide.cast(target), None, None
    scale_rule = 3 if kind == MONEY_KIND else 6
    size_rule = 5 if kind == MONEY_KIND else 7
    errs = pa.concat_tables(
        [
            _errors_from_mask(inexact, name, *TEXT_RULES[scale_rule], array),
            _errors_from_mask(pc.and_not(too_big, inexact), name, *TEXT_RULES[size_rule], array),
        ]
    )
    safe_values = pc.if_else(bad, pa.scalar(None, wide.type), wide)
    return safe_values.cast(target), errs, None


def _errors_from_mask(
    mask: pa.ChunkedArray | pa.Array, name: str, rule: str, reason: str, values: pa.ChunkedArray
) -> pa.Table:
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    rows = pc.indices_nonzero(mask)
    shown = pc.take(values, rows).cast(pa.string()).to_pylist()
    return pa.table(
        {
            "row": rows.cast(pa.int64()),
            "column": pa.array([name] * len(rows), pa.string()),
            "rule": pa.array([rule] * len(rows), pa.string()),
            "reason": pa.array([f"{name}={v!r}: {reason}" for v in shown], pa.string()),
        },
        schema=ERRORS_SCHEMA,
    )


def row_numbers(n: int) -> pa.Array:
    return pa.array(np.arange(1, n + 1, dtype=np.int64))
