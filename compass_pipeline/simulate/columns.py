"""Arrow building blocks of the simulator: the raw schemas, exact money, UTC instants, ids.

Everything here turns whole numpy arrays into Arrow arrays without a Python loop over
rows, which is what lets a day of a million order lines be written in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SEC = 1_000_000
MINUTE = 60 * SEC
HOUR = 60 * MINUTE
DAY = 24 * HOUR

STRING = pa.string()
INSTANT = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(6, 4)

_S, _T, _M = STRING, INSTANT, MONEY

# Column order of raw-contract.md; the second element of a triple marks a nullable column.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(c[0], c[1], nullable=len(c) > 2) for c in cols])
    for name, cols in {
        "shops": [
            ("shop_id", _S),
            ("shop_name", _S),
            ("region", _S),
            ("currency", _S),
            ("timezone", _S),
        ],
        "accounts": [("account_id", _S), ("handle", _S), ("account_type", _S), ("region", _S)],
        "account_bindings": [
            ("shop_id", _S),
            ("account_id", _S),
            ("binding_type", _S),
            ("bound_at", _T),
            ("unbound_at", _T, True),
            ("updated_at", _T),
        ],
        "products": [
            ("product_id", _S),
            ("shop_id", _S),
            ("title", _S),
            ("category", _S),
            ("globally_sellable", pa.bool_()),
        ],
        "skus": [("sku_id", _S), ("product_id", _S), ("unit_price", _M)],
        "live_sessions": [
            ("live_id", _S),
            ("account_id", _S),
            ("region", _S),
            ("title", _S),
            ("started_at", _T),
            ("ended_at", _T, True),
        ],
        "live_products": [("live_id", _S), ("product_id", _S)],
        "videos": [
            ("video_id", _S),
            ("account_id", _S),
            ("published_at", _T),
            ("is_shoppable", pa.bool_()),
        ],
        "video_products": [("video_id", _S), ("product_id", _S)],
        "orders": [
            ("order_id", _S),
            ("shop_id", _S),
            ("buyer_id", _S),
            ("buyer_country", _S),
            ("created_at", _T),
            ("paid_at", _T, True),
            ("shipping_fee", _M),
            ("cancelled_at", _T, True),
            ("updated_at", _T),
        ],
        "order_lines": [
            ("line_id", _S),
            ("order_id", _S),
            ("sku_id", _S),
            ("product_id", _S),
            ("quantity", pa.int64()),
            ("unit_price", _M),
            ("seller_discount", _M),
            ("platform_discount", _M),
            ("source_type", _S),
            ("source_id", _S, True),
            ("commission_rate", RATE, True),
        ],
        "cart_adds": [
            ("cart_add_id", _S),
            ("buyer_id", _S),
            ("sku_id", _S),
            ("product_id", _S),
            ("added_at", _T),
            ("source_type", _S),
            ("source_id", _S, True),
        ],
        "refunds": [
            ("refund_id", _S),
            ("line_id", _S),
            ("requested_at", _T),
            ("status", _S),
            ("succeeded_at", _T, True),
            ("amount", _M),
            ("updated_at", _T),
        ],
        "commission_settlements": [
            ("settlement_id", _S),
            ("line_id", _S),
            ("account_id", _S),
            ("settled_at", _T),
            ("amount", _M),
        ],
        "live_room_events": [
            ("event_id", _S),
            ("live_id", _S),
            ("viewer_id", _S),
            ("event_type", _S),
            ("occurred_at", _T),
            ("viewer_country", _S),
        ],
        "product_impressions": [
            ("impression_id", _S),
            ("live_id", _S),
            ("viewer_id", _S),
            ("product_id", _S),
            ("surface", _S),
            ("occurred_at", _T),
        ],
    }.items()
}

# One file each, written once: the shops, the accounts and the catalog are fixed for a seed
# and scale, so nothing new ever arrives for them.
STATIC_TABLES = ("shops", "accounts", "products", "skus")
# Folders of one file per simulated day (`orders/part-2026-03-01.parquet`): that day's drop,
# what an exporter delivers at its end (an empty file with the full schema when nothing
# new happened), so a run can grow by appending days.
DAILY_TABLES = (
    "account_bindings",
    "live_sessions",
    "live_products",
    "videos",
    "video_products",
    "orders",
    "order_lines",
    "cart_adds",
    "refunds",
    "commission_settlements",
    "live_room_events",
    "product_impressions",
)

# Columns with few distinct values; dictionary-encoding unique ids only costs time.
_DICTIONARY_COLUMNS = {
    "shop_id",
    "region",
    "currency",
    "timezone",
    "account_type",
    "binding_type",
    "category",
    "buyer_country",
    "viewer_country",
    "source_type",
    "status",
    "event_type",
    "surface",
    "live_id",
    "product_id",
}


def _validity(valid: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    if valid is None:
        return None, 0
    valid = np.asarray(valid, dtype=bool)
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int(len(valid) - valid.sum())


def decimals(units: np.ndarray, type_: pa.DataType = MONEY, valid=None) -> pa.Array:
    """Integer cents (or basis points) as a DECIMAL array, exactly.

    A decimal128 value *is* its unscaled integer, so the cents are written as the low
    64-bit word and their sign as the high word: no float and no rescaling on the way.
    """
    units = np.asarray(units, dtype=np.int64)
    words = np.zeros(2 * len(units), dtype=np.int64)
    words[0::2] = units
    if len(units) and units.min() < 0:
        words[1::2] = units >> 63
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(type_, len(units), [bitmap, pa.py_buffer(words)], nulls)


def instants(micros: np.ndarray, valid=None) -> pa.Array:
    """Microseconds since the epoch as UTC timestamps (null where `valid` is false)."""
    micros = np.ascontiguousarray(micros, dtype=np.int64)
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(INSTANT, len(micros), [bitmap, pa.py_buffer(micros)], nulls)


_DIGIT_PAIRS = np.array(
    [ord(f"{i:02d}"[0]) | ord(f"{i:02d}"[1]) << 8 for i in range(100)], np.uint16
)


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """`prefix` + zero-padded `numbers`, built as one byte buffer, two digits at a time.

    Fixed width makes string order equal numeric order (line ids break shipping ties).
    """
    head = prefix.encode()
    size = len(head) + width
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    if n and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"ids {prefix!r}: numbers do not fit in {width} digits")
    rest = numbers.astype(np.uint32 if not n or numbers.max() < 2**32 else np.uint64)
    pairs = np.empty(((width + 1) // 2, n), dtype=np.uint16)
    for j in range(len(pairs) - 1, -1, -1):  # one pass per digit pair, not per row
        quotient = rest // 100
        pairs[j] = _DIGIT_PAIRS[rest - quotient * 100]
        rest = quotient
    digits = np.ascontiguousarray(pairs.T).view(np.uint8)
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    buf[:, len(head) :] = digits[:, digits.shape[1] - width :]
    offsets = np.arange(n + 1, dtype=np.int32) * size
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def pick(values: pa.Array, index: np.ndarray, valid=None) -> pa.Array:
    """`values[index]`, null where `valid` is false."""
    index = np.asarray(index, dtype=np.int64)
    if valid is None:
        return values.take(pa.array(index))
    valid = np.asarray(valid, dtype=bool)
    return values.take(pa.array(np.where(valid, index, 0), mask=~valid))


def vocabulary(words) -> pa.StringArray:
    return pa.array(list(words), STRING)


def table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def _csv_instants(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """ISO-8601 with `Z`; the fraction only when the instant is not a whole second."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    full = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
    micros = pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy()
    whole = pa.array(micros % SEC == 0)
    text = pc.if_else(whole, pc.utf8_slice_codeunits(full, 0, 19), full)
    return pc.binary_join_element_wise(text, pa.scalar("Z"), "")


def write(table_: pa.Table, path: Path, fmt: str) -> None:
    """One raw file, written under a temporary name and moved into place, so a reader of the
    landing zone never sees half a file. In CSV, instants are spelled ISO-8601 with `Z`;
    Arrow already writes decimals with all their places (`12.30`), booleans as
    `true`/`false`, nulls as empty. No value the simulator writes needs quotes, and Arrow
    refuses one that would."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    # one chunk per column: the bytes then never depend on how the rows were assembled
    table_ = table_.combine_chunks()
    if fmt == "parquet":
        dictionary = [f.name for f in table_.schema if f.name in _DICTIONARY_COLUMNS]
        # min/max of unique id strings help no reader and cost a third of the write
        statistics = [f.name for f in table_.schema if not pa.types.is_string(f.type)]
        pq.write_table(
            table_,
            partial,
            compression="snappy",
            use_dictionary=dictionary,
            write_statistics=statistics,
        )
    else:
        columns = [
            _csv_instants(col) if pa.types.is_timestamp(field.type) else col
            for field, col in zip(table_.schema, table_.columns, strict=True)
        ]
        text = pa.Table.from_arrays(columns, names=table_.column_names)
        with open(partial, "wb") as out:  # Arrow quotes header names whatever the style
            out.write((",".join(table_.column_names) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            pacsv.write_csv(text, out, write_options=options)
    os.replace(partial, path)
