"""The raw directory as a landing zone, and the manifest of what was ingested from it.

raw-contract.md, first section: an exporter keeps dropping files into the raw directory;
each ingestion reads only the files that are new or changed since the last one. The
manifest (one row per file ingested: path, size, modification time, content hash, rows,
when and by which ingestion) is stored with the raw tables it describes, in the same
snapshot folder, so the two can never disagree after a crash.

A file is unchanged when its size and modification time are those of the manifest, or,
when they are not, its content hash is (an unchanged file delivered again). A file that is
gone from the landing zone stays in the manifest: its rows stay stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from compass_pipeline.ingest.errors import Violation
from compass_pipeline.ingest.read import SourceFile, locate

MANIFEST_SCHEMA = pa.schema(
    [
        ("path", pa.string()),  # relative to the raw directory, e.g. orders/part-2026-03-01.csv
        ("table_name", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("content_hash", pa.string()),  # sha256 of the file's bytes
        ("rows", pa.int64()),  # data rows read from it
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("ingestion", pa.int64()),  # 1 for the first ingestion, then 2, 3, ...
    ]
)


@dataclass(frozen=True)
class LandingFile:
    """A file of the landing zone as it is now."""

    source: SourceFile
    size: int
    mtime_ns: int
    content_hash: str | None = None  # computed only when size or time differ


@dataclass
class Changes:
    """What an ingestion has to read: the new or changed files, per table."""

    new: dict[str, list[SourceFile]] = field(default_factory=dict)
    files: dict[str, LandingFile] = field(default_factory=dict)  # by path, new and changed only
    touched: dict[str, int] = field(default_factory=dict)  # unchanged path -> its new mtime

    @property
    def count(self) -> int:
        return sum(len(files) for files in self.new.values())


def content_hash(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _landing_files(raw_dir: Path, *, partial: bool) -> tuple[list[LandingFile], list[Violation]]:
    """Every file of the landing zone; with `partial`, a table with no entry is no error (its
    rows were ingested before)."""
    sources, problems = locate(raw_dir)
    if partial:
        problems = [p for p in problems if p.rule != "missing_table"]
    files = []
    for table_sources in sources.values():
        for source in table_sources:
            stat = source.path.stat()
            files.append(LandingFile(source, stat.st_size, stat.st_mtime_ns))
    return files, problems


def changes(raw_dir: Path, manifest: pa.Table | None) -> tuple[Changes, list[Violation]]:
    """The files that are new or changed since `manifest` (every file when it is None)."""
    known = _known(manifest)
    files, problems = _landing_files(Path(raw_dir), partial=manifest is not None)
    found = Changes()
    for file in files:
        name = file.source.name
        before = known.get(name)
        if before is not None and (before["size"], before["mtime_ns"]) == (
            file.size,
            file.mtime_ns,
        ):
            continue
        digest = content_hash(file.source.path)
        if before is not None and before["content_hash"] == digest:
            found.touched[name] = file.mtime_ns
            continue
        found.files[name] = LandingFile(file.source, file.size, file.mtime_ns, digest)
        found.new.setdefault(file.source.table, []).append(file.source)
    return found, problems


def pending(raw_dir: Path, manifest: pa.Table | None) -> list[str]:
    """The files whose size or modification time differ from the manifest, without reading
    them: what a sensor can afford to look at on every tick."""
    known = _known(manifest)
    files, _ = _landing_files(Path(raw_dir), partial=manifest is not None)
    return sorted(
        f.source.name
        for f in files
        if (known.get(f.source.name) or {}).get("size") != f.size
        or known[f.source.name]["mtime_ns"] != f.mtime_ns
    )


def next_manifest(manifest: pa.Table | None, found: Changes, file_rows: dict[str, int]) -> pa.Table:
    """The manifest after an ingestion of `found`: the earlier rows (files gone from the
    landing zone included), with re-delivered unchanged files' new times, and a row per file
    read, replacing the row of a changed file."""
    earlier = MANIFEST_SCHEMA.empty_table() if manifest is None else manifest
    number = next_ingestion(manifest)
    earlier = with_times(earlier, found.touched)
    rows = [row for row in earlier.to_pylist() if row["path"] not in found.files]
    now = datetime.now(UTC)
    for name, file in sorted(found.files.items()):
        rows.append(
            {
                "path": name,
                "table_name": file.source.table,
                "size": file.size,
                "mtime_ns": file.mtime_ns,
                "content_hash": file.content_hash,
                "rows": file_rows.get(name, 0),
                "ingested_at": now,
                "ingestion": number,
            }
        )
    return pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)


def next_ingestion(manifest: pa.Table | None) -> int:
    """The number of the next ingestion: 1 for the first."""
    if manifest is None or not manifest.num_rows:
        return 1
    return pc.max(manifest.column("ingestion")).as_py() + 1


def with_times(manifest: pa.Table, touched: dict[str, int]) -> pa.Table:
    """The manifest with the new modification times of files delivered again unchanged."""
    paths = manifest.column("path").to_pylist()
    times = [
        touched.get(p, t) for p, t in zip(paths, manifest["mtime_ns"].to_pylist(), strict=True)
    ]
    index = manifest.schema.get_field_index("mtime_ns")
    return manifest.set_column(index, "mtime_ns", pa.array(times, pa.int64()))


def _known(manifest: pa.Table | None) -> dict[str, dict]:
    if manifest is None:
        return {}
    return {row["path"]: row for row in manifest.to_pylist()}
