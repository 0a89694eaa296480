"""An independent plain-Python reading of metrics.md §1–4, §6–9, §11, §14.

Written from the spec alone and sharing no code with the SQL layer: it is the oracle of the
differential test. Input: the raw tables as lists of dicts (``pa.Table.to_pylist()``), with
``decimal.Decimal`` money and aware datetimes. Output: the six daily assets as lists of
dicts, every stat date that has data. Clarity over speed: it is meant for small data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_REFRESH_HOURS = (4, 12, 20)


def local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def window_close(ended_at: datetime | None, refresh_hours=DEFAULT_REFRESH_HOURS):
    """The last LIVE-list refresh on UTC day date_utc(ended_at) + 30; None while on air."""
    if ended_at is None:
        return None
    day = ended_at.astimezone(UTC).date() + timedelta(days=30)
    return datetime.combine(day, time(max(refresh_hours)), tzinfo=UTC)


def split_shipping(fee: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """Largest-remainder split of ``fee`` over lines in proportion to their weights.

    Exact rational shares in cents, floored; the cents left over go to the largest
    fractional parts, ties to the smaller line_id; all-zero weights split equally.
    """
    ids = sorted(weights)
    if all(weight == 0 for weight in weights.values()):
        weights = {line_id: Decimal(1) for line_id in ids}
    total = sum(Fraction(weight) for weight in weights.values())
    fee_cents = Fraction(fee) * 100
    exact = {i: fee_cents * Fraction(weights[i]) / total for i in ids}
    shares = {i: math.floor(exact[i]) for i in ids}
    leftover = int(fee_cents) - sum(shares.values())
    for line_id in sorted(ids, key=lambda i: (-(exact[i] - shares[i]), i))[:leftover]:
        shares[line_id] += 1
    return {i: (Decimal(shares[i]) / 100).quantize(CENT) for i in ids}


def line_facts(raw: dict[str, list[dict]], refresh_hours=DEFAULT_REFRESH_HOURS) -> list[dict]:
    """Every line of a paid order with GMV, stat date and attribution (§1–3, §8)."""
    shops = {row["shop_id"]: row for row in raw["shops"]}
    orders = {row["order_id"]: row for row in raw["orders"] if row["paid_at"] is not None}
    carts = {row["cart_add_id"]: row for row in raw["cart_adds"]}
    lives = {row["live_id"]: row for row in raw["live_sessions"]}
    videos = {row["video_id"]: row for row in raw["videos"]}

    lines_by_order = defaultdict(list)
    for line in raw["order_lines"]:
        if line["order_id"] in orders:
            lines_by_order[line["order_id"]].append(line)

    facts = []
    for order_id, lines in lines_by_order.items():
        order = orders[order_id]
        timezone = shops[order["shop_id"]]["timezone"]
        weights = {
            line["line_id"]: line["quantity"] * line["unit_price"] - line["seller_discount"]
            for line in lines
        }
        shares = split_shipping(order["shipping_fee"], weights)
        for line in lines:
            list_amount = line["quantity"] * line["unit_price"]
            merchandise = list_amount - line["seller_discount"] - line["platform_discount"]
            if line["source_type"] == "cart":
                cart = carts[line["source_id"]]
                origin_type, origin_id = cart["source_type"], cart["source_id"]
            else:
                origin_type, origin_id = line["source_type"], line["source_id"]
            channel, detail = "product_card", origin_type
            live_id = video_id = creator = closes = None
            if origin_type == "live":
                live = lives[origin_id]
                closes = window_close(live["ended_at"], refresh_hours)
                if closes is None or order["paid_at"] <= closes:
                    channel, detail = "live", "live"
                    live_id, creator = origin_id, live["account_id"]
                else:
                    detail = "live_window_expired"
            elif origin_type == "video":
                channel, detail = "video", "video"
                video_id, creator = origin_id, videos[origin_id]["account_id"]
            elif origin_type == "showcase":
                detail, creator = "showcase", origin_id
            base = list_amount - line["seller_discount"]
            estimate = ZERO
            if line["commission_rate"] is not None and creator is not None:
                estimate = (base * line["commission_rate"]).quantize(CENT, ROUND_HALF_UP)
            cancelled = order["cancelled_at"]
            facts.append(
                {
                    "shop_id": order["shop_id"],
                    "order_id": order_id,
                    "line_id": line["line_id"],
                    "product_id": line["product_id"],
                    "buyer_id": order["buyer_id"],
                    "stat_date": local_date(order["paid_at"], timezone),
                    "paid_at": order["paid_at"],
                    "cancelled_date": local_date(cancelled, timezone) if cancelled else None,
                    "quantity": line["quantity"],
                    "shipping_share": shares[line["line_id"]],
                    "gmv": merchandise + shares[line["line_id"]],
                    "estimated_commission": estimate,
                    "channel": channel,
                    "channel_detail": detail,
                    "live_id": live_id,
                    "video_id": video_id,
                    "creator": creator,
                    "window_close": closes,
                }
            )
    return facts


def _refunds(raw, facts_by_line):
    shops = {row["shop_id"]: row["timezone"] for row in raw["shops"]}
    out = []
    for refund in raw["refunds"]:
        line = facts_by_line.get(refund["line_id"])
        if line is None:
            continue
        timezone = shops[line["shop_id"]]
        succeeded = refund["status"] == "succeeded"
        out.append(
            {
                **refund,
                "line": line,
                "requested_date": local_date(refund["requested_at"], timezone),
                "succeeded_date": (
                    local_date(refund["succeeded_at"], timezone) if succeeded else None
                ),
            }
        )
    return out


def _settlements(raw, facts_by_line):
    shops = {row["shop_id"]: row["timezone"] for row in raw["shops"]}
    out = []
    for settlement in raw["commission_settlements"]:
        line = facts_by_line.get(settlement["line_id"])
        if line is None:
            continue
        out.append(
            {
                **settlement,
                "line": line,
                "settled_date": local_date(settlement["settled_at"], shops[line["shop_id"]]),
            }
        )
    return out


def _videos(raw, facts):
    """(shop, date) → list of (is_self, gmv) for shoppable videos linking the shop (§11)."""
    shops = {row["shop_id"]: row["timezone"] for row in raw["shops"]}
    product_shop = {row["product_id"]: row["shop_id"] for row in raw["products"]}
    linked = defaultdict(set)
    for row in raw["video_products"]:
        linked[row["video_id"]].add(product_shop[row["product_id"]])
    out = defaultdict(list)
    for video in raw["videos"]:
        if not video["is_shoppable"]:
            continue
        published = video["published_at"]
        for shop_id in linked[video["video_id"]]:
            day = local_date(published, shops[shop_id])
            is_self = any(
                b["shop_id"] == shop_id
                and b["account_id"] == video["account_id"]
                and b["bound_at"] <= published
                and (b["unbound_at"] is None or b["unbound_at"] > published)
                for b in raw["account_bindings"]
            )
            gmv = sum(
                (
                    f["gmv"]
                    for f in facts
                    if f["video_id"] == video["video_id"]
                    and f["shop_id"] == shop_id
                    and f["stat_date"] <= day
                ),
                ZERO,
            )
            out[(shop_id, day)].append((is_self, gmv))
    return out


def daily(raw: dict[str, list[dict]], refresh_hours=DEFAULT_REFRESH_HOURS) -> dict[str, list]:
    """The six daily assets for every stat date with data, as lists of dicts."""
    facts = line_facts(raw, refresh_hours)
    by_line = {f["line_id"]: f for f in facts}
    refunds = _refunds(raw, by_line)
    settlements = _settlements(raw, by_line)
    videos = _videos(raw, facts)

    activity = set()
    activity.update((f["shop_id"], f["stat_date"]) for f in facts)
    for r in refunds:
        activity.add((r["line"]["shop_id"], r["requested_date"]))
        if r["succeeded_date"] is not None:
            activity.add((r["line"]["shop_id"], r["succeeded_date"]))
    activity.update((s["line"]["shop_id"], s["settled_date"]) for s in settlements)
    activity.update(videos)

    return {
        "core_data_daily": _core(activity, facts, refunds),
        "core_data_channel_detail_daily": _channel_detail(facts),
        "order_management_daily": _order_management(activity, facts, refunds),
        "product_analysis_daily": _products(facts, refunds),
        "creator_analysis_daily": _creators(facts, settlements),
        "video_analysis_daily": _video_counts(activity, videos),
    }


def _core(activity, facts, refunds):
    rows = []
    for shop_id, day in sorted(activity):
        lines = [f for f in facts if f["shop_id"] == shop_id and f["stat_date"] == day]

        def gmv(channel, lines=lines):
            return sum((f["gmv"] for f in lines if f["channel"] == channel), ZERO)

        rows.append(
            {
                "shop_id": shop_id,
                "stat_date": day,
                "gmv": sum((f["gmv"] for f in lines), ZERO),
                "gmv_live": gmv("live"),
                "gmv_video": gmv("video"),
                "gmv_product_card": gmv("product_card"),
                "sku_orders": len(lines),
                "items_sold": sum(f["quantity"] for f in lines),
                "buyers": len({f["buyer_id"] for f in lines}),
                "refund_amount": sum(
                    (
                        r["amount"]
                        for r in refunds
                        if r["line"]["shop_id"] == shop_id and r["succeeded_date"] == day
                    ),
                    ZERO,
                ),
            }
        )
    return rows


def _channel_detail(facts):
    groups = defaultdict(list)
    for f in facts:
        groups[(f["shop_id"], f["stat_date"], f["channel"], f["channel_detail"])].append(f)
    return [
        {
            "shop_id": key[0],
            "stat_date": key[1],
            "channel": key[2],
            "channel_detail": key[3],
            "gmv": sum((f["gmv"] for f in lines), ZERO),
            "sku_orders": len(lines),
            "items_sold": sum(f["quantity"] for f in lines),
        }
        for key, lines in sorted(groups.items())
    ]


def _order_management(activity, facts, refunds):
    orders = defaultdict(list)
    for f in facts:
        orders[f["order_id"]].append(f)
    states = defaultdict(lambda: defaultdict(int))
    for lines in orders.values():
        first = lines[0]
        day = first["stat_date"]
        key = (first["shop_id"], day)
        order_gmv = sum((f["gmv"] for f in lines), ZERO)
        refunded = sum(
            (
                r["amount"]
                for r in refunds
                if r["line"]["order_id"] == first["order_id"]
                and r["succeeded_date"] is not None
                and r["succeeded_date"] <= day
            ),
            ZERO,
        )
        if first["cancelled_date"] is not None and first["cancelled_date"] <= day:
            states[key]["cancelled_orders"] += 1
        elif refunded > 0 and refunded >= order_gmv:
            states[key]["refunded_orders"] += 1
        else:
            states[key]["orders"] += 1
        states[key]["paid_orders"] += 1
        states[key]["order_lines"] += len(lines)
    rows = []
    for shop_id, day in sorted(activity):
        requested = [
            r for r in refunds if r["line"]["shop_id"] == shop_id and r["requested_date"] == day
        ]
        counts = states[(shop_id, day)]
        rows.append(
            {
                "shop_id": shop_id,
                "stat_date": day,
                "orders": counts["orders"],
                "cancelled_orders": counts["cancelled_orders"],
                "refunded_orders": counts["refunded_orders"],
                "refund_requested_amount": sum((r["amount"] for r in requested), ZERO),
                "refund_requests": len(requested),
                "paid_orders": counts["paid_orders"],
                "order_lines": counts["order_lines"],
            }
        )
    return rows


def _products(facts, refunds):
    keys = {(f["shop_id"], f["stat_date"], f["product_id"]) for f in facts}
    keys |= {
        (r["line"]["shop_id"], r["succeeded_date"], r["line"]["product_id"])
        for r in refunds
        if r["succeeded_date"] is not None
    }
    rows = []
    for shop_id, day, product_id in sorted(keys):
        lines = [
            f
            for f in facts
            if (f["shop_id"], f["stat_date"], f["product_id"]) == (shop_id, day, product_id)
        ]
        done = [
            r
            for r in refunds
            if r["succeeded_date"] == day
            and r["line"]["shop_id"] == shop_id
            and r["line"]["product_id"] == product_id
        ]
        gmv = sum((f["gmv"] for f in lines), ZERO)
        refund_amount = sum((r["amount"] for r in done), ZERO)
        rows.append(
            {
                "shop_id": shop_id,
                "stat_date": day,
                "product_id": product_id,
                "gmv": gmv,
                "sku_orders": len(lines),
                "items_sold": sum(f["quantity"] for f in lines),
                "refund_amount": refund_amount,
                "refund_amount_prior_sales": sum(
                    (r["amount"] for r in done if r["line"]["stat_date"] < day), ZERO
                ),
                "refund_exceeds_gmv": refund_amount > gmv,
            }
        )
    return rows


def _creators(facts, settlements):
    keys = {(f["shop_id"], f["stat_date"], f["creator"]) for f in facts if f["creator"]}
    keys |= {(s["line"]["shop_id"], s["settled_date"], s["account_id"]) for s in settlements}
    rows = []
    for shop_id, day, account_id in sorted(keys):
        lines = [
            f
            for f in facts
            if (f["shop_id"], f["stat_date"], f["creator"]) == (shop_id, day, account_id)
        ]

        def gmv(test, lines=lines):
            return sum((f["gmv"] for f in lines if test(f)), ZERO)

        rows.append(
            {
                "shop_id": shop_id,
                "stat_date": day,
                "account_id": account_id,
                "gmv_total": gmv(lambda f: True),
                "gmv_live": gmv(lambda f: f["channel"] == "live"),
                "gmv_video": gmv(lambda f: f["channel"] == "video"),
                "gmv_showcase": gmv(lambda f: f["channel_detail"] == "showcase"),
                "estimated_commission": sum((f["estimated_commission"] for f in lines), ZERO),
                "actual_commission": sum(
                    (
                        s["amount"]
                        for s in settlements
                        if s["line"]["shop_id"] == shop_id
                        and s["settled_date"] == day
                        and s["account_id"] == account_id
                    ),
                    ZERO,
                ),
                "sku_orders": len(lines),
            }
        )
    return rows


def _video_counts(activity, videos):
    rows = []
    for shop_id, day in sorted(activity):
        found = videos.get((shop_id, day), [])
        own = sum(1 for is_self, _ in found if is_self)
        affiliate = len(found) - own
        zero = sum(1 for is_self, gmv in found if not is_self and gmv == 0)
        rows.append(
            {
                "shop_id": shop_id,
                "stat_date": day,
                "trends_video_count": len(found),
                "details_video_count": own + affiliate - zero,
                "self_video_count": own,
                "affiliate_video_count": affiliate,
                "affiliate_zero_gmv_video_count": zero,
            }
        )
    return rows
