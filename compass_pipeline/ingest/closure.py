"""Which stored rows an incremental ingestion must judge again (raw-contract.md, first
section: "the rules hold across stored and new rows").

A drop is judged with the stored rows it can affect, not with the whole history:

- every stored version of a key the drop delivers again (versions, exact duplicates,
  conflicts, a key rejected whole);
- the stored descendants of a row the drop changes, following the contract's references
  (an order cancelled → its lines → their refunds and settlements; a LIVE that ended → its
  room events, impressions, bag, and the lines and cart adds bought in it), since a rule
  of a child reads its parents, and a rejected parent rejects its children;
- the stored rows of a set rule's group that the drop touches: the refunds of the lines
  of an order that gains a line, a refund or a new version (succeeded refunds within a
  line's GMV, whose shipping share depends on the order's other lines); a LIVE's whole
  shopping bag (one currency); a viewer's room events in a LIVE (enter/leave order).

Every other stored row keeps its verdict: what it reads did not change. It stays in its
file, visible to the rules as a parent (`core`'s full views). The queries run in DuckDB
over the stored Parquet files, out of core; a row that is new to the landing zone can
have no stored descendants (a child never gets stored before its parent), so only keys
that were stored before are followed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from compass_pipeline.ingest.duck import arrow, register
from compass_pipeline.ingest.rules import CONTEXTS
from compass_pipeline.storage import sql_literal
from schemas.raw import RAW_TABLES, raw_table_info

ROW_ID = "_row_id"  # a stored row's identity across ingestions
IN_EFFECT = "__in_effect"  # a loaded stored row: from the rows in effect, or the versions
KINDS = ("effect", "versions")


@dataclass
class StoredParts:
    """The Parquet files of the stored raw tables, per kind (`effect`: the rows in effect;
    `versions`: superseded versions) and table, and per kind and table the ids of the rows
    that left those files since they were written (`deleted`: a row that became a
    superseded version keeps its id, in a versions file)."""

    effect: dict[str, list[Path]] = field(default_factory=dict)
    versions: dict[str, list[Path]] = field(default_factory=dict)
    deleted: dict[tuple[str, str], Path] = field(default_factory=dict)  # (kind, table)

    def files(self, table: str) -> list[Path]:
        return self.effect.get(table, []) + self.versions.get(table, [])

    def scan(self, table: str, kind: str) -> str | None:
        """The rows of one kind of a table's files still there (None: no file)."""
        files = getattr(self, kind).get(table, [])
        if not files:
            return None
        rows = f"read_parquet([{', '.join(sql_literal(str(p)) for p in files)}])"
        gone = self.deleted.get((kind, table))
        if gone is None:
            return rows
        return (
            f"(select * from {rows} s anti join read_parquet({sql_literal(str(gone))}) d "
            f"on d.{ROW_ID} = s.{ROW_ID})"
        )

    def stored(self, table: str) -> str | None:
        """Every stored version of a table's rows (None: no file)."""
        scans = [scan for kind in KINDS if (scan := self.scan(table, kind)) is not None]
        return " union all ".join(f"select * from {scan}" for scan in scans) or None


def links() -> tuple[tuple[str, str, str], ...]:
    """(child table, column, parent table) of every reference of the contract's rules."""
    return tuple((ctx.table, ref.column, ref.parent) for ctx in CONTEXTS for ref in ctx.references)


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    con.execute(sql).fetchall()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Play:
    """The keys in play per table, as DuckDB temporary tables `__play_<table>`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, parts: StoredParts):
        self.con = con
        self.parts = parts
        for table in RAW_TABLES:
            key = raw_table_info(table).key
            columns = ", ".join(f"{_q(k)} varchar" for k in key)
            _run(con, f"create or replace temp table __play_{table} ({columns})")
            _run(con, f"create or replace temp table __changed_{table} ({columns})")

    def key(self, table: str) -> str:
        return ", ".join(_q(k) for k in raw_table_info(table).key)

    def add(self, table: str, select: str, *, changed: bool = False) -> int:
        """Add the distinct keys `select` returns (key columns, in order); the count added."""
        target = f"__changed_{table}" if changed else f"__play_{table}"
        key = self.key(table)
        before = self.count(target)
        _run(
            self.con,
            f"insert into {target} select distinct {key} from ({select}) "
            f"except select {key} from {target}",
        )
        if changed:
            self.add(table, f"select {key} from __changed_{table}")
        return self.count(target) - before

    def count(self, target: str) -> int:
        return self.con.execute(f"select count(*) from {target}").fetchall()[0][0]

    def effect(self, table: str) -> str | None:
        return self.parts.scan(table, "effect")

    def stored(self, table: str) -> str | None:
        stored = self.parts.stored(table)
        return f"({stored})" if stored else None


def stored_rows_in_play(
    con: duckdb.DuckDBPyConnection, new: dict[str, pa.Table], parts: StoredParts
) -> dict[str, pa.Table]:
    """Per table, every stored version (contract columns and provenance) of the keys the
    drop `new` (per table, its typed rows) affects, as listed in this module's docstring."""
    play = _Play(con, parts)
    for table, rows in new.items():
        if rows.num_rows:
            register(con, f"__new_{table}", rows.select(list(raw_table_info(table).columns)))
    try:
        _versions_of_delivered_keys(play, new)
        _descendants(play)
        _groups(play, new)
        return _load(play)
    finally:
        for table, rows in new.items():
            if rows.num_rows:
                con.unregister(f"__new_{table}")


def _versions_of_delivered_keys(play: _Play, new: dict[str, pa.Table]) -> None:
    """Keys delivered again; `changed` when a delivered row is no exact copy of a stored one.

    One scan of the stored keys finds the stored versions of the delivered keys; only those
    few rows are compared column by column with the delivered ones.
    """
    for table, rows in new.items():
        stored = play.stored(table)
        if not rows.num_rows or stored is None:
            continue
        info = raw_table_info(table)
        on_key = " and ".join(f"s.{_q(k)} = n.{_q(k)}" for k in info.key)
        _run(
            play.con,
            f"create or replace temp table __again_{table} as "
            + _rows_by_key(stored, f"__new_{table}", info.key),
        )
        if not play.count(f"__again_{table}"):
            continue
        same_row = " and ".join(f"s.{_q(c)} is not distinct from n.{_q(c)}" for c in info.columns)
        play.add(table, f"select * from __again_{table}")
        play.add(
            table,
            f"""
            select n.* from __new_{table} n
            semi join __again_{table} s on {on_key}
            anti join __again_{table} s on {same_row}
            """,
            changed=True,
        )


def _descendants(play: _Play) -> None:
    """The stored rows in effect that reference a changed row, and theirs, parents first."""
    by_child: dict[str, list[tuple[str, str]]] = {}
    for child, column, parent in links():
        by_child.setdefault(child, []).append((column, parent))
    for ctx in CONTEXTS:  # parents before children
        child = ctx.table
        effect = play.effect(child)
        if effect is None:
            continue
        for column, parent in by_child.get(child, []):
            if not play.count(f"__changed_{parent}"):
                continue
            (parent_key,) = raw_table_info(parent).key
            play.add(
                child,
                f"""
                select c.* from {effect} c
                semi join __changed_{parent} p on p.{_q(parent_key)} = c.{_q(column)}
                """,
                changed=True,  # judged again: may be rejected, so its children too
            )


def _groups(play: _Play, new: dict[str, pa.Table]) -> None:
    """The stored members of the set rules' groups that the drop touches."""
    _refund_groups(play, new)
    _bag_groups(play, new)
    _viewer_groups(play, new)


def _in_drop(new: dict[str, pa.Table], table: str, columns: Sequence[str]) -> str:
    """`select columns` from the drop's rows of a table (no row when it has none)."""
    if table in new and new[table].num_rows:
        return f"select {', '.join(_q(c) for c in columns)} from __new_{table}"
    nulls = ", ".join(f"cast(null as varchar) as {_q(c)}" for c in columns)
    return f"select {nulls} where false"


def _refund_groups(play: _Play, new: dict[str, pa.Table]) -> None:
    """Every stored refund of every line of an order whose lines, refunds or version the
    drop touches (`refund_exceeds_gmv`: a line's GMV depends on its order's lines)."""
    lines, refunds = play.effect("order_lines"), play.stored("refunds")
    if lines is None or refunds is None:
        return
    con = play.con
    _run(
        con,
        f"""
        create or replace temp table __group_lines as
        select line_id from ({_in_drop(new, "refunds", ["line_id"])})
        union select line_id from __play_order_lines
        union select s.line_id from {refunds} s
            semi join __play_refunds p on p.refund_id = s.refund_id
        """,
    )
    _run(
        con,
        f"""
        create or replace temp table __group_orders as
        select order_id from ({_in_drop(new, "order_lines", ["order_id"])})
        union select order_id from __play_orders
        union select l.order_id from {lines} l
            semi join __group_lines g on g.line_id = l.line_id
        """,
    )
    play.add(
        "refunds",
        f"""
        select s.refund_id from {refunds} s
        semi join (
            select l.line_id from {lines} l
            semi join __group_orders o on o.order_id = l.order_id
        ) g on g.line_id = s.line_id
        """,
    )


def _bag_groups(play: _Play, new: dict[str, pa.Table]) -> None:
    """A LIVE's whole stored bag, when the drop touches the bag (`live_mixed_currency`)."""
    bag = play.stored("live_products")
    if bag is None:
        return
    play.add(
        "live_products",
        f"""
        select s.live_id, s.product_id from {bag} s
        semi join (
            {_in_drop(new, "live_products", ["live_id"])}
            union select live_id from __play_live_products
        ) g on g.live_id = s.live_id
        """,
    )


def _viewer_groups(play: _Play, new: dict[str, pa.Table]) -> None:
    """A viewer's stored events in a LIVE, when the drop touches them (`enter_leave_order`).

    Only LIVEs stored before can have stored events, and those lie within the LIVE: the
    scan reads the row groups from the earliest such start on (Parquet statistics).
    """
    events, lives = play.stored("live_room_events"), play.stored("live_sessions")
    if events is None or lives is None:
        return
    _run(
        play.con,
        f"""
        create or replace temp table __group_viewers as
        select distinct live_id, viewer_id from (
            {_in_drop(new, "live_room_events", ["live_id", "viewer_id"])}
            union all
            select e.live_id, e.viewer_id from {events} e
            semi join __play_live_room_events p on p.event_id = e.event_id
        ) v
        semi join (select live_id from {lives}) l on l.live_id = v.live_id
        """,
    )
    if not play.count("__group_viewers"):
        return
    since = play.con.execute(
        f"""
        select min(started_at) from {lives}
        where live_id in (select live_id from __group_viewers)
        """
    ).fetchall()[0][0]
    play.add(
        "live_room_events",
        f"""
        select e.event_id from {events} e
        semi join __group_viewers g on g.live_id = e.live_id and g.viewer_id = e.viewer_id
        where e.occurred_at >= {sql_literal(since.isoformat())}::timestamptz
        """,
    )


def _rows_by_key(scan: str, keys: str, key: Sequence[str]) -> str:
    """The rows of `scan` whose key is in `keys`: their ids first, from the key columns
    alone, then the rows by id (whose ranges the Parquet statistics prune)."""
    on_key = " and ".join(f"i.{_q(k)} = p.{_q(k)}" for k in key)
    return f"""
        select s.* from {scan} s
        semi join (
            select i.{ROW_ID} from {scan} i semi join {keys} p on {on_key}
        ) r on r.{ROW_ID} = s.{ROW_ID}"""


def _load(play: _Play) -> dict[str, pa.Table]:
    """Every stored version of the keys in play, in the order stored, each marked
    (`IN_EFFECT`) with where it is stored: with the rows in effect, or the versions."""
    loaded = {}
    parts = play.parts
    for table in RAW_TABLES:
        if not play.parts.files(table) or not play.count(f"__play_{table}"):
            continue
        key = raw_table_info(table).key
        selects = [
            f"select *, {flag} as {IN_EFFECT} from ({_rows_by_key(scan, f'__play_{table}', key)})"
            for flag, scan in (
                ("true", parts.scan(table, "effect")),
                ("false", parts.scan(table, "versions")),
            )
            if scan is not None
        ]
        loaded[table] = arrow(play.con, " union all ".join(selects))
    return loaded
