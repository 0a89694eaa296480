"""LIVE scenarios: a runner for the LIVE assets over hand-built raw tables, and a generator of
small random raw snapshots that keep every rule of the raw contract (for the differential
test). Raw tables are built with ``daily_scenarios.Raw`` (the raw contract's exact schemas).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
from daily_scenarios import Raw, facts_connection, ts

from compass_pipeline.config import Settings
from compass_pipeline.live import (
    DASHBOARD_ASSETS,
    LIST_ASSETS,
    compute_dashboard,
    compute_live_list,
)

KEYS = {
    "live_list_snapshot": ("snapshot_at", "shop_id", "live_id"),
    "creator_live_snapshot": ("snapshot_at", "live_id"),
    "big_screen_snapshot": ("snapshot_at", "shop_id", "live_id"),
    "big_screen_traffic": ("snapshot_at", "shop_id", "live_id", "viewer_country"),
    "live_online_trend": ("snapshot_at", "live_id", "bucket_start"),
}

__all__ = ["DASHBOARD_ASSETS", "LIST_ASSETS", "Raw", "ts"]


def compute(con, asset: str, instants, settings: Settings) -> pa.Table:
    fn = compute_live_list if asset in LIST_ASSETS else compute_dashboard
    return fn(con, asset, [ts(i) if isinstance(i, str) else i for i in instants], settings)


def sort_rows(asset: str, rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: tuple(str(row[k]) for k in KEYS[asset]))


def run_live(
    raw: Raw | dict[str, pa.Table], asset: str, *instants, settings: Settings | None = None
) -> list[dict]:
    """Rows of a LIVE asset for the given refresh instants (ISO text or datetimes)."""
    settings = settings or Settings()
    tables = raw.tables() if isinstance(raw, Raw) else raw
    con, _ = facts_connection(tables, settings)
    try:
        return sort_rows(asset, compute(con, asset, instants, settings).to_pylist())
    finally:
        con.close()


class LiveRuns:
    """One facts connection, many LIVE computations (a scenario's several assets)."""

    def __init__(self, raw: Raw, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.con, self.facts = facts_connection(raw.tables(), self.settings)

    def rows(self, asset: str, *instants) -> list[dict]:
        return sort_rows(asset, compute(self.con, asset, instants, self.settings).to_pylist())

    def row(self, asset: str, instant: str, **match) -> dict | None:
        """The row of ``asset`` at ``instant`` matching ``match``, or None if absent."""
        found = [
            row for row in self.rows(asset, instant) if all(row[k] == v for k, v in match.items())
        ]
        assert len(found) <= 1, found
        return found[0] if found else None

    def close(self) -> None:
        self.con.close()


def events(
    raw: Raw, live_id: str, *items: tuple[str, str, str], country: str = "US", prefix: str = "E"
) -> None:
    """Room events ``(viewer_id, event_type, occurred_at)``; ids keep the given order."""
    for index, item in enumerate(items):
        viewer, kind, at = item[:3]
        raw.add(
            "live_room_events",
            event_id=f"{prefix}{live_id}-{index:04d}",
            live_id=live_id,
            viewer_id=viewer,
            event_type=kind,
            occurred_at=at,
            viewer_country=item[3] if len(item) > 3 else country,
        )


# Random raw snapshots --------------------------------------------------------------------
START = datetime(2026, 3, 1, tzinfo=UTC)
SHOPS = (
    ("S1", "US", "America/New_York"),
    ("S2", "GB", "Europe/London"),
    ("S3", "US", "Asia/Kolkata"),
)
ACCOUNTS = (
    ("A1", "official", "US"),
    ("A2", "channel", "US"),
    ("A3", "affiliate", "GB"),
    ("A4", "channel", "GB"),
    ("A5", "official", "US"),
)
COUNTRIES = ("US", "GB", "DE")


def _instant(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random instant in [start, end], often on a whole minute or hour (boundary cases)."""
    seconds = int((end - start).total_seconds())
    value = start + timedelta(seconds=rng.randint(0, max(seconds, 0)))
    roll = rng.random()
    if roll < 0.2:
        value = value.replace(second=0)
    elif roll < 0.25:
        value = value.replace(minute=0, second=0)
    return min(max(value, start), end)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def random_raw(seed: int, *, lives: int = 7, orders: int = 45) -> Raw:
    """A small valid raw snapshot over ~40 days: LIVEs crossing midnight and carrying several
    shops' products, one still on the air, bindings starting and ending mid-day, foreign
    buyers, cart adds paid up to 35 days later (some after the window), refunds, and room
    events that alternate enter/leave with ties on whole minutes."""
    rng = random.Random(seed)
    raw = Raw()
    for shop_id, region, timezone in SHOPS:
        raw.shop(shop_id, timezone=timezone, region=region)
    for account_id, kind, region in ACCOUNTS:
        raw.account(account_id, kind, region)
    for shop_id, _, _ in SHOPS:
        for account_id, _, _ in ACCOUNTS:
            if rng.random() < 0.45:
                bound = _instant(rng, START - timedelta(days=2), START + timedelta(days=6))
                unbound = (
                    _instant(rng, bound + timedelta(hours=1), bound + timedelta(days=5))
                    if rng.random() < 0.4
                    else None
                )
                raw.binding(
                    shop_id,
                    account_id,
                    bound,
                    unbound,
                    binding_type=rng.choice(["channel", "official_integrated"]),
                )
    products = []
    for shop_id, _, _ in SHOPS:
        for index in range(3):
            product_id = f"P{shop_id}{index}"
            price = _money(rng, 100, 5000)
            raw.product(
                product_id, shop_id, unit_price=str(price), globally_sellable=rng.random() < 0.7
            )
            products.append((product_id, shop_id, price))
    raw.video("V1", "A3", START, products=[products[0][0]])

    sessions = []
    for index in range(lives):
        live_id = f"L{index}"
        host = rng.choice(ACCOUNTS)[0]
        started = _instant(rng, START, START + timedelta(days=4))
        on_air = index == lives - 1
        ended = (
            None
            if on_air
            else started + timedelta(minutes=rng.randint(8, 150), seconds=rng.randint(0, 59))
        )
        bag = rng.sample([p[0] for p in products], rng.randint(0, 4))
        raw.live(live_id, host, started, ended, region=rng.choice(["US", "GB"]), products=bag)
        sessions.append((live_id, started, ended or started + timedelta(hours=3)))
        _random_events(rng, raw, live_id, started, ended or started + timedelta(hours=3))
        for n in range(rng.randint(0, 8)):
            product_id = rng.choice(bag) if bag and rng.random() < 0.8 else rng.choice(products)[0]
            raw.add(
                "product_impressions",
                impression_id=f"I{live_id}-{n}",
                live_id=live_id,
                viewer_id=f"W{rng.randint(0, 5)}",
                product_id=product_id,
                surface=rng.choice(["product_card", "shopping_bag", "pinned"]),
                occurred_at=_instant(rng, started, ended or started + timedelta(hours=3)),
            )

    carts = []
    for n in range(14):
        product_id, shop_id, _ = rng.choice(products)
        buyer = f"B{rng.randint(0, 6)}"
        kind = rng.choice(["live", "live", "live", "video", "mall", "showcase"])
        if kind == "live":
            live_id, started, ended = rng.choice(sessions[:-1])
            added, source = _instant(rng, started, ended), live_id
        elif kind == "video":
            added, source = _instant(rng, START, START + timedelta(days=4)), "V1"
        elif kind == "showcase":
            added, source = _instant(rng, START, START + timedelta(days=4)), "A3"
        else:
            added, source = _instant(rng, START, START + timedelta(days=4)), None
        cart_id = f"C{n:02d}"
        raw.cart_add(cart_id, product_id, added, kind, source, buyer_id=buyer)
        carts.append((cart_id, product_id, shop_id, buyer, added))

    line_gmv_bound = []
    for n in range(orders):
        order_id = f"O{n:03d}"
        roll = rng.random()
        if roll < 0.45:
            live_id, started, ended = rng.choice(sessions)
            paid = _instant(rng, started, ended)
            shop_id = rng.choice(SHOPS)[0]
            buyer = f"B{rng.randint(0, 6)}"
            first = {"source_type": "live", "source_id": live_id}
        elif roll < 0.8:
            cart_id, product_id, shop_id, buyer, added = rng.choice(carts)
            delay = rng.choice(
                [
                    timedelta(minutes=rng.randint(0, 90)),
                    timedelta(hours=rng.randint(1, 72)),
                    timedelta(days=rng.randint(20, 35), hours=rng.randint(0, 23)),
                ]
            )
            paid = added + delay
            first = {"source_type": "cart", "source_id": cart_id, "product_id": product_id}
        else:
            shop_id = rng.choice(SHOPS)[0]
            buyer = f"B{rng.randint(0, 6)}"
            paid = _instant(rng, START, START + timedelta(days=5))
            first = {"source_type": rng.choice(["mall", "search", "video"])}
            if first["source_type"] == "video":
                first["source_id"] = "V1"
        shop_products = [p for p in products if p[1] == shop_id]
        lines = []
        for index in range(rng.randint(1, 3)):
            line = dict(first) if index == 0 else {"source_type": "mall"}
            product_id = line.pop("product_id", None) or rng.choice(shop_products)[0]
            price = next(p[2] for p in products if p[0] == product_id)
            quantity = rng.randint(1, 3)
            listed = price * quantity
            seller = min(listed, _money(rng, 0, 500)) if rng.random() < 0.4 else Decimal("0")
            platform = (
                min(listed - seller, _money(rng, 0, 300)) if rng.random() < 0.3 else Decimal("0")
            )
            lines.append(
                {
                    **line,
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price": str(price),
                    "seller_discount": str(seller),
                    "platform_discount": str(platform),
                }
            )
        shop_region = next(s[1] for s in SHOPS if s[0] == shop_id)
        country = shop_region if rng.random() < 0.7 else rng.choice(COUNTRIES)
        unpaid = rng.random() < 0.08
        made = raw.order(
            order_id,
            None if unpaid else paid,
            lines,
            shop_id=shop_id,
            buyer_id=buyer,
            buyer_country=country,
            shipping_fee=str(_money(rng, 0, 999)),
            created_at=paid - timedelta(minutes=rng.randint(0, 30)),
            cancelled_at=paid + timedelta(hours=2) if rng.random() < 0.1 else None,
        )
        if not unpaid:
            for line in made:
                merchandise = (
                    line["quantity"] * line["unit_price"]
                    - line["seller_discount"]
                    - line["platform_discount"]
                )
                line_gmv_bound.append((line["line_id"], paid, merchandise))

    for n, (line_id, paid, merchandise) in enumerate(line_gmv_bound):
        if merchandise <= 0 or rng.random() > 0.35:
            continue
        left = merchandise
        for k in range(rng.randint(1, 2)):
            amount = min(left, _money(rng, 1, int(merchandise * 100)))
            if amount <= 0:
                break
            requested = paid + timedelta(hours=rng.randint(0, 24 * 30))
            status = rng.choice(["succeeded", "succeeded", "pending", "rejected", "withdrawn"])
            succeeded = (
                requested + timedelta(hours=rng.randint(0, 72)) if status == "succeeded" else None
            )
            if succeeded is not None and rng.random() < 0.3:
                succeeded = succeeded.replace(minute=0, second=0, microsecond=0)
                succeeded = max(succeeded, requested)
            raw.refund(f"R{n:03d}-{k}", line_id, requested, str(amount), status, succeeded)
            if status == "succeeded":
                left -= amount
    return raw


def _random_events(
    rng: random.Random, raw: Raw, live_id: str, started: datetime, ended: datetime
) -> None:
    """Per viewer: enter, leave, enter, … inside [started, ended]; ids follow the order."""
    counter = 0
    for viewer in range(rng.randint(0, 7)):
        country = rng.choice(COUNTRIES)
        times = sorted(_instant(rng, started, ended) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.3 and len(times) > 1:
            times[1] = times[0]  # enter and leave at the same instant
        for index, at in enumerate(times):
            raw.add(
                "live_room_events",
                event_id=f"E{live_id}-{counter:04d}",
                live_id=live_id,
                viewer_id=f"W{viewer}",
                event_type="enter" if index % 2 == 0 else "leave",
                occurred_at=at,
                viewer_country=country,
            )
            counter += 1
