"""Tiny raw tables by hand, in the raw contract's exact schemas, and a runner for the marts.

``Raw`` collects rows as plain dicts with sensible defaults (one US shop unless told), so a
scenario states only what it is about. ``Raw.tables()`` gives pyarrow tables with the
normalized raw types (VARCHAR ids, UTC timestamps, DECIMAL(18,2) money, DECIMAL(6,4) rates,
BIGINT quantities); ``run_daily`` registers them as ``raw_<table>``, builds the facts and
computes a mart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pyarrow as pa

from compass_pipeline.config import Settings
from compass_pipeline.daily import compute_daily_range
from compass_pipeline.facts import build_facts
from compass_pipeline.storage import connect

S = pa.string()
TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "shops": pa.schema(
        [("shop_id", S), ("shop_name", S), ("region", S), ("currency", S), ("timezone", S)]
    ),
    "accounts": pa.schema([("account_id", S), ("handle", S), ("account_type", S), ("region", S)]),
    "account_bindings": pa.schema(
        [
            ("shop_id", S),
            ("account_id", S),
            ("binding_type", S),
            ("bound_at", TS),
            ("unbound_at", TS),
            ("updated_at", TS),
        ]
    ),
    "products": pa.schema(
        [
            ("product_id", S),
            ("shop_id", S),
            ("title", S),
            ("category", S),
            ("globally_sellable", pa.bool_()),
        ]
    ),
    "skus": pa.schema([("sku_id", S), ("product_id", S), ("unit_price", MONEY)]),
    "live_sessions": pa.schema(
        [
            ("live_id", S),
            ("account_id", S),
            ("region", S),
            ("title", S),
            ("started_at", TS),
            ("ended_at", TS),
        ]
    ),
    "live_products": pa.schema([("live_id", S), ("product_id", S)]),
    "videos": pa.schema(
        [("video_id", S), ("account_id", S), ("published_at", TS), ("is_shoppable", pa.bool_())]
    ),
    "video_products": pa.schema([("video_id", S), ("product_id", S)]),
    "orders": pa.schema(
        [
            ("order_id", S),
            ("shop_id", S),
            ("buyer_id", S),
            ("buyer_country", S),
            ("created_at", TS),
            ("paid_at", TS),
            ("shipping_fee", MONEY),
            ("cancelled_at", TS),
            ("updated_at", TS),
        ]
    ),
    "order_lines": pa.schema(
        [
            ("line_id", S),
            ("order_id", S),
            ("sku_id", S),
            ("product_id", S),
            ("quantity", pa.int64()),
            ("unit_price", MONEY),
            ("seller_discount", MONEY),
            ("platform_discount", MONEY),
            ("source_type", S),
            ("source_id", S),
            ("commission_rate", pa.decimal128(6, 4)),
        ]
    ),
    "cart_adds": pa.schema(
        [
            ("cart_add_id", S),
            ("buyer_id", S),
            ("sku_id", S),
            ("product_id", S),
            ("added_at", TS),
            ("source_type", S),
            ("source_id", S),
        ]
    ),
    "refunds": pa.schema(
        [
            ("refund_id", S),
            ("line_id", S),
            ("requested_at", TS),
            ("status", S),
            ("succeeded_at", TS),
            ("amount", MONEY),
            ("updated_at", TS),
        ]
    ),
    "commission_settlements": pa.schema(
        [
            ("settlement_id", S),
            ("line_id", S),
            ("account_id", S),
            ("settled_at", TS),
            ("amount", MONEY),
        ]
    ),
    "live_room_events": pa.schema(
        [
            ("event_id", S),
            ("live_id", S),
            ("viewer_id", S),
            ("event_type", S),
            ("occurred_at", TS),
            ("viewer_country", S),
        ]
    ),
    "product_impressions": pa.schema(
        [
            ("impression_id", S),
            ("live_id", S),
            ("viewer_id", S),
            ("product_id", S),
            ("surface", S),
            ("occurred_at", TS),
        ]
    ),
}

DAILY_KEYS = {
    "core_data_daily": ("shop_id", "stat_date"),
    "core_data_channel_detail_daily": ("shop_id", "stat_date", "channel", "channel_detail"),
    "order_management_daily": ("shop_id", "stat_date"),
    "product_analysis_daily": ("shop_id", "stat_date", "product_id"),
    "creator_analysis_daily": ("shop_id", "stat_date", "account_id"),
    "video_analysis_daily": ("shop_id", "stat_date"),
}


def ts(text: str) -> datetime:
    """An instant from ISO text with an explicit offset, e.g. ``2026-03-01T23:15Z``."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return value.astimezone(UTC)


def money(value: str | int | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _instant(value):
    return ts(value) if isinstance(value, str) else value


class Raw:
    """Raw rows by hand. Timestamps may be given as ISO text with an offset; money as text."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {name: [] for name in RAW_SCHEMAS}
        self._ids = count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):03d}"

    def add(self, table: str, **row) -> dict:
        schema = RAW_SCHEMAS[table]
        unknown = set(row) - set(schema.names)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
        full = {name: row.get(name) for name in schema.names}
        for field in schema:
            if pa.types.is_timestamp(field.type):
                full[field.name] = _instant(full[field.name])
            elif pa.types.is_decimal(field.type) and full[field.name] is not None:
                full[field.name] = Decimal(str(full[field.name]))
        self.rows[table].append(full)
        return full

    # builders with defaults ------------------------------------------------------------
    def shop(self, shop_id="S1", timezone="America/New_York", region="US", currency="USD"):
        return self.add(
            "shops",
            shop_id=shop_id,
            shop_name=f"shop {shop_id}",
            region=region,
            currency=currency,
            timezone=timezone,
        )

    def account(self, account_id, account_type="affiliate", region="US"):
        return self.add(
            "accounts",
            account_id=account_id,
            handle=f"@{account_id}",
            account_type=account_type,
            region=region,
        )

    def binding(self, shop_id, account_id, bound_at, unbound_at=None, binding_type="channel"):
        return self.add(
            "account_bindings",
            shop_id=shop_id,
            account_id=account_id,
            binding_type=binding_type,
            bound_at=bound_at,
            unbound_at=unbound_at,
            updated_at=_instant(bound_at),
        )

    def product(self, product_id, shop_id="S1", unit_price="10.00", globally_sellable=False):
        self.add(
            "products",
            product_id=product_id,
            shop_id=shop_id,
            title=f"product {product_id}",
            category="general",
            globally_sellable=globally_sellable,
        )
        return self.add(
            "skus", sku_id=f"{product_id}-sku", product_id=product_id, unit_price=unit_price
        )

    def live(self, live_id, account_id, started_at, ended_at=None, region="US", products=()):
        row = self.add(
            "live_sessions",
            live_id=live_id,
            account_id=account_id,
            region=region,
            title=f"live {live_id}",
            started_at=started_at,
            ended_at=ended_at,
        )
        for product_id in products:
            self.add("live_products", live_id=live_id, product_id=product_id)
        return row

    def video(self, video_id, account_id, published_at, products=(), is_shoppable=True):
        row = self.add(
            "videos",
            video_id=video_id,
            account_id=account_id,
            published_at=published_at,
            is_shoppable=is_shoppable,
        )
        for product_id in products:
            self.add("video_products", video_id=video_id, product_id=product_id)
        return row

    def cart_add(
        self, cart_add_id, product_id, added_at, source_type, source_id=None, buyer_id="B1"
    ):
        return self.add(
            "cart_adds",
            cart_add_id=cart_add_id,
            buyer_id=buyer_id,
            sku_id=f"{product_id}-sku",
            product_id=product_id,
            added_at=added_at,
            source_type=source_type,
            source_id=source_id,
        )

    def order(
        self,
        order_id,
        paid_at,
        lines,
        shop_id="S1",
        buyer_id="B1",
        buyer_country="US",
        shipping_fee="0.00",
        cancelled_at=None,
        created_at=None,
    ):
        """An order and its lines; each line is a dict of order_lines columns (defaults:
        quantity 1, the product's unit price 10.00, no discounts, source ``mall``)."""
        paid = _instant(paid_at)
        created = _instant(created_at) if created_at else paid
        if created is None:
            raise ValueError("an unpaid order needs created_at")
        self.add(
            "orders",
            order_id=order_id,
            shop_id=shop_id,
            buyer_id=buyer_id,
            buyer_country=buyer_country,
            created_at=created,
            paid_at=paid,
            shipping_fee=shipping_fee,
            cancelled_at=cancelled_at,
            updated_at=_instant(cancelled_at) or paid or created,
        )
        made = []
        for index, line in enumerate(lines, start=1):
            line = dict(line)
            product_id = line.pop("product_id")
            made.append(
                self.add(
                    "order_lines",
                    line_id=line.pop("line_id", f"{order_id}-L{index}"),
                    order_id=order_id,
                    sku_id=f"{product_id}-sku",
                    product_id=product_id,
                    quantity=line.pop("quantity", 1),
                    unit_price=line.pop("unit_price", "10.00"),
                    seller_discount=line.pop("seller_discount", "0.00"),
                    platform_discount=line.pop("platform_discount", "0.00"),
                    source_type=line.pop("source_type", "mall"),
                    source_id=line.pop("source_id", None),
                    commission_rate=line.pop("commission_rate", None),
                    **line,
                )
            )
        return made

    def refund(
        self, refund_id, line_id, requested_at, amount, status="succeeded", succeeded_at=None
    ):
        return self.add(
            "refunds",
            refund_id=refund_id,
            line_id=line_id,
            requested_at=requested_at,
            status=status,
            succeeded_at=succeeded_at,
            amount=amount,
            updated_at=_instant(succeeded_at) or _instant(requested_at),
        )

    def settlement(self, settlement_id, line_id, account_id, settled_at, amount):
        return self.add(
            "commission_settlements",
            settlement_id=settlement_id,
            line_id=line_id,
            account_id=account_id,
            settled_at=settled_at,
            amount=amount,
        )

    # output ----------------------------------------------------------------------------
    def tables(self) -> dict[str, pa.Table]:
        return to_tables(self.rows)


def to_tables(rows: dict[str, list[dict]]) -> dict[str, pa.Table]:
    """Raw rows (lists of dicts per table) as pyarrow tables of the contract's schemas."""
    return {
        name: pa.Table.from_pylist(rows.get(name, []), schema=schema)
        for name, schema in RAW_SCHEMAS.items()
    }


def facts_connection(tables: dict[str, pa.Table], settings: Settings | None = None):
    """A connection with the raw tables as ``raw_<table>`` and the facts registered."""
    con = connect()
    for name, table in tables.items():
        con.register(f"raw_{name}", table)
    return con, build_facts(con, settings or Settings())


def run_daily(
    raw: Raw | dict[str, pa.Table], asset: str, *stat_dates: date, settings: Settings | None = None
) -> list[dict]:
    """Rows of a daily asset for the given stat dates, as dicts, sorted by its key."""
    tables = raw.tables() if isinstance(raw, Raw) else raw
    con, _ = facts_connection(tables, settings)
    try:
        rows = compute_daily_range(con, asset, list(stat_dates)).to_pylist()
    finally:
        con.close()
    return sorted(rows, key=lambda row: tuple(str(row[k]) for k in DAILY_KEYS[asset]))


def line_facts(raw: Raw, settings: Settings | None = None) -> dict[str, dict]:
    """The line facts of a scenario by line_id."""
    con, facts = facts_connection(raw.tables(), settings)
    con.close()
    return {row["line_id"]: row for row in facts["line_facts"].to_pylist()}


def one(rows: list[dict], **match) -> dict:
    """The single row matching every given column value."""
    found = [row for row in rows if all(row[k] == v for k, v in match.items())]
    assert len(found) == 1, f"expected one row matching {match}, got {found}"
    return found[0]


# Random valid raw data for the differential test -------------------------------------------

RANDOM_SHOPS = (
    ("S1", "America/Los_Angeles", "US"),
    ("S2", "Asia/Tokyo", "JP"),
    ("S3", "Europe/London", "GB"),
)
OTHER_SOURCES = (
    "mall",
    "campaign_page",
    "campaign_channel",
    "recommendation",
    "im_message",
    "search",
    "other",
)
RATES = (None, None, "0.1000", "0.0725", "0.1500", "0.3333", "0.0500")


def random_raw(seed: int, orders: int = 90) -> Raw:
    """A small marketplace of valid raw rows (raw-contract.md), different for each seed.

    It deliberately hits the edges of the definitions: three time zones, LIVEs crossing
    midnight and one still on the air, cart adds paid up to 45 days later (past the LIVE
    window) or during a later LIVE, multi-line orders with equal weights (ties) and all-zero
    weights, unpaid and cancelled orders, full and partial refunds of every status, and
    settlements days after payment.
    """
    import random
    from datetime import timedelta

    from reference import split_shipping

    rng = random.Random(seed)
    raw = Raw()
    start = ts("2026-03-01T00:00Z")

    def at(days: float) -> datetime:
        return start + timedelta(minutes=round(days * 24 * 60))

    for shop_id, timezone, region in RANDOM_SHOPS:
        raw.shop(shop_id, timezone=timezone, region=region)
    accounts = {"A1": "official", "A2": "channel", "A3": "channel"}
    accounts |= {f"A{i}": "affiliate" for i in range(4, 8)}
    for account_id, kind in accounts.items():
        raw.account(account_id, account_type=kind)
    for account_id in ("A1", "A2", "A3"):
        for shop_id, _, _ in RANDOM_SHOPS:
            if rng.random() < 0.6:
                bound = at(rng.uniform(-5, 20))
                unbound = bound + timedelta(days=rng.uniform(1, 30)) if rng.random() < 0.4 else None
                kind = "official_integrated" if account_id == "A1" else "channel"
                raw.binding(shop_id, account_id, bound, unbound, binding_type=kind)

    products: dict[str, list[tuple[str, Decimal]]] = {}
    for shop_id, _, _ in RANDOM_SHOPS:
        products[shop_id] = []
        for n in range(rng.randint(2, 4)):
            price = money(Decimal(rng.randint(100, 5000)) / 100)
            product_id = f"{shop_id}P{n}"
            raw.product(product_id, shop_id=shop_id, unit_price=price)
            products[shop_id].append((product_id, price))
    every_product = [p for items in products.values() for p, _ in items]

    lives = []
    for n in range(6):
        started = at(rng.uniform(0, 12))
        ended = None if n == 5 else started + timedelta(hours=rng.uniform(0.5, 9))
        if n == 5:
            started = at(rng.uniform(40, 44))
        live_id = f"L{n}"
        host = rng.choice(list(accounts))
        raw.live(live_id, host, started, ended, products=rng.sample(every_product, 3))
        lives.append((live_id, started, ended))
    videos = []
    for n in range(8):
        published = at(rng.uniform(0, 40))
        video_id = f"V{n}"
        raw.video(
            video_id,
            rng.choice(list(accounts)),
            published,
            products=rng.sample(every_product, rng.randint(1, 3)),
            is_shoppable=rng.random() < 0.8,
        )
        videos.append((video_id, published))

    def place(paid: datetime, kinds: tuple[str, ...]):
        """A source (type, id, earliest time) that exists at ``paid``."""
        kind = rng.choice(kinds)
        if kind == "live":
            open_lives = [live for live in lives if live[1] <= paid]
            if open_lives:
                live_id, started, ended = rng.choice(open_lives)
                latest = min(paid, ended) if ended else paid
                return "live", live_id, started, latest
        if kind == "video":
            seen = [video for video in videos if video[1] <= paid]
            if seen:
                # half the time the newest one, so some sell on their publish date
                video_id, published = (
                    max(seen, key=lambda v: v[1]) if rng.random() < 0.5 else (rng.choice(seen))
                )
                return "video", video_id, published, paid
        if kind == "showcase":
            return "showcase", rng.choice(list(accounts)), paid - timedelta(days=45), paid
        return rng.choice(OTHER_SOURCES), None, paid - timedelta(days=45), paid

    refund_count = settlement_count = cart_count = 0
    for n in range(orders):
        shop_id = rng.choice(RANDOM_SHOPS)[0]
        order_id = f"O{n:03d}"
        buyer_id = f"B{rng.randint(1, 12)}"
        created = at(rng.uniform(0, 55))
        paid = created + timedelta(minutes=rng.randint(0, 600)) if rng.random() < 0.9 else None
        cancelled = None
        if paid is not None and rng.random() < 0.12:
            cancelled = paid + timedelta(hours=rng.uniform(0.1, 72))
        fee = money(Decimal(rng.choice([0, 0, 1, 299, 500, 1000, 701])) / 100)
        lines = []
        line_numbers = rng.sample(range(1, 25), rng.choice([1, 1, 2, 3, 4]))
        twin = rng.random() < 0.25
        zero_weights = rng.random() < 0.08
        first_product = rng.choice(products[shop_id])
        for number in line_numbers:
            product_id, price = first_product if twin else rng.choice(products[shop_id])
            quantity = 1 if twin else rng.randint(1, 3)
            list_amount = price * quantity
            if zero_weights:
                seller = list_amount
            elif twin:
                seller = Decimal("0.00")
            else:
                seller = money(list_amount * Decimal(rng.choice([0, 0, 0, 5, 10, 33])) / 100)
            platform = money((list_amount - seller) * Decimal(rng.choice([0, 0, 7, 15])) / 100)
            when = paid or created
            kind = rng.choice(("live", "video", "cart", "cart", "showcase", "mall", "other"))
            if kind == "cart":
                added = when - timedelta(days=rng.choice([0.01, 0.5, 3, 20, 31, 33, 40, 45]))
                source, source_id, earliest, latest = place(
                    added, ("live", "live", "video", "showcase", "mall", "search")
                )
                if source == "live":
                    added = earliest + (latest - earliest) * rng.random()
                elif added < earliest:
                    added = earliest
                cart_count += 1
                cart_id = f"C{cart_count:03d}"
                raw.cart_add(cart_id, product_id, added, source, source_id, buyer_id=buyer_id)
                line_source, line_source_id = "cart", cart_id
            else:
                line_source, line_source_id, _, _ = place(when, (kind,))
            lines.append(
                dict(
                    line_id=f"{order_id}-{number}",
                    product_id=product_id,
                    quantity=quantity,
                    unit_price=price,
                    seller_discount=seller,
                    platform_discount=platform,
                    source_type=line_source,
                    source_id=line_source_id,
                    commission_rate=rng.choice(RATES),
                )
            )
        made = raw.order(
            order_id,
            paid,
            lines,
            shop_id=shop_id,
            buyer_id=buyer_id,
            buyer_country=rng.choice(["US", "US", "JP", "GB", "CN"]),
            shipping_fee=fee,
            cancelled_at=cancelled,
            created_at=created,
        )
        if paid is None:
            continue
        shares = split_shipping(
            fee,
            {
                line["line_id"]: line["quantity"] * line["unit_price"] - line["seller_discount"]
                for line in made
            },
        )
        refund_all = rng.random() < 0.15
        for line in made:
            gmv = (
                line["quantity"] * line["unit_price"]
                - line["seller_discount"]
                - line["platform_discount"]
                + shares[line["line_id"]]
            )
            left = gmv
            for _ in range(1 if refund_all else rng.choice([0, 0, 0, 1, 2])):
                if left <= 0:
                    break
                refund_count += 1
                status = (
                    "succeeded"
                    if refund_all
                    else rng.choice(["succeeded", "succeeded", "pending", "rejected", "withdrawn"])
                )
                amount = left if refund_all else money(left * Decimal(rng.randint(1, 100)) / 100)
                if amount <= 0:
                    continue
                requested = paid + timedelta(hours=rng.choice([0.5, 3, 20, 48, 200]))
                succeeded = None
                if status == "succeeded":
                    succeeded = requested + timedelta(hours=rng.choice([0, 0.2, 5, 30, 120]))
                    left -= amount
                raw.refund(
                    f"R{refund_count:03d}",
                    line["line_id"],
                    requested,
                    amount,
                    status=status,
                    succeeded_at=succeeded,
                )
            if line["commission_rate"] is not None and rng.random() < 0.7:
                settlement_count += 1
                raw.settlement(
                    f"CS{settlement_count:03d}",
                    line["line_id"],
                    rng.choice(list(accounts)),
                    paid + timedelta(days=rng.uniform(0, 20)),
                    money(Decimal(rng.randint(0, 900)) / 100),
                )
    return raw
