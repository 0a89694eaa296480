"""Violations of the raw contract and the error that reports them (raw-contract.md, "Bad input").

The message must let a user fix the input without reading code: it names the table, the
file, the first rows (1-based data rows of that file) with their key, the column and the
rule, and the total count of each rule's offending rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A row rejected only because something it depends on was rejected; reported in quarantine
# mode, left out of the fail-closed message, which names the causes.
PARENT_QUARANTINED = "parent_quarantined"
KEY_QUARANTINED = "key_quarantined"

SHOWN_ROWS = 5  # rows quoted per rule in a message
KEPT_VIOLATIONS = 100  # violations kept per (table, rule, column) on the exception


@dataclass(frozen=True)
class Violation:
    """One row (or, for structural rules, one file or table) breaking one contract rule."""

    table: str
    rule: str
    reason: str
    file: str | None = None
    row: int | None = None  # 1-based data row within `file`
    key: str | None = None  # e.g. "order_id=O1"
    column: str | None = None

    def where(self) -> str:
        detail = ", ".join(p for p in (self.key, self.reason) if p)
        if self.file is None:
            return detail
        place = self.file if self.row is None else f"{self.file} row {self.row}"
        return place + (f" ({detail})" if detail else "")


class RawDataError(Exception):
    """The raw directory breaks the contract; nothing was stored.

    `violations` holds up to `KEPT_VIOLATIONS` violations per table, rule and column;
    `counts` the total number per (table, rule, column).
    """

    def __init__(
        self,
        violations: Sequence[Violation],
        counts: dict[tuple[str, str, str | None], int] | None = None,
    ):
        self.violations = list(violations)
        if counts is None:
            counts = {}
            for v in self.violations:
                counts[(v.table, v.rule, v.column)] = counts.get((v.table, v.rule, v.column), 0) + 1
        self.counts = counts
        super().__init__(format_message(self.violations, self.counts))


def format_message(
    violations: Sequence[Violation], counts: dict[tuple[str, str, str | None], int]
) -> str:
    """One paragraph per table, rule and column: a line with the count, then one indented
    line per violation shown (file, row, key, reason), then how many more.

    Each violation appears once: the CLI prints this message as it is, and Dagster's run
    shows it as the step's failure description.
    """
    groups: dict[tuple[str, str, str | None], list[Violation]] = {}
    for v in violations:
        groups.setdefault((v.table, v.rule, v.column), []).append(v)
    total = sum(counts.values())
    lines = [
        f"raw data breaks the raw contract ({total} violation{'s' if total != 1 else ''}); "
        "nothing was stored"
    ]
    for (table, rule, column), items in groups.items():
        count = counts.get((table, rule, column), len(items))
        what = "rows break" if count != 1 else "row breaks"
        if items[0].row is None:
            what = "problems with" if count != 1 else "problem with"
            head = f"{table}: {what} rule '{rule}'"
        else:
            head = f"{table}: {count} {what} rule '{rule}'"
        if column:
            plural = "s" if "," in column else ""
            head += f" (column{plural} {column.replace(',', ', ')})"
        lines.append(f"{head}:")
        lines += [f"  {v.where()}" for v in items[:SHOWN_ROWS]]
        more = count - min(len(items), SHOWN_ROWS)
        if more > 0:
            lines.append(f"  and {more} more")
    return "\n".join(lines)


def raise_if_any(violations: Iterable[Violation]) -> None:
    found = list(violations)
    if found:
        raise RawDataError(found)
