"""A tiny raw directory that satisfies every rule of raw-contract.md, built from Python dicts.

Values are written as the contract's text (what a CSV holds); `write_raw_dir` writes them
as CSV, or as Parquet with the contract's types, as single files or folders of files.
Tests copy `good_rows()`, break one thing, and write.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.raw import RAW_TABLES, raw_arrow_schema, raw_table_info

Rows = dict[str, list[dict[str, str | None]]]

_GOOD: Rows = {
    "shops": [
        dict(
            shop_id="S1",
            shop_name="Shop One",
            region="US",
            currency="USD",
            timezone="America/Los_Angeles",
        ),
        dict(
            shop_id="S2",
            shop_name="Shop Two",
            region="GB",
            currency="GBP",
            timezone="Europe/London",
        ),
    ],
    "accounts": [
        dict(account_id="A1", handle="@one", account_type="official", region="US"),
        dict(account_id="A2", handle="@two", account_type="channel", region="US"),
        dict(account_id="A3", handle="@three", account_type="affiliate", region="GB"),
    ],
    "account_bindings": [
        dict(
            shop_id="S1",
            account_id="A1",
            binding_type="official_integrated",
            bound_at="2026-02-01T00:00:00Z",
            unbound_at=None,
            updated_at="2026-02-01T00:00:00Z",
        ),
        # two versions: the later one (unbound) wins
        dict(
            shop_id="S1",
            account_id="A2",
            binding_type="channel",
            bound_at="2026-02-01T00:00:00Z",
            unbound_at=None,
            updated_at="2026-02-01T00:00:00Z",
        ),
        dict(
            shop_id="S1",
            account_id="A2",
            binding_type="channel",
            bound_at="2026-02-01T00:00:00Z",
            unbound_at="2026-03-02T12:00:00Z",
            updated_at="2026-03-02T12:00:00Z",
        ),
    ],
    "products": [
        dict(product_id="P1", shop_id="S1", title="Mug", category="home", globally_sellable="true"),
        dict(
            product_id="P2", shop_id="S1", title="Cup", category="home", globally_sellable="FALSE"
        ),
        dict(product_id="P3", shop_id="S2", title="Tea", category="food", globally_sellable="True"),
    ],
    "skus": [
        dict(sku_id="K1", product_id="P1", unit_price="10.00"),
        dict(sku_id="K2", product_id="P2", unit_price="5.5"),
        dict(sku_id="K3", product_id="P3", unit_price="20"),
    ],
    "live_sessions": [
        dict(
            live_id="LV1",
            account_id="A1",
            region="US",
            title="Morning LIVE",
            started_at="2026-03-01T10:00:00Z",
            ended_at="2026-03-01T12:00:00Z",
        ),
        dict(
            live_id="LV2",
            account_id="A3",
            region="US",
            title="Evening LIVE",
            started_at="2026-03-02T20:00:00-08:00",
            ended_at=None,
        ),
    ],
    "live_products": [
        dict(live_id="LV1", product_id="P1"),
        dict(live_id="LV1", product_id="P2"),
        dict(live_id="LV2", product_id="P1"),
    ],
    "videos": [
        dict(
            video_id="V1",
            account_id="A3",
            published_at="2026-03-01T08:00:00+00:00",
            is_shoppable="true",
        ),
    ],
    "video_products": [dict(video_id="V1", product_id="P3")],
    "orders": [
        # O1: created unpaid, then paid (two versions)
        dict(
            order_id="O1",
            shop_id="S1",
            buyer_id="B1",
            buyer_country="US",
            created_at="2026-03-01T10:40:00Z",
            paid_at=None,
            shipping_fee="3.00",
            cancelled_at=None,
            updated_at="2026-03-01T10:40:00Z",
        ),
        dict(
            order_id="O1",
            shop_id="S1",
            buyer_id="B1",
            buyer_country="US",
            created_at="2026-03-01T10:40:00Z",
            paid_at="2026-03-01T10:41:00Z",
            shipping_fee="3.00",
            cancelled_at=None,
            updated_at="2026-03-01T10:41:00Z",
        ),
        dict(
            order_id="O2",
            shop_id="S1",
            buyer_id="B2",
            buyer_country="CA",
            created_at="2026-03-01T11:00:00Z",
            paid_at=None,
            shipping_fee="0",
            cancelled_at="2026-03-01T13:00:00Z",
            updated_at="2026-03-01T13:00:00Z",
        ),
        dict(
            order_id="O3",
            shop_id="S2",
            buyer_id="B3",
            buyer_country="GB",
            created_at="2026-03-01T09:00:00Z",
            paid_at="2026-03-01T09:05:30.250Z",
            shipping_fee="1.99",
            cancelled_at=None,
            updated_at="2026-03-01T09:05:30.250Z",
        ),
    ],
    "order_lines": [
        dict(
            line_id="OL1",
            order_id="O1",
            sku_id="K1",
            product_id="P1",
            quantity="2",
            unit_price="10.00",
            seller_discount="1.00",
            platform_discount="0.50",
            source_type="cart",
            source_id="C1",
            commission_rate="0.1000",
        ),
        dict(
            line_id="OL2",
            order_id="O1",
            sku_id="K2",
            product_id="P2",
            quantity="1",
            unit_price="5.50",
            seller_discount="0",
            platform_discount="0",
            source_type="live",
            source_id="LV1",
            commission_rate=None,
        ),
        dict(
            line_id="OL3",
            order_id="O2",
            sku_id="K1",
            product_id="P1",
            quantity="1",
            unit_price="10.00",
            seller_discount="0.00",
            platform_discount="0.00",
            source_type="mall",
            source_id=None,
            commission_rate=None,
        ),
        dict(
            line_id="OL4",
            order_id="O3",
            sku_id="K3",
            product_id="P3",
            quantity="3",
            unit_price="20.00",
            seller_discount="0.00",
            platform_discount="2.00",
            source_type="video",
            source_id="V1",
            commission_rate="0.05",
        ),
        dict(
            line_id="OL5",
            order_id="O3",
            sku_id="K3",
            product_id="P3",
            quantity="1",
            unit_price="20.00",
            seller_discount="0.00",
            platform_discount="0.00",
            source_type="showcase",
            source_id="A3",
            commission_rate="0.05",
        ),
    ],
    "cart_adds": [
        dict(
            cart_add_id="C1",
            buyer_id="B1",
            sku_id="K1",
            product_id="P1",
            added_at="2026-03-01T10:30:00Z",
            source_type="live",
            source_id="LV1",
        ),
        dict(
            cart_add_id="C2",
            buyer_id="B2",
            sku_id="K2",
            product_id="P2",
            added_at="2026-03-01T07:00:00Z",
            source_type="search",
            source_id=None,
        ),
    ],
    "refunds": [
        dict(
            refund_id="R1",
            line_id="OL1",
            requested_at="2026-03-02T00:00:00Z",
            status="pending",
            succeeded_at=None,
            amount="5.00",
            updated_at="2026-03-02T00:00:00Z",
        ),
        dict(
            refund_id="R1",
            line_id="OL1",
            requested_at="2026-03-02T00:00:00Z",
            status="succeeded",
            succeeded_at="2026-03-03T00:00:00Z",
            amount="5.00",
            updated_at="2026-03-03T00:00:00Z",
        ),
        dict(
            refund_id="R2",
            line_id="OL4",
            requested_at="2026-03-02T00:00:00Z",
            status="rejected",
            succeeded_at=None,
            amount="10.00",
            updated_at="2026-03-02T01:00:00Z",
        ),
    ],
    "commission_settlements": [
        dict(
            settlement_id="CS1",
            line_id="OL4",
            account_id="A3",
            settled_at="2026-03-05T00:00:00Z",
            amount="2.90",
        ),
    ],
    "live_room_events": [
        dict(
            event_id="E1",
            live_id="LV1",
            viewer_id="U1",
            event_type="enter",
            occurred_at="2026-03-01T10:05:00Z",
            viewer_country="US",
        ),
        dict(
            event_id="E2",
            live_id="LV1",
            viewer_id="U1",
            event_type="leave",
            occurred_at="2026-03-01T10:20:00Z",
            viewer_country="US",
        ),
        dict(
            event_id="E3",
            live_id="LV1",
            viewer_id="U1",
            event_type="enter",
            occurred_at="2026-03-01T10:25:00Z",
            viewer_country="US",
        ),
        dict(
            event_id="E4",
            live_id="LV2",
            viewer_id="U2",
            event_type="enter",
            occurred_at="2026-03-03T05:00:00Z",
            viewer_country="GB",
        ),
    ],
    "product_impressions": [
        dict(
            impression_id="I1",
            live_id="LV1",
            viewer_id="U1",
            product_id="P1",
            surface="product_card",
            occurred_at="2026-03-01T10:06:00Z",
        ),
        dict(
            impression_id="I2",
            live_id="LV1",
            viewer_id="U1",
            product_id="P2",
            surface="pinned",
            occurred_at="2026-03-01T10:07:00Z",
        ),
    ],
}


def good_rows() -> Rows:
    """A fresh copy of the valid raw rows, safe to mutate."""
    return copy.deepcopy(_GOOD)


def write_raw_dir(
    path: Path,
    rows: Mapping[str, Sequence[Mapping[str, str | None]]] | None = None,
    *,
    fmt: str = "csv",
    folders: Sequence[str] = (),
    parts: int = 2,
) -> Path:
    """Write a raw directory; tables in `folders` are split over `parts` files in a folder."""
    rows = good_rows() if rows is None else rows
    path.mkdir(parents=True, exist_ok=True)
    for table in RAW_TABLES:
        if table not in rows:
            continue
        table_rows = list(rows[table])
        if table in folders:
            folder = path / table
            folder.mkdir(exist_ok=True)
            for i in range(parts):
                write_table_file(folder / f"part-{i}.{fmt}", table, table_rows[i::parts], fmt=fmt)
        else:
            write_table_file(path / f"{table}.{fmt}", table, table_rows, fmt=fmt)
    return path


def write_table_file(
    path: Path, table: str, rows: Sequence[Mapping[str, str | None]], *, fmt: str = "csv"
) -> None:
    columns = _columns(table, rows)
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    elif fmt == "parquet":
        pq.write_table(typed_table(table, rows, columns), path)
    else:
        raise ValueError(fmt)


def typed_table(
    table: str, rows: Sequence[Mapping[str, str | None]], columns: Sequence[str] | None = None
) -> pa.Table:
    """The rows with the contract's Arrow types (extra columns stay text)."""
    columns = list(columns or _columns(table, rows))
    schema = raw_arrow_schema(table)
    kinds = raw_table_info(table).kinds
    arrays = []
    for column in columns:
        values = [row.get(column) for row in rows]
        if column not in kinds:
            arrays.append(pa.array(values, pa.string()))
            continue
        arrow_type = schema.field(column).type
        kind = kinds[column]
        if kind in ("money", "rate"):
            arrays.append(pa.array([None if v is None else Decimal(v) for v in values], arrow_type))
        elif kind == "boolean":
            arrays.append(pa.array([None if v is None else v.lower() == "true" for v in values]))
        else:
            arrays.append(pa.array(values, pa.string()).cast(arrow_type))
    return pa.table(arrays, names=columns)


def _columns(table: str, rows: Sequence[Mapping[str, str | None]]) -> list[str]:
    columns = list(raw_table_info(table).columns)
    for row in rows:
        columns += [c for c in row if c not in columns]
    return [c for c in columns if any(c in row for row in rows)] if rows else columns
