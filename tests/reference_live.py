"""An independent plain-Python reading of the LIVE modules (metrics.md §3–5, §10, §12–14;
outputs.md "LIVE list" and "LIVE dashboard").

Written from the spec alone, sharing no code with the SQL layer (not even the facts): it
computes line GMV, shipping shares and the LIVE attribution with its 30-day window itself,
from the raw tables, so the differential test cross-checks the facts as well as the marts.
Input: raw tables as lists of dicts (``pa.Table.to_pylist()``: ``Decimal`` money, aware
datetimes). Output: each LIVE asset as a list of dicts, one per row, for the given refresh
instants. Clarity over speed: it loops over instants, shops, LIVEs and minutes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)
ZERO = Decimal("0.00")


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def minute_floor(value: datetime) -> datetime:
    return utc(value).replace(second=0, microsecond=0)


class LiveWorld:
    """The raw snapshot, with every paid line's GMV and LIVE attribution worked out."""

    def __init__(self, raw: dict[str, list[dict]], refresh_hours=(4, 12, 20)):
        self.last_hour = max(refresh_hours)
        self.shops = {row["shop_id"]: row for row in raw["shops"]}
        self.accounts = {row["account_id"]: row for row in raw["accounts"]}
        self.bindings = list(raw["account_bindings"])
        self.products = {row["product_id"]: row for row in raw["products"]}
        self.lives = {row["live_id"]: row for row in raw["live_sessions"]}
        self.bag = defaultdict(set)
        for row in raw["live_products"]:
            self.bag[row["live_id"]].add(row["product_id"])
        self.events = defaultdict(list)
        for row in raw["live_room_events"]:
            self.events[row["live_id"]].append(row)
        self.impressions = defaultdict(list)
        for row in raw["product_impressions"]:
            self.impressions[row["live_id"]].append(row)
        self.lines = self._attributed_lines(raw)
        self.lines_by_live = defaultdict(list)
        for line in self.lines:
            self.lines_by_live[line["live_id"]].append(line)
        self.refunds = defaultdict(list)
        for row in raw["refunds"]:
            if row["status"] == "succeeded":
                self.refunds[row["line_id"]].append(row)
        self._online = {}

    # §3 window -----------------------------------------------------------------------
    def window_close(self, live_id: str) -> datetime | None:
        ended = self.lives[live_id]["ended_at"]
        if ended is None:
            return None
        day = utc(ended).date() + timedelta(days=30)
        return datetime.combine(day, time(self.last_hour), tzinfo=UTC)

    def dashboard_close(self, live_id: str) -> datetime | None:
        ended = self.lives[live_id]["ended_at"]
        if ended is None:
            return None
        return datetime.combine(utc(ended).date() + timedelta(days=30), time(0), tzinfo=UTC)

    # §1 GMV and §3 attribution ---------------------------------------------------------
    def _attributed_lines(self, raw) -> list[dict]:
        orders = {row["order_id"]: row for row in raw["orders"] if row["paid_at"] is not None}
        carts = {row["cart_add_id"]: row for row in raw["cart_adds"]}
        by_order = defaultdict(list)
        for line in raw["order_lines"]:
            if line["order_id"] in orders:
                by_order[line["order_id"]].append(line)
        result = []
        for order_id, lines in by_order.items():
            order = orders[order_id]
            shares = self._shipping_shares(order["shipping_fee"], lines)
            for line in lines:
                listed = line["quantity"] * line["unit_price"]
                gmv = (
                    listed
                    - line["seller_discount"]
                    - line["platform_discount"]
                    + shares[line["line_id"]]
                )
                origin_type, origin_id = line["source_type"], line["source_id"]
                if origin_type == "cart":
                    cart = carts[origin_id]
                    origin_type, origin_id = cart["source_type"], cart["source_id"]
                live_id = None
                if origin_type == "live":
                    close = self.window_close(origin_id)
                    if close is None or utc(order["paid_at"]) <= close:
                        live_id = origin_id
                result.append(
                    {
                        "line_id": line["line_id"],
                        "shop_id": order["shop_id"],
                        "buyer_country": order["buyer_country"],
                        "paid_at": utc(order["paid_at"]),
                        "quantity": line["quantity"],
                        "gmv": gmv,
                        "live_id": live_id,
                    }
                )
        return result

    @staticmethod
    def _shipping_shares(fee: Decimal, lines: list[dict]) -> dict[str, Decimal]:
        """Largest remainder in whole cents, ties to the smaller line_id (metrics.md §1)."""
        cents = int(fee * 100)
        weights = {
            line["line_id"]: int(
                (line["quantity"] * line["unit_price"] - line["seller_discount"]) * 100
            )
            for line in lines
        }
        if sum(weights.values()) == 0:
            weights = dict.fromkeys(weights, 1)
        total = sum(weights.values())
        floors = {key: cents * weight // total for key, weight in weights.items()}
        remainders = {key: cents * weight % total for key, weight in weights.items()}
        extra = cents - sum(floors.values())
        for key in sorted(weights, key=lambda k: (-remainders[k], k))[:extra]:
            floors[key] += 1
        return {key: Decimal(value) / 100 for key, value in floors.items()}

    # shared rules ----------------------------------------------------------------------
    def in_force(self, shop_id: str, account_id: str, at: datetime, binding_type=None) -> bool:
        return any(
            b["shop_id"] == shop_id
            and b["account_id"] == account_id
            and (binding_type is None or b["binding_type"] == binding_type)
            and utc(b["bound_at"]) <= at
            and (b["unbound_at"] is None or utc(b["unbound_at"]) > at)
            for b in self.bindings
        )

    def ended_by(self, live_id: str, at: datetime) -> datetime | None:
        ended = utc(self.lives[live_id]["ended_at"])
        return ended if ended is not None and ended <= at else None

    def lines_of(self, live_id: str, at: datetime, shop_id=None, country=None) -> list[dict]:
        return [
            line
            for line in self.lines_by_live[live_id]
            if line["paid_at"] <= at
            and (shop_id is None or line["shop_id"] == shop_id)
            and (country is None or line["buyer_country"] == country)
        ]

    def refunded(self, lines: list[dict], at: datetime) -> Decimal:
        return sum(
            (
                refund["amount"]
                for line in lines
                for refund in self.refunds[line["line_id"]]
                if utc(refund["succeeded_at"]) <= at
            ),
            ZERO,
        )

    def shows(self, shop_id: str, live_id: str, at: datetime) -> bool:
        """The LIVE list rule (outputs.md): bag, binding in force, or an attributed line."""
        live = self.lives[live_id]
        in_bag = any(
            self.products[p]["shop_id"] == shop_id for p in self.bag[live_id] if p in self.products
        )
        return (
            in_bag
            or self.in_force(shop_id, live["account_id"], at)
            or bool(self.lines_of(live_id, at, shop_id=shop_id))
        )

    def list_window_open(self, live_id: str, at: datetime) -> bool:
        live = self.lives[live_id]
        if utc(live["started_at"]) > at:
            return False
        ended = utc(live["ended_at"])
        if ended is None or ended > at:
            return True
        return at <= self.window_close(live_id)

    def dashboard_covers(self, live_id: str, at: datetime) -> bool:
        ended = utc(self.lives[live_id]["ended_at"])
        return ended is not None and ended <= at <= self.dashboard_close(live_id)

    # §13 online users ------------------------------------------------------------------
    def minutes(self, live_id: str) -> list[datetime]:
        live = self.lives[live_id]
        minute, last = minute_floor(live["started_at"]), minute_floor(live["ended_at"])
        out = []
        while minute <= last:
            out.append(minute)
            minute += MINUTE
        return out

    def viewer_events(self, live_id: str) -> dict[str, list[dict]]:
        by_viewer = defaultdict(list)
        for event in self.events[live_id]:
            by_viewer[event["viewer_id"]].append(event)
        for events in by_viewer.values():
            events.sort(key=lambda e: (utc(e["occurred_at"]), e["event_id"]))
        return by_viewer

    def in_room(self, live_id: str, end: datetime) -> int:
        """Viewers whose latest event strictly before ``end`` is an enter."""
        count = 0
        for events in self.viewer_events(live_id).values():
            before = [e for e in events if utc(e["occurred_at"]) < end]
            count += bool(before) and before[-1]["event_type"] == "enter"
        return count

    def online_users(self, live_id: str) -> dict[datetime, int]:
        """online_users(m) per minute: present at any instant of [m, m + 1 min)."""
        if live_id not in self._online:
            by_viewer = self.viewer_events(live_id)
            result = {}
            for minute in self.minutes(live_id):
                count = 0
                for events in by_viewer.values():
                    upto = [e for e in events if utc(e["occurred_at"]) <= minute]
                    present = bool(upto) and upto[-1]["event_type"] == "enter"
                    enters = any(
                        e["event_type"] == "enter"
                        and minute <= utc(e["occurred_at"]) < minute + MINUTE
                        for e in events
                    )
                    count += present or enters
                result[minute] = count
            self._online[live_id] = result
        return self._online[live_id]


# The assets ---------------------------------------------------------------------------------
def live_list_snapshot(world: LiveWorld, instants) -> list[dict]:
    rows = []
    for at in instants:
        for live_id, live in world.lives.items():
            if not world.list_window_open(live_id, at):
                continue
            ended = world.ended_by(live_id, at)
            for shop_id, shop in world.shops.items():
                if not world.shows(shop_id, live_id, at):
                    continue
                lines = world.lines_of(live_id, at, shop_id=shop_id, country=shop["region"])
                during = [ln for ln in lines if ended is None or ln["paid_at"] <= ended]
                after = [ln for ln in lines if ended is not None and ln["paid_at"] > ended]
                rows.append(
                    {
                        "snapshot_at": at,
                        "shop_id": shop_id,
                        "live_id": live_id,
                        "account_id": live["account_id"],
                        "account_type": world.accounts[live["account_id"]]["account_type"],
                        "start_date": live["started_at"]
                        .astimezone(ZoneInfo(shop["timezone"]))
                        .date(),
                        "started_at": utc(live["started_at"]),
                        "ended_at": ended,
                        "status": "live" if ended is None else "ended",
                        "gmv": sum((ln["gmv"] for ln in lines), ZERO),
                        "gmv_during_live": sum((ln["gmv"] for ln in during), ZERO),
                        "gmv_after_live": sum((ln["gmv"] for ln in after), ZERO),
                        "sku_orders": len(lines),
                        "items_sold": sum(ln["quantity"] for ln in lines),
                        "refund_amount": world.refunded(lines, at),
                        "is_final": at == world.window_close(live_id),
                    }
                )
    return rows


def creator_live_snapshot(world: LiveWorld, instants) -> list[dict]:
    rows = []
    for at in instants:
        for live_id, live in world.lives.items():
            if not world.list_window_open(live_id, at):
                continue
            ended = world.ended_by(live_id, at)
            lines = world.lines_of(live_id, at, country=live["region"])
            own = [ln for ln in lines if world.in_force(ln["shop_id"], live["account_id"], at)]
            rows.append(
                {
                    "snapshot_at": at,
                    "live_id": live_id,
                    "account_id": live["account_id"],
                    "region": live["region"],
                    "started_at": utc(live["started_at"]),
                    "ended_at": ended,
                    "status": "live" if ended is None else "ended",
                    "gmv_all_shops": sum((ln["gmv"] for ln in lines), ZERO),
                    "gmv_own_shops": sum((ln["gmv"] for ln in own), ZERO),
                    "shop_count": len({ln["shop_id"] for ln in lines}),
                    "sku_orders": len(lines),
                    "items_sold": sum(ln["quantity"] for ln in lines),
                    "is_final": at == world.window_close(live_id),
                }
            )
    return rows


MATCHING_BINDING = {"official": "official_integrated", "channel": "channel"}


def entry(world: LiveWorld, shop_id: str, live_id: str, at: datetime):
    """(available, reason) of the dashboard entry at ``at`` (metrics.md §12)."""
    host = world.lives[live_id]["account_id"]
    kind = world.accounts[host]["account_type"]
    wanted = MATCHING_BINDING.get(kind)
    if wanted and world.in_force(shop_id, host, at, wanted):
        return True, None
    if kind == "affiliate":
        return False, "affiliate_account"
    matching = [
        b
        for b in world.bindings
        if b["shop_id"] == shop_id and b["account_id"] == host and b["binding_type"] == wanted
    ]
    if any(b["unbound_at"] is not None and utc(b["unbound_at"]) <= at for b in matching):
        return False, "unbound"
    if any(utc(b["bound_at"]) > at for b in matching):
        return False, "bound_after_refresh"
    return False, "not_bound"


def global_view(world: LiveWorld, live_id: str) -> bool:
    bag = world.bag[live_id]
    return bool(bag) and all(
        p in world.products and world.products[p]["globally_sellable"] for p in bag
    )


def big_screen_snapshot(world: LiveWorld, instants) -> list[dict]:
    rows = []
    for at in instants:
        for live_id, live in world.lives.items():
            if not world.dashboard_covers(live_id, at):
                continue
            enters = [e for e in world.events[live_id] if e["event_type"] == "enter"]
            online = world.online_users(live_id)
            for shop_id, shop in world.shops.items():
                if not world.shows(shop_id, live_id, at):
                    continue
                lines = world.lines_of(live_id, at, shop_id=shop_id)
                local = [ln for ln in lines if ln["buyer_country"] == shop["region"]]
                available, reason = entry(world, shop_id, live_id, at)
                rows.append(
                    {
                        "snapshot_at": at,
                        "shop_id": shop_id,
                        "live_id": live_id,
                        "account_id": live["account_id"],
                        "account_type": world.accounts[live["account_id"]]["account_type"],
                        "started_at": utc(live["started_at"]),
                        "ended_at": utc(live["ended_at"]),
                        "entry_available": available,
                        "entry_unavailable_reason": reason,
                        "global_view": global_view(world, live_id),
                        "gmv": sum((ln["gmv"] for ln in lines), ZERO),
                        "gmv_local": sum((ln["gmv"] for ln in local), ZERO),
                        "sku_orders": len(lines),
                        "items_sold": sum(ln["quantity"] for ln in lines),
                        "views": len(enters),
                        "viewers": len({e["viewer_id"] for e in enters}),
                        "product_impressions": sum(
                            1
                            for i in world.impressions[live_id]
                            if i["product_id"] in world.products
                            and world.products[i["product_id"]]["shop_id"] == shop_id
                        ),
                        "peak_online_users": max(online.values(), default=0),
                        "refund_amount": world.refunded(lines, at),
                        "is_final": at == world.dashboard_close(live_id),
                    }
                )
    return rows


def big_screen_traffic(world: LiveWorld, instants) -> list[dict]:
    rows = []
    for at in instants:
        for live_id in world.lives:
            if not world.dashboard_covers(live_id, at) or not global_view(world, live_id):
                continue
            enters = [e for e in world.events[live_id] if e["event_type"] == "enter"]
            countries = sorted({e["viewer_country"] for e in enters})
            for shop_id in world.shops:
                if not world.shows(shop_id, live_id, at):
                    continue
                for country in countries:
                    mine = [e for e in enters if e["viewer_country"] == country]
                    rows.append(
                        {
                            "snapshot_at": at,
                            "shop_id": shop_id,
                            "live_id": live_id,
                            "viewer_country": country,
                            "views": len(mine),
                            "viewers": len({e["viewer_id"] for e in mine}),
                        }
                    )
    return rows


def live_online_trend(world: LiveWorld, instants) -> list[dict]:
    rows = []
    for at in instants:
        for live_id, live in world.lives.items():
            ended = utc(live["ended_at"])
            if ended is None or not (at - timedelta(days=1) < ended <= at):
                continue
            online = world.online_users(live_id)
            buckets = defaultdict(list)
            for minute in world.minutes(live_id):
                start = minute.replace(minute=minute.minute - minute.minute % 5)
                buckets[start].append(minute)
            for start, minutes in sorted(buckets.items()):
                end = start + 5 * MINUTE
                events = [e for e in world.events[live_id] if start <= utc(e["occurred_at"]) < end]
                rows.append(
                    {
                        "snapshot_at": at,
                        "live_id": live_id,
                        "bucket_start": start,
                        "minutes_in_live": len(minutes),
                        "online_users_5min_sum": sum(online[m] for m in minutes),
                        "in_room_online_at_bucket_end": world.in_room(live_id, end),
                        "net_entries": sum(1 if e["event_type"] == "enter" else -1 for e in events),
                        "max_online_users_minute": max(online[m] for m in minutes),
                        "online_users_last_minute": online[max(minutes)],
                    }
                )
    return rows


ASSETS = {
    "live_list_snapshot": live_list_snapshot,
    "creator_live_snapshot": creator_live_snapshot,
    "big_screen_snapshot": big_screen_snapshot,
    "big_screen_traffic": big_screen_traffic,
    "live_online_trend": live_online_trend,
}


def compute(asset: str, raw: dict[str, list[dict]], instants, refresh_hours=(4, 12, 20)):
    """Rows of a LIVE asset for the given refresh instants."""
    return ASSETS[asset](LiveWorld(raw, refresh_hours), [utc(at) for at in instants])
