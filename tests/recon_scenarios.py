"""Runners for the reconciliations over hand-built raw tables (``daily_scenarios.Raw``), and a
small data directory built through the pipeline's library functions (no Dagster) for the
report tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from daily_scenarios import Raw, facts_connection, ts

from compass_pipeline import catalog, pipeline
from compass_pipeline.config import Settings
from compass_pipeline.live import dashboard_instants, list_partition_key, live_list_instants
from compass_pipeline.reconcile import (
    DAILY_ASSET,
    LIVE_ASSET,
    RECON_SPECS,
    compute_reconciliation_daily,
    compute_reconciliation_live,
)
from compass_pipeline.storage import CatalogEntry, DataDir, connect
from schemas.reconciliation import validate_reconciliation

__all__ = ["Raw", "ts"]

LIVE_KEY = ("snapshot_at", "live_id", "shop_id", "check_id", "bucket_start")


def _instant(value: str | datetime) -> datetime:
    return ts(value) if isinstance(value, str) else value


def daily_rows(
    raw: Raw | dict[str, pa.Table],
    *stat_dates: date,
    as_of: str | datetime,
    settings: Settings | None = None,
) -> list[dict]:
    """``reconciliation_daily`` rows of a scenario, validated partition by partition."""
    settings = settings or Settings()
    tables = raw.tables() if isinstance(raw, Raw) else raw
    con, _ = facts_connection(tables, settings)
    try:
        table = compute_reconciliation_daily(
            con, DAILY_ASSET, list(stat_dates), settings, as_of=_instant(as_of)
        )
    finally:
        con.close()
    for day in stat_dates:
        validate_reconciliation(DAILY_ASSET, _part(table, "stat_date", day, pa.date32()), day)
    return table.to_pylist()


def live_rows(
    raw: Raw | dict[str, pa.Table], *instants: str | datetime, settings: Settings | None = None
) -> list[dict]:
    """``reconciliation_live`` rows of a scenario at LIVE-list refreshes, validated."""
    settings = settings or Settings()
    tables = raw.tables() if isinstance(raw, Raw) else raw
    refreshes = [_instant(value) for value in instants]
    con, _ = facts_connection(tables, settings)
    try:
        table = compute_reconciliation_live(con, LIVE_ASSET, refreshes, settings)
    finally:
        con.close()
    for instant in refreshes:
        part = _part(table, "snapshot_at", instant, pa.timestamp("us", tz="UTC"))
        validate_reconciliation(LIVE_ASSET, part, instant)
    return table.to_pylist()


def _part(table: pa.Table, column: str, value, arrow_type) -> pa.Table:
    return table.filter(pc.equal(table[column], pa.scalar(value, arrow_type)))


def pick(rows: list[dict], check: str, **match) -> dict:
    """The single row of a check (its id prefix, e.g. ``R01``) matching ``match``."""
    found = [
        row
        for row in rows
        if row["check_id"].startswith(check + "_") and all(row[k] == v for k, v in match.items())
    ]
    assert len(found) == 1, f"expected one {check} row matching {match}, got {found}"
    return found[0]


def parts(row: dict) -> dict[str, Decimal]:
    """A row's components by name."""
    return {component["name"]: component["value"] for component in row["components"]}


def assert_balanced(row: dict, a: str, b: str, **components: str) -> None:
    """A, B, every component (exactly these, in this order) and residual 0, to the cent."""
    assert row["a_value"] == Decimal(a), ("a_value", row)
    assert row["b_value"] == Decimal(b), ("b_value", row)
    assert row["difference"] == Decimal(a) - Decimal(b), row
    assert list(parts(row)) == list(components), row["components"]
    for name, value in components.items():
        assert parts(row)[name] == Decimal(value), (name, row["components"])
    assert row["residual"] == Decimal("0.00"), row


# LIVE scenarios ----------------------------------------------------------------------
def live_world() -> Raw:
    """S1 (US, New York), host H1 a channel account bound to it, affiliate A5, P1 19.99."""
    raw = Raw()
    raw.shop("S1", timezone="America/New_York", region="US")
    raw.account("H1", "channel")
    raw.account("A5", "affiliate")
    raw.binding("S1", "H1", "2026-02-01T00:00Z")
    raw.product("P1", "S1", unit_price="19.99", globally_sellable=True)
    return raw


def live_line(live_id: str, product_id: str = "P1", price: str = "19.99", **extra) -> dict:
    return {
        "product_id": product_id,
        "unit_price": price,
        "source_type": "live",
        "source_id": live_id,
        **extra,
    }


def cart_line(cart_id: str, product_id: str = "P1", price: str = "19.99", **extra) -> dict:
    return {
        "product_id": product_id,
        "unit_price": price,
        "source_type": "cart",
        "source_id": cart_id,
        **extra,
    }


def l1_world() -> Raw:
    """L1 sells in its room (one GB buyer), and carts added in it are paid 18 days later, on
    its last day between the two modules' final refreshes, and after the window. During L1
    the shop also sells through the mall, a video and a cart added in the earlier L0."""
    raw = live_world()
    raw.product("P2", "S1", unit_price="10.00")
    raw.product("P3", "S1", unit_price="15.00")
    raw.product("P4", "S1", unit_price="8.00")
    raw.live("L0", "H1", "2026-03-01T10:00Z", "2026-03-01T11:00Z", products=["P3"])
    raw.live("L1", "H1", "2026-03-02T01:00Z", "2026-03-02T02:00Z", products=["P1"])
    raw.order("O1", "2026-03-02T01:30Z", [live_line("L1")], shipping_fee="3.00")  # 22.99
    raw.order("O2", "2026-03-02T01:40Z", [live_line("L1")], buyer_id="B2", buyer_country="GB")
    raw.cart_add("C1", "P1", "2026-03-02T01:45Z", "live", "L1", buyer_id="B3")
    raw.order("O3", "2026-04-01T10:00Z", [cart_line("C1", seller_discount="2.00")], buyer_id="B3")
    raw.cart_add("C2", "P1", "2026-03-02T01:50Z", "live", "L1", buyer_id="B4")
    raw.order("O4", "2026-04-01T22:00Z", [cart_line("C2")], buyer_id="B4")  # window closed
    raw.cart_add("C3", "P1", "2026-03-02T01:55Z", "live", "L1", buyer_id="B5")
    raw.order("O5", "2026-03-20T15:00Z", [cart_line("C3")], buyer_id="B5")
    # other channels paid while L1 is on the air
    raw.order("O6", "2026-03-02T01:50Z", [{"product_id": "P2"}], buyer_id="B6")
    raw.cart_add("C0", "P3", "2026-03-01T10:30Z", "live", "L0", buyer_id="B7")
    raw.order("O7", "2026-03-02T01:20Z", [cart_line("C0", "P3", "15.00")], buyer_id="B7")
    raw.video("V1", "A5", "2026-03-01T12:00Z", products=["P4"])
    raw.order(
        "O8",
        "2026-03-02T01:35Z",
        [{"product_id": "P4", "unit_price": "8.00", "source_type": "video", "source_id": "V1"}],
        buyer_id="B8",
    )
    return raw


# A data directory through the library (what `compass run` does through Dagster) -----------
def recon_catalog_entries() -> tuple[CatalogEntry, ...]:
    """Every catalog entry, the reconciliations included (once, whoever registers them)."""
    entries = {entry.name: entry for entry in catalog.catalog_entries()}
    for spec in RECON_SPECS:
        entries.setdefault(spec.name, CatalogEntry(name=spec.name, schema=spec.arrow_schema()))
    return tuple(entries.values())


def build_data_dir(
    raw_dir: Path,
    data_dir: Path,
    start: date,
    end: date,
    *,
    list_until: date | None = None,
    settings: Settings | None = None,
) -> DataDir:
    """Ingest, build the facts and materialize every asset: daily marts and reconciliations
    for ``[start, end]``, LIVE-list and dashboard refreshes (and reconciliation_live) from
    ``start`` to ``list_until`` (default ``end``), so LIVEs can reach their window close."""
    settings = settings or Settings()
    pipeline.ingest(raw_dir, data_dir)
    pipeline.build_facts(data_dir, settings)
    store = DataDir(data_dir)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    last = list_until or end
    refreshes = live_list_instants(
        settings,
        datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        datetime.combine(last, datetime.max.time(), tzinfo=UTC),
    )
    dashboards = dashboard_instants(start, last)
    keys = {
        "stat_date": [day.isoformat() for day in days],
        "live_list": [list_partition_key(instant) for instant in refreshes],
        "dashboard": [instant.strftime("%Y-%m-%d") for instant in dashboards],
    }
    for spec in catalog.all_specs():
        if spec.group in ("daily", "live_list", "live_dashboard"):
            results = pipeline.materialize_partitions(
                data_dir, spec.name, keys[spec.partitions], settings
            )
            failed = [result for result in results if not result.passed]
            assert not failed, failed[0].message
    con = catalog.attach(store, connect())
    watermark = store.raw_watermark()
    daily = compute_reconciliation_daily(con, DAILY_ASSET, days, settings, as_of=watermark)
    live = compute_reconciliation_live(con, LIVE_ASSET, refreshes, settings)
    con.close()
    # validated whole (the per-partition rule is the partition filter below)
    validate_reconciliation(DAILY_ASSET, daily, None)
    validate_reconciliation(LIVE_ASSET, live, None)
    for day, key in zip(days, keys["stat_date"], strict=True):
        part = _part(daily, "stat_date", day, pa.date32())
        store.write_partition(DAILY_ASSET, key, part, data_watermark=watermark)
    for instant, key in zip(refreshes, keys["live_list"], strict=True):
        part = _part(live, "snapshot_at", instant, pa.timestamp("us", tz="UTC"))
        store.write_partition(LIVE_ASSET, key, part, data_watermark=watermark)
    store.refresh_catalog(recon_catalog_entries())
    return store
