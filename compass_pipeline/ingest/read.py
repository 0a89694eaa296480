"""Finding and reading the files of a raw directory (raw-contract.md, first paragraph).

One entry per table: `<table>.csv`, `<table>.parquet`, or a folder `<table>/` holding any
number of `.csv` or `.parquet` files, all of one format. CSV is read as text, every column
a string, so no value is converted before the contract's text rules have seen it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from compass_pipeline.ingest.errors import Violation
from schemas.raw import RAW_TABLES, raw_table_info

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class SourceFile:
    """One input file of a table; `name` is its path relative to the raw directory."""

    table: str
    path: Path
    name: str
    fmt: str  # csv | parquet
    stored: bool = False  # rows of an earlier ingestion, read back from the data directory


@dataclass
class ReadFile:
    """A file as read: every column it has (contract and extra), in its own types."""

    source: SourceFile
    data: pa.Table


def locate(raw_dir: Path) -> tuple[dict[str, list[SourceFile]], list[Violation]]:
    """The files of every contract table, or the structural violations found."""
    raw_dir = Path(raw_dir)
    problems: list[Violation] = []
    found: dict[str, list[SourceFile]] = {}
    if not raw_dir.is_dir():
        problems.append(
            Violation("*", "missing_raw_dir", f"raw directory {raw_dir} does not exist")
        )
        return found, problems
    for table in RAW_TABLES:
        entries = [
            raw_dir / f"{table}.{fmt}" for fmt in FORMATS if (raw_dir / f"{table}.{fmt}").is_file()
        ]
        folder = raw_dir / table
        if folder.is_dir():
            entries.append(folder)
        if not entries:
            problems.append(
                Violation(
                    table,
                    "missing_table",
                    f"no {table}.csv, {table}.parquet or folder {table}/ in {raw_dir}",
                )
            )
            continue
        if len(entries) > 1:
            names = ", ".join(_relative(raw_dir, e) + ("/" if e.is_dir() else "") for e in entries)
            problems.append(
                Violation(table, "ambiguous_table", f"several entries for one table: {names}")
            )
            continue
        entry = entries[0]
        if entry.is_file():
            found[table] = [SourceFile(table, entry, entry.name, entry.suffix[1:])]
            continue
        files = sorted(p for p in entry.iterdir() if p.is_file() and p.suffix[1:] in FORMATS)
        formats = {p.suffix[1:] for p in files}
        if len(formats) > 1:
            problems.append(
                Violation(
                    table,
                    "mixed_formats",
                    f"folder {table}/ mixes .csv and .parquet files; use one format",
                    file=f"{table}/",
                )
            )
            continue
        found[table] = [SourceFile(table, p, _relative(raw_dir, p), p.suffix[1:]) for p in files]
    return found, problems


def read_source(source: SourceFile) -> tuple[ReadFile | None, list[Violation]]:
    """Read one file whole; a file that cannot be read, or lacks a column, is a violation."""
    try:
        if source.fmt == "csv":
            header = _csv_header(source.path)
            problems = _column_problems(source, header)
            if problems:
                return None, problems
            data = _read_csv(source.path, header)
        else:
            names = pq.read_schema(source.path).names
            problems = _column_problems(source, names)
            if problems:
                return None, problems
            data = pq.read_table(source.path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, csv.Error) as exc:
        return None, [
            Violation(
                source.table,
                "unreadable_file",
                f"cannot read {source.fmt.upper()}: {exc}",
                file=source.name,
            )
        ]
    return ReadFile(source, data), []


def extra_columns(read: ReadFile) -> list[str]:
    contract = set(raw_table_info(read.source.table).columns)
    return [c for c in read.data.column_names if c not in contract]


def _column_problems(source: SourceFile, names: list[str]) -> list[Violation]:
    info = raw_table_info(source.table)
    problems = []
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(
            Violation(
                source.table,
                "duplicate_column",
                f"column named more than once: {', '.join(duplicates)}",
                file=source.name,
            )
        )
    for column in info.columns:
        if column not in names:
            problems.append(
                Violation(
                    source.table,
                    "missing_column",
                    f"required column {column} is missing",
                    file=source.name,
                    column=column,
                )
            )
    return problems


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        row = next(csv.reader(handle), None)
    if row is None:
        raise pa.ArrowInvalid("the file is empty (no header row)")
    return row


def _read_csv(path: Path, header: list[str]) -> pa.Table:
    """Every column as text; an empty field is null (raw-contract.md: empty = null).

    A field may hold a quoted line break only if the file has a quote at all; without one
    the parser may split the file into blocks at any line break, which is much faster.
    """
    data = path.read_bytes()
    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(block_size=4 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in data),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
