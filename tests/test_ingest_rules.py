"""One bad input per raw-contract rule: fail closed, say where, store nothing.

Each case breaks one rule in the valid fixture raw directory. The ingestion must raise
`RawDataError` whose message names the table, the file, the row (1-based data row of the
file), the key, the column and the rule; and a snapshot stored before from good data must
stay byte-identical (raw-contract.md, "Bad input": "nothing already stored is changed").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from raw_fixture import Rows, good_rows, typed_table, write_raw_dir, write_table_file

from compass_pipeline.ingest import RawDataError, ingest_to_data_dir


def _set(rows: Rows, table: str, index: int, **values: str | None) -> None:
    rows[table][index].update(values)


def _new_order(rows: Rows, order: dict, line: dict) -> None:
    """Append an order O9 of shop S1 and its line OL9 (row 6 of order_lines.csv)."""
    base_order = dict(
        order_id="O9", shop_id="S1", buyer_id="B9", buyer_country="US",
        created_at="2026-03-01T09:00:00Z", paid_at="2026-03-01T09:30:00Z",
        shipping_fee="0.00", cancelled_at=None, updated_at="2026-03-01T09:30:00Z",
    )  # fmt: skip
    base_line = dict(
        line_id="OL9", order_id="O9", sku_id="K2", product_id="P2", quantity="1",
        unit_price="5.50", seller_discount="0.00", platform_discount="0.00",
        source_type="mall", source_id=None, commission_rate=None,
    )  # fmt: skip
    rows["orders"].append({**base_order, **order})
    rows["order_lines"].append({**base_line, **line})


@dataclass(frozen=True)
class Case:
    """A broken raw directory and where the error must point."""

    rule: str
    table: str
    file: str
    row: int | None
    key: str | None
    column: str | None
    mutate: Callable[[Rows], None] | None = None
    write: Callable[[Path], None] | None = None  # for breakage not expressible as rows
    fmt: str = "csv"


def _write_with(rows_mutation: Callable[[Rows], None], fmt: str = "csv"):
    def write(path: Path) -> None:
        rows = good_rows()
        rows_mutation(rows)
        write_raw_dir(path, rows, fmt=fmt)

    return write


def _parquet_column(table: str, column: str, array: pa.Array):
    """Write the good directory as Parquet, then replace one column of one table."""

    def write(path: Path) -> None:
        write_raw_dir(path, fmt="parquet")
        data = pq.read_table(path / f"{table}.parquet")
        index = data.column_names.index(column)
        pq.write_table(data.set_column(index, column, array), path / f"{table}.parquet")

    return write


def _missing_table(path: Path) -> None:
    write_raw_dir(path)
    (path / "videos.csv").unlink()


def _ambiguous_table(path: Path) -> None:
    write_raw_dir(path)
    write_table_file(path / "shops.parquet", "shops", good_rows()["shops"], fmt="parquet")


def _mixed_formats(path: Path) -> None:
    rows = good_rows()
    write_raw_dir(path, rows, folders=("orders",))
    (path / "orders" / "part-1.csv").unlink()
    write_table_file(path / "orders" / "part-1.parquet", "orders", rows["orders"][1::2],
                     fmt="parquet")  # fmt: skip


def _unreadable(path: Path) -> None:
    write_raw_dir(path)
    with open(path / "accounts.csv", "a") as handle:
        handle.write("A9,@nine,official,US,extra,fields\n")


def _duplicate_column(path: Path) -> None:
    write_raw_dir(path)
    text = (path / "skus.csv").read_text().splitlines()
    text[0] += ",unit_price"
    text[1:] = [line + ",1.00" for line in text[1:]]
    (path / "skus.csv").write_text("\n".join(text) + "\n")


def _drop_column(table: str, column: str):
    def mutate(rows: Rows) -> None:
        for row in rows[table]:
            row.pop(column)

    return mutate


def _naive_timestamps(path: Path) -> None:
    write_raw_dir(path, fmt="parquet")
    data = pq.read_table(path / "orders.parquet")
    index = data.column_names.index("created_at")
    naive = data.column("created_at").cast(pa.timestamp("us"))
    pq.write_table(data.set_column(index, "created_at", naive), path / "orders.parquet")


def _decimal_three_places(path: Path) -> None:
    rows = good_rows()
    write_raw_dir(path, rows, fmt="parquet")
    data = typed_table("order_lines", rows["order_lines"])
    values = [Decimal(r["unit_price"]) for r in rows["order_lines"]]
    values[0] = Decimal("10.005")
    index = data.column_names.index("unit_price")
    data = data.set_column(index, "unit_price", pa.array(values, pa.decimal128(18, 3)))
    pq.write_table(data, path / "order_lines.parquet")


def _nanoseconds(path: Path) -> None:
    write_raw_dir(path, fmt="parquet")
    data = pq.read_table(path / "videos.parquet")
    ns = pa.array([1_772_352_000_000_000_001], pa.timestamp("ns", "UTC"))
    pq.write_table(data.set_column(2, "published_at", ns), path / "videos.parquet")


CASES = [
    # files and columns
    Case("missing_table", "videos", "videos", None, None, None, write=_missing_table),
    Case("ambiguous_table", "shops", "shops.csv", None, None, None, write=_ambiguous_table),
    Case("mixed_formats", "orders", "orders/", None, None, None, write=_mixed_formats),
    Case("unreadable_file", "accounts", "accounts.csv", None, None, None, write=_unreadable),
    Case(
        "duplicate_column", "skus", "skus.csv", None, None, "unit_price", write=_duplicate_column
    ),  # fmt: skip
    Case(
        "missing_column",
        "order_lines",
        "order_lines.csv",
        None,
        None,
        "quantity",
        _drop_column("order_lines", "quantity"),
    ),  # fmt: skip
    # Parquet column types
    Case(
        "money_float",
        "skus",
        "skus.parquet",
        None,
        None,
        "unit_price",
        write=_parquet_column("skus", "unit_price", pa.array([10.0, 5.5, 20.0])),
    ),  # fmt: skip
    Case(
        "column_type",
        "shops",
        "shops.parquet",
        None,
        None,
        "shop_id",
        write=_parquet_column("shops", "shop_id", pa.array([1, 2])),
    ),  # fmt: skip
    Case(
        "timestamp_offset",
        "orders",
        "orders.parquet",
        None,
        None,
        "created_at",
        write=_naive_timestamps,
    ),  # fmt: skip
    Case(
        "decimal_scale",
        "order_lines",
        "order_lines.parquet",
        1,
        "line_id=OL1",
        "unit_price",
        write=_decimal_three_places,
    ),  # fmt: skip
    Case(
        "timestamp_format",
        "videos",
        "videos.parquet",
        1,
        "video_id=V1",
        "published_at",
        write=_nanoseconds,
    ),  # fmt: skip
    # text values
    Case(
        "required",
        "orders",
        "orders.csv",
        3,
        "order_id=O2",
        "shop_id",
        lambda r: _set(r, "orders", 2, shop_id=None),
    ),  # fmt: skip
    Case(
        "timestamp_offset",
        "orders",
        "orders.csv",
        4,
        "order_id=O3",
        "created_at",
        lambda r: _set(r, "orders", 3, created_at="2026-03-01T09:00:00"),
    ),  # fmt: skip
    Case(
        "timestamp_format",
        "live_sessions",
        "live_sessions.csv",
        1,
        "live_id=LV1",
        "started_at",
        lambda r: _set(r, "live_sessions", 0, started_at="1 March 2026"),
    ),
    Case(
        "decimal_scale",
        "order_lines",
        "order_lines.csv",
        1,
        "line_id=OL1",
        "unit_price",
        lambda r: _set(r, "order_lines", 0, unit_price="10.005"),
    ),  # fmt: skip
    Case(
        "decimal_format",
        "skus",
        "skus.csv",
        1,
        "sku_id=K1",
        "unit_price",
        lambda r: _set(r, "skus", 0, unit_price="ten"),
    ),  # fmt: skip
    Case(
        "decimal_overflow",
        "orders",
        "orders.csv",
        3,
        "order_id=O2",
        "shipping_fee",
        lambda r: _set(r, "orders", 2, shipping_fee="12345678901234567.00"),
    ),  # fmt: skip
    Case(
        "integer_format",
        "order_lines",
        "order_lines.csv",
        2,
        "line_id=OL2",
        "quantity",
        lambda r: _set(r, "order_lines", 1, quantity="1.0"),
    ),  # fmt: skip
    Case(
        "boolean_format",
        "products",
        "products.csv",
        1,
        "product_id=P1",
        "globally_sellable",
        lambda r: _set(r, "products", 0, globally_sellable="yes"),
    ),  # fmt: skip
    # values (pandera model)
    Case(
        "enum",
        "accounts",
        "accounts.csv",
        1,
        "account_id=A1",
        "account_type",
        lambda r: _set(r, "accounts", 0, account_type="vip"),
    ),  # fmt: skip
    Case(
        "country_code",
        "orders",
        "orders.csv",
        4,
        "order_id=O3",
        "buyer_country",
        lambda r: _set(r, "orders", 3, buyer_country="gbr"),
    ),  # fmt: skip
    Case(
        "currency_code",
        "shops",
        "shops.csv",
        2,
        "shop_id=S2",
        "currency",
        lambda r: _set(r, "shops", 1, currency="pound"),
    ),  # fmt: skip
    Case(
        "timezone",
        "shops",
        "shops.csv",
        1,
        "shop_id=S1",
        "timezone",
        lambda r: _set(r, "shops", 0, timezone="Mars/Olympus"),
    ),  # fmt: skip
    Case(
        "positive",
        "skus",
        "skus.csv",
        2,
        "sku_id=K2",
        "unit_price",
        lambda r: _set(r, "skus", 1, unit_price="0.00"),
    ),  # fmt: skip
    Case(
        "non_negative",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "seller_discount",
        lambda r: _set(r, "order_lines", 2, seller_discount="-1.00"),
    ),  # fmt: skip
    Case(
        "rate_range",
        "order_lines",
        "order_lines.csv",
        4,
        "line_id=OL4",
        "commission_rate",
        lambda r: _set(r, "order_lines", 3, commission_rate="1.5"),
    ),  # fmt: skip
    Case(
        "merchandise_negative",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "platform_discount",
        lambda r: _set(r, "order_lines", 2, platform_discount="20.00"),
    ),
    Case(
        "paid_before_created",
        "orders",
        "orders.csv",
        4,
        "order_id=O3",
        "paid_at",
        lambda r: _set(r, "orders", 3, paid_at="2026-03-01T08:00:00Z"),
    ),  # fmt: skip
    Case(
        "ended_before_started",
        "live_sessions",
        "live_sessions.csv",
        1,
        "live_id=LV1",
        "ended_at",
        lambda r: _set(r, "live_sessions", 0, ended_at="2026-03-01T09:00:00Z"),
    ),
    Case(
        "succeeded_at_status",
        "refunds",
        "refunds.csv",
        3,
        "refund_id=R2",
        "succeeded_at",
        lambda r: _set(r, "refunds", 2, succeeded_at="2026-03-03T00:00:00Z"),
    ),  # fmt: skip
    Case(
        "succeeded_before_requested",
        "refunds",
        "refunds.csv",
        2,
        "refund_id=R1",
        "succeeded_at",
        lambda r: _set(r, "refunds", 1, succeeded_at="2026-03-01T12:00:00Z"),
    ),
    Case(
        "source_id_presence",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "source_id",
        lambda r: _set(r, "order_lines", 2, source_id="LV1"),
    ),  # fmt: skip
    # versions and duplicates
    Case(
        "conflicting_versions",
        "orders",
        "orders.csv",
        4,
        "order_id=O3",
        "updated_at",
        lambda r: r["orders"].append({**r["orders"][3], "shipping_fee": "2.99"}),
    ),
    Case(
        "duplicate_key",
        "shops",
        "shops.csv",
        1,
        "shop_id=S1",
        "shop_id",
        lambda r: r["shops"].append({**r["shops"][0], "shop_name": "Other"}),
    ),
    # references
    Case(
        "unknown_shop",
        "products",
        "products.csv",
        3,
        "product_id=P3",
        "shop_id",
        lambda r: _set(r, "products", 2, shop_id="S9"),
    ),  # fmt: skip
    Case(
        "unknown_account",
        "live_sessions",
        "live_sessions.csv",
        2,
        "live_id=LV2",
        "account_id",
        lambda r: _set(r, "live_sessions", 1, account_id="A9"),
    ),
    Case(
        "unknown_product",
        "video_products",
        "video_products.csv",
        1,
        "video_id=V1, product_id=P9",
        "product_id",
        lambda r: _set(r, "video_products", 0, product_id="P9"),
    ),  # fmt: skip
    Case(
        "unknown_sku",
        "cart_adds",
        "cart_adds.csv",
        2,
        "cart_add_id=C2",
        "sku_id",
        lambda r: _set(r, "cart_adds", 1, sku_id="K9"),
    ),  # fmt: skip
    Case(
        "unknown_order",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "order_id",
        lambda r: _set(r, "order_lines", 2, order_id="O9"),
    ),  # fmt: skip
    Case(
        "unknown_line",
        "commission_settlements",
        "commission_settlements.csv",
        1,
        "settlement_id=CS1",
        "line_id",
        lambda r: _set(r, "commission_settlements", 0, line_id="OL9"),
    ),  # fmt: skip
    Case(
        "unknown_live",
        "live_room_events",
        "live_room_events.csv",
        4,
        "event_id=E4",
        "live_id",
        lambda r: _set(r, "live_room_events", 3, live_id="LV9"),
    ),
    Case(
        "unknown_video",
        "video_products",
        "video_products.csv",
        1,
        "video_id=V9, product_id=P3",
        "video_id",
        lambda r: _set(r, "video_products", 0, video_id="V9"),
    ),  # fmt: skip
    Case(
        "unknown_source",
        "order_lines",
        "order_lines.csv",
        5,
        "line_id=OL5",
        "source_id",
        lambda r: _set(r, "order_lines", 4, source_id="A9"),
    ),  # fmt: skip
    # a line matches its SKU's product and its order's shop
    Case(
        "product_sku_mismatch",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "product_id",
        lambda r: _set(r, "order_lines", 2, product_id="P2"),
    ),
    Case(
        "product_shop_mismatch",
        "order_lines",
        "order_lines.csv",
        3,
        "line_id=OL3",
        "product_id",
        lambda r: _set(r, "order_lines", 2, sku_id="K3", product_id="P3"),
    ),
    # a cart line and its cart add
    Case(
        "cart_sku_mismatch",
        "order_lines",
        "order_lines.csv",
        1,
        "line_id=OL1",
        "sku_id",
        lambda r: _set(r, "cart_adds", 0, sku_id="K2", product_id="P2"),
    ),  # fmt: skip
    Case(
        "cart_buyer_mismatch",
        "order_lines",
        "order_lines.csv",
        1,
        "line_id=OL1",
        "source_id",
        lambda r: _set(r, "cart_adds", 0, buyer_id="B9"),
    ),
    # time orders
    Case(
        "paid_before_live",
        "order_lines",
        "order_lines.csv",
        6,
        "line_id=OL9",
        "source_id",
        lambda r: _new_order(r, {}, dict(source_type="live", source_id="LV1")),
    ),  # fmt: skip
    Case(
        "paid_before_video",
        "order_lines",
        "order_lines.csv",
        6,
        "line_id=OL9",
        "source_id",
        lambda r: _new_order(
            r,
            dict(shop_id="S2", paid_at="2026-03-01T07:30:00Z", created_at="2026-03-01T07:00:00Z"),
            dict(
                sku_id="K3",
                product_id="P3",
                unit_price="20.00",
                source_type="video",
                source_id="V1",
            ),
        ),
    ),  # fmt: skip
    Case(
        "paid_before_cart_add",
        "order_lines",
        "order_lines.csv",
        6,
        "line_id=OL9",
        "source_id",
        lambda r: _new_order(
            r,
            dict(buyer_id="B2", created_at="2026-03-01T05:00:00Z", paid_at="2026-03-01T06:00:00Z"),
            dict(source_type="cart", source_id="C2"),
        ),
    ),  # fmt: skip
    Case(
        "cart_add_outside_live",
        "cart_adds",
        "cart_adds.csv",
        2,
        "cart_add_id=C2",
        "added_at",
        lambda r: _set(r, "cart_adds", 1, source_type="live", source_id="LV1"),
    ),
    Case(
        "cart_add_before_video",
        "cart_adds",
        "cart_adds.csv",
        2,
        "cart_add_id=C2",
        "added_at",
        lambda r: _set(r, "cart_adds", 1, source_type="video", source_id="V1"),
    ),
    Case(
        "unpaid_order",
        "refunds",
        "refunds.csv",
        4,
        "refund_id=R3",
        "line_id",
        lambda r: r["refunds"].append({**r["refunds"][2], "refund_id": "R3", "line_id": "OL3"}),
    ),
    Case(
        "requested_before_paid",
        "refunds",
        "refunds.csv",
        3,
        "refund_id=R2",
        "requested_at",
        lambda r: _set(r, "refunds", 2, requested_at="2026-03-01T09:00:00Z"),
    ),  # fmt: skip
    Case(
        "settled_before_paid",
        "commission_settlements",
        "commission_settlements.csv",
        1,
        "settlement_id=CS1",
        "settled_at",
        lambda r: _set(r, "commission_settlements", 0, settled_at="2026-03-01T09:05:00Z"),
    ),
    Case(
        "outside_live",
        "product_impressions",
        "product_impressions.csv",
        1,
        "impression_id=I1",
        "occurred_at",
        lambda r: _set(r, "product_impressions", 0, occurred_at="2026-03-01T12:30:00Z"),
    ),
    Case(
        "enter_leave_order",
        "live_room_events",
        "live_room_events.csv",
        2,
        "event_id=E2",
        "event_type",
        lambda r: _set(r, "live_room_events", 1, event_type="enter"),
    ),
    Case(
        "refund_exceeds_gmv",
        "refunds",
        "refunds.csv",
        2,
        "refund_id=R1",
        "amount",
        lambda r: [_set(r, "refunds", i, amount="20.84") for i in (0, 1)],
    ),  # fmt: skip
    Case(
        "live_mixed_currency",
        "live_products",
        "live_products.csv",
        1,
        "live_id=LV1, product_id=P1",
        "product_id",
        lambda r: r["live_products"].append(dict(live_id="LV1", product_id="P3")),
    ),
]


def _tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (symlinks by target) and its content hash."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            digest[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            digest[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


@pytest.fixture(scope="module")
def raw_stored_snapshot(tmp_path_factory) -> Path:
    """A data directory holding a snapshot ingested from the good fixture."""
    root = tmp_path_factory.mktemp("stored")
    ingest_to_data_dir(write_raw_dir(root / "raw"), root / "data")
    return root / "data"


def test_fixture_is_valid(tmp_path):
    result = ingest_to_data_dir(write_raw_dir(tmp_path / "raw"), tmp_path / "data")
    assert sum(result.rows_rejected.values()) == 0
    assert result.tables["orders"].num_rows == 3


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{c.fmt}-{c.table}" for c in CASES])
def test_bad_input_fails_closed(case: Case, tmp_path, raw_stored_snapshot):
    raw = tmp_path / "raw"
    if case.write is not None:
        case.write(raw)
    else:
        _write_with(case.mutate, case.fmt)(raw)
    before = _tree_digest(raw_stored_snapshot)

    # A rebuild judges the landing zone alone (an incremental ingestion would also merge
    # the stored rows: tests/test_ingest_incremental.py); a failed one stores nothing.
    with pytest.raises(RawDataError) as caught:
        ingest_to_data_dir(raw, raw_stored_snapshot, rebuild=True)

    message = str(caught.value)
    assert f"rule '{case.rule}'" in message
    assert f"{case.table}:" in message
    assert case.file in message
    if case.row is not None:
        assert f"{case.file} row {case.row}" in message
    if case.key is not None:
        assert case.key in message
    if case.column is not None:
        assert case.column in message
    assert any(v.rule == case.rule and v.table == case.table for v in caught.value.violations)
    assert _tree_digest(raw_stored_snapshot) == before


def test_every_rule_has_a_case():
    """The rule ids the ingestion can raise, each covered by a case above."""
    from compass_pipeline.ingest.parse import TEXT_RULES
    from compass_pipeline.ingest.rules import CONTEXTS, ENTER_LEAVE_RULE, SET_RULES
    from schemas.raw import RAW_MODELS

    rules = {rule for rule, _ in TEXT_RULES.values()}
    rules |= {ENTER_LEAVE_RULE, "required", "conflicting_versions", "duplicate_key"}
    rules |= {r.rule for r in SET_RULES}
    for ctx in CONTEXTS:
        rules |= {r.rule for r in ctx.references} | {c.rule for c in ctx.checks}
    for model in RAW_MODELS.values():
        schema = model.to_schema()
        checks = list(schema.checks) + [c for col in schema.columns.values() for c in col.checks]
        rules |= {check.error.partition(":")[0] for check in checks}
    covered = {c.rule for c in CASES}
    assert rules - covered == set()
