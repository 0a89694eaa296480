"""One simulated day's cohort: the orders created that UTC day and everything that ever
follows from them, and the LIVE-room activity of the LIVEs started that day.

A cohort is drawn whole from its own generators and the world up to its day, never from
the run's length or snapshot: its orders (every version, up to a cancellation weeks
later), their lines, the cart adds those lines checked out (added up to 40 days earlier)
plus the day's abandoned cart adds, the lines' refunds and commission settlements
(whenever they happen), and the room events and impressions. Each row comes with the day
whose drop delivers it (`Rows`): the day of its `updated_at`, `settled_at` or
`occurred_at`; lines and cart adds come with the sale. So the cohort of day d is the same
in any run that simulates day d, and a drop is the rows of all cohorts due that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from compass_pipeline.simulate.columns import (
    DAY,
    HOUR,
    MINUTE,
    RATE,
    SEC,
    decimals,
    ids,
    instants,
    pick,
    table,
    vocabulary,
)
from compass_pipeline.simulate.world import (
    AFFILIATE,
    CART,
    COUNTRIES,
    LIVE,
    MALL,
    N_SHOPS,
    RECOMMENDATION,
    SHOP_REGION,
    SHOP_WEIGHT,
    SHOWCASE,
    SOURCE_TYPES,
    VIDEO,
    World,
    uniform_in,
)

# where an order is placed (its first line's source), in SOURCE_TYPES order
ORDER_CONTEXT_P = np.array([0.36, 0.14, 0.17, 0.06, 0.09, 0.02, 0.01, 0.05, 0.01, 0.07, 0.02])
# where an item was added to the cart (never from the cart itself)
CART_ORIGIN_P = np.array([0.48, 0.18, 0.0, 0.08, 0.09, 0.02, 0.01, 0.06, 0.01, 0.05, 0.02])
LINES_PER_ORDER_P = np.array([0.72, 0.18, 0.06, 0.03, 0.01])
CART_CHECKOUT_IN_LIVE = 0.12  # of LIVE-room orders, checked out from the cart instead
SAME_SOURCE_P = 0.55  # a further line of an order comes from the same place, else the cart

PENDING, SUCCEEDED, REJECTED, WITHDRAWN = 0, 1, 2, 3
REFUND_STATUSES = ("pending", "succeeded", "rejected", "withdrawn")
RATES_BP = np.array([500, 800, 1000, 1000, 1200, 1500, 2000, 1250, 733])
SURFACES = ("product_card", "shopping_bag", "pinned")
EVENT_TYPES = ("enter", "leave")
PEOPLE_PER_COUNTRY = 10**8  # buyer and viewer ids are country * this + a number
NEVER = np.iinfo(np.int64).max

_SOURCE_VOCAB = vocabulary(SOURCE_TYPES)
_COUNTRY_VOCAB = vocabulary(COUNTRIES)


class Rows(NamedTuple):
    """A cohort's rows of one table, sorted by `day`: the day whose drop delivers each."""

    table: pa.Table
    day: np.ndarray


def _by_delivery(day: np.ndarray) -> np.ndarray:
    """The order that sorts rows by delivery day, keeping their order within a day."""
    return np.argsort(day, kind="stable")


def _foreign(rng, home: np.ndarray) -> np.ndarray:
    """A country other than `home`."""
    other = rng.integers(0, len(COUNTRIES) - 1, len(home))
    return other + (other >= home)


def _people(rng, world: World, country: np.ndarray) -> np.ndarray:
    """A person of each country from a pool, so buyers come back."""
    pool = min(PEOPLE_PER_COUNTRY, max(2000, world.scale * 20))
    return country.astype(np.int64) * PEOPLE_PER_COUNTRY + rng.integers(0, pool, len(country))


def _buyer_countries(rng, shop: np.ndarray, market: np.ndarray) -> np.ndarray:
    """Mostly the shop's home country; in a LIVE of another market, often that market."""
    home = SHOP_REGION[shop]
    r = rng.random(len(shop))
    local = np.where((r < 0.55) & (market >= 0) & (market != home), market, home)
    return np.where(r > 0.9, _foreign(rng, home), local)


def _long_lags(rng, n: int) -> np.ndarray:
    """Cart add → checkout: hours mostly, days often, beyond the 30-day LIVE window sometimes."""
    r = rng.random(n)
    u = rng.random(n)
    return np.select(
        [r < 0.45, r < 0.75, r < 0.9],
        [
            HOUR + rng.exponential(8 * HOUR, n).astype(np.int64),
            DAY + (u * 9 * DAY).astype(np.int64),
            10 * DAY + (u * 18 * DAY).astype(np.int64),
        ],
        28 * DAY + (u * 12 * DAY).astype(np.int64),
    )


@dataclass
class CartOrigins:
    stype: np.ndarray
    item: np.ndarray
    product: np.ndarray
    added: np.ndarray


def cart_origins(world: World, rng, shop, before: np.ndarray, lag: np.ndarray) -> CartOrigins:
    """Where and when each cart item (of `shop`, checked out at `before`) was added.

    A LIVE origin is the shop's latest LIVE started by `before - lag` (and at least an hour
    before `before`), the item added while it was on the air; a video origin the latest
    video by then. A shop without such a LIVE or video yet gets a recommendation.
    """
    n = len(shop)
    stype = rng.choice(len(SOURCE_TYPES), n, p=CART_ORIGIN_P)
    item = np.full(n, -1, dtype=np.int64)
    product = np.full(n, -1, dtype=np.int64)
    target = np.minimum(before - lag, before - HOUR)
    added = target.copy()

    sel = np.flatnonzero(stype == LIVE)
    live, prod, found = world.live_index.latest(rng, shop[sel], target[sel])
    ok, live, prod = sel[found], live[found], prod[found]
    item[ok], product[ok] = live, prod
    start = world.live_start[live]
    until = np.minimum(world.live_end[live], before[ok] - MINUTE)
    added[ok] = start + (rng.random(len(ok)) * (until - start)).astype(np.int64)
    stype[sel[~found]] = RECOMMENDATION

    sel = np.flatnonzero(stype == VIDEO)
    video, prod, found = world.video_index.latest(rng, shop[sel], target[sel])
    item[sel[found]], product[sel[found]] = video[found], prod[found]
    stype[sel[~found]] = RECOMMENDATION

    sel = np.flatnonzero(stype == SHOWCASE)
    item[sel] = world.showcase_owner_pick(rng, shop[sel])

    sel = np.flatnonzero(product < 0)
    product[sel] = world.catalog_pick(rng, shop[sel])
    # nothing existed before the simulated period: spread those adds over its beginning
    early = np.flatnonzero(added < world.start_us)
    added[early] = world.start_us + (
        rng.random(len(early)) * (before[early] - world.start_us)
    ).astype(np.int64)
    return CartOrigins(stype, item, product, added)


@dataclass
class Sales:
    """A day's orders (index `o`) and lines (index `l`), as integer arrays."""

    o_shop: np.ndarray
    o_country: np.ndarray
    o_buyer: np.ndarray
    o_created: np.ndarray
    o_paid: np.ndarray  # -1: unpaid
    o_cancelled: np.ndarray  # -1: not cancelled
    o_shipping: np.ndarray
    l_order: np.ndarray
    l_sku: np.ndarray
    l_prod: np.ndarray
    l_qty: np.ndarray
    l_price: np.ndarray
    l_seller: np.ndarray
    l_platform: np.ndarray
    l_stype: np.ndarray
    l_item: np.ndarray
    l_rate: np.ndarray  # basis points, -1: none
    l_payee: np.ndarray
    l_cart: np.ndarray  # rank among the day's cart adds, -1: not a cart line
    cart: CartOrigins  # one per cart line, in line order


def _order_contexts(world: World, rng, m: int, t0: int):
    """Each order's shop, creation instant and place (LIVE room, video, showcase, ...)."""
    t1 = t0 + DAY
    ctx = rng.choice(len(SOURCE_TYPES), m, p=ORDER_CONTEXT_P)
    shop = rng.choice(N_SHOPS, m, p=SHOP_WEIGHT)
    created = t0 + (rng.random(m) * DAY).astype(np.int64)
    item = np.full(m, -1, dtype=np.int64)
    first = np.full(m, -1, dtype=np.int64)

    # in a LIVE room while it is on the air (LIVEs with a product in the bag)
    sel = np.flatnonzero(ctx == LIVE)
    lo = np.maximum(world.live_start, t0)
    span = np.minimum(world.live_end, t1) - lo
    cand = np.flatnonzero((span > 0) & (world.live_bag_count > 0))
    if len(cand):
        weight = span[cand] * world.live_pop[cand]
        live = cand[rng.choice(len(cand), len(sel), p=weight / weight.sum())]
        created[sel] = lo[live] + (rng.random(len(sel)) * span[live]).astype(np.int64)
        entry = uniform_in(rng, world.live_bag_start[live], world.live_bag_count[live])
        first[sel] = world.bag_prod[entry]
        item[sel] = live
    else:
        ctx[sel] = MALL

    # under a video of the last month that sells, recent ones more often
    sel = np.flatnonzero(ctx == VIDEO)
    pub = world.video_pub[world.vp_video]
    cand = np.flatnonzero(world.video_sells[world.vp_video] & (pub < t1) & (pub >= t1 - 30 * DAY))
    if len(cand):
        weight = np.exp(-(t1 - pub[cand]) / (5 * DAY))
        entry = cand[rng.choice(len(cand), len(sel), p=weight / weight.sum())]
        video = world.vp_video[entry]
        lo = np.maximum(world.video_pub[video], t0)
        created[sel] = lo + (rng.random(len(sel)) * (t1 - lo)).astype(np.int64)
        first[sel] = world.vp_prod[entry]
        item[sel] = video
    else:
        ctx[sel] = MALL

    has_first = first >= 0
    shop[has_first] = world.prod_shop[first[has_first]]
    sel = np.flatnonzero(ctx == SHOWCASE)
    item[sel] = world.showcase_owner_pick(rng, shop[sel])
    return ctx, shop, created, item, first


def make_sales(world: World, rng, t0: int) -> Sales:
    """The day's orders and exactly `scale` lines: places, products, amounts, payment,
    cancellation, commission rates, and the cart adds behind the cart lines."""
    target = world.scale
    m = int(target / 1.43 * 1.1) + 16  # more than needed; cut at exactly `target` lines
    n_lines = rng.choice(len(LINES_PER_ORDER_P), m, p=LINES_PER_ORDER_P) + 1
    ctx, shop, created, item, first = _order_contexts(world, rng, m, t0)
    all_cart = (ctx == CART) | ((ctx == LIVE) & (rng.random(m) < CART_CHECKOUT_IN_LIVE))

    n = int(n_lines.sum())
    order = np.repeat(np.arange(m), n_lines)
    pos = np.arange(n) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    l_shop, l_item = shop[order], item[order]
    is_cart = all_cart[order] | ((pos > 0) & (rng.random(n) >= SAME_SOURCE_P))
    stype = np.where(is_cart, CART, ctx[order])
    prod = np.where((pos == 0) & ~is_cart, first[order], -1)
    sel = np.flatnonzero((prod < 0) & (stype == LIVE))
    prod[sel] = world.bag_pick(rng, l_item[sel], l_shop[sel])
    sel = np.flatnonzero((prod < 0) & (stype == VIDEO))
    prod[sel] = world.video_product_pick(rng, l_item[sel], l_shop[sel])
    sel = np.flatnonzero((prod < 0) & ~is_cart)
    prod[sel] = world.catalog_pick(rng, l_shop[sel])
    cart_lines = np.flatnonzero(is_cart)
    origin = cart_origins(
        world, rng, l_shop[cart_lines], created[order[cart_lines]], _long_lags(rng, len(cart_lines))
    )
    prod[cart_lines] = origin.product
    sku = world.sku_pick(rng, prod)

    # one line per SKU and order (the compass's unit), then exactly `target` lines
    _, first_of_sku = np.unique(order * len(world.sku_price) + sku, return_index=True)
    keep = np.zeros(n, dtype=bool)
    keep[first_of_sku] = True
    keep &= np.cumsum(keep) <= target
    m = int(order[keep][-1]) + 1 if keep.any() else 0
    kept_cart = keep[cart_lines]
    origin = CartOrigins(*(a[kept_cart] for a in vars(origin).values()))
    order, sku, prod, stype, l_item = order[keep], sku[keep], prod[keep], stype[keep], l_item[keep]
    n = len(order)
    l_cart = np.full(n, -1, dtype=np.int64)
    l_cart[stype == CART] = np.arange(len(origin.stype))
    shop, ctx, created = shop[:m], ctx[:m], created[:m]

    # creator: the LIVE's host, video's poster or showcase owner, through the cart add
    creator = world.creator_of(stype, l_item)
    creator[stype == CART] = world.creator_of(origin.stype, origin.item)
    affiliate = (creator >= 0) & (world.acc_type[np.maximum(creator, 0)] == AFFILIATE)
    rated = affiliate | ((creator < 0) & (rng.random(n) < 0.03))
    rate = np.where(rated, rng.choice(RATES_BP, n), -1)
    payee = np.where(affiliate, creator, world.affiliate_pick(rng, n))

    qty = rng.choice([1, 2, 3, 4, 5], n, p=[0.8, 0.12, 0.05, 0.02, 0.01])
    price = world.sku_price[sku]
    gross = qty * price
    r = rng.random(n)
    seller = np.where(r < 0.3, gross * rng.choice([5, 10, 15, 20, 25, 30], n) // 100, 0)
    gift_order = rng.random(m) < 0.002  # every line free: the shipping split has no weights
    seller = np.where((r > 0.997) | gift_order[order], gross, seller)
    coupon = rng.choice([50, 100, 200, 300, 500, 1000], n)
    platform = np.where(rng.random(n) < 0.2, np.minimum(coupon, gross - seller), 0)

    shipping = np.where(
        rng.random(m) < 0.4, 0, rng.choice([199, 299, 349, 399, 499, 599, 799, 999], m)
    )
    shipping[gift_order] = 499
    paid = created + SEC + rng.exponential(4 * MINUTE, m).astype(np.int64)
    unpaid = rng.random(m) < 0.06
    paid[unpaid] = -1
    r = rng.random(m)
    cancel_at = np.where(
        unpaid,
        created + 30 * MINUTE,  # unpaid orders close after half an hour
        paid + SEC + rng.exponential(10 * HOUR, m).astype(np.int64),
    )
    cancelled = np.where(np.where(unpaid, r < 0.75, r < 0.04), cancel_at, -1)
    market = np.full(m, -1)
    in_live = np.flatnonzero(ctx == LIVE)
    market[in_live] = world.live_region[item[in_live]]
    country = _buyer_countries(rng, shop, market)
    return Sales(
        o_shop=shop,
        o_country=country,
        o_buyer=_people(rng, world, country),
        o_created=created,
        o_paid=paid,
        o_cancelled=cancelled,
        o_shipping=shipping,
        l_order=order,
        l_sku=sku,
        l_prod=prod,
        l_qty=qty,
        l_price=price,
        l_seller=seller,
        l_platform=platform,
        l_stype=stype,
        l_item=l_item,
        l_rate=rate,
        l_payee=payee,
        l_cart=l_cart,
        cart=origin,
    )


def _with_duplicates(rng, n_rows: int, final_rows: int) -> np.ndarray:
    """Every row once, then a handful repeated verbatim, as an export sent twice would."""
    again = rng.choice(n_rows, min(n_rows, max(1, final_rows // 2000)), replace=False)
    return np.concatenate([np.arange(n_rows), np.sort(again)])


def orders_table(world: World, rng, s: Sales, d: int, tag: str) -> Rows:
    """The versions of each order an exporter delivers, each the day of its `updated_at`:
    open (created), paid, cancelled.

    The version in effect at the end of each day is always there (an order created before
    midnight and paid after it arrives open, then paid); an earlier version of the same
    day only sometimes: 15% of paid orders show their open version, and a cancelled order
    always shows the version before its cancellation.
    """
    m = len(s.o_shop)
    idx = np.arange(m)
    paid = s.o_paid >= 0
    cancelled = s.o_cancelled >= 0
    paid_later = world.day_of(s.o_paid) > world.day_of(s.o_created)
    open_shown = ~paid | paid_later | (rng.random(m) < 0.15)
    row = np.concatenate([idx[open_shown], idx[paid], idx[cancelled]])
    kind = np.repeat([0, 1, 2], [open_shown.sum(), paid.sum(), cancelled.sum()])
    paid_at = np.where(kind >= 1, s.o_paid[row], -1)
    cancelled_at = np.where(kind == 2, s.o_cancelled[row], -1)
    updated = np.maximum.reduce([s.o_created[row], paid_at, cancelled_at])
    order = _with_duplicates(rng, len(row), m)
    day = world.day_of(updated[order], d)
    by_day = _by_delivery(day)
    order, day = order[by_day], day[by_day]
    row, paid_at, cancelled_at, updated = (
        row[order],
        paid_at[order],
        cancelled_at[order],
        updated[order],
    )
    orders = table(
        "orders",
        {
            "order_id": ids(f"ord_{tag}_", row + 1, 8),
            "shop_id": pick(world.shop_ids, s.o_shop[row]),
            "buyer_id": ids("buyer_", s.o_buyer[row], 10),
            "buyer_country": pick(_COUNTRY_VOCAB, s.o_country[row]),
            "created_at": instants(s.o_created[row]),
            "paid_at": instants(paid_at, valid=paid_at >= 0),
            "shipping_fee": decimals(s.o_shipping[row]),
            "cancelled_at": instants(cancelled_at, valid=cancelled_at >= 0),
            "updated_at": instants(updated),
        },
    )
    return Rows(orders, day)


def lines_table(world: World, s: Sales, d: int, tag: str) -> Rows:
    """A cart line's source_id is its cart add, numbered like `cart_adds_table` numbers it.
    Lines come with their order's creation."""
    cart_ids = ids(f"cart_{tag}_", np.arange(1, len(s.cart.stype) + 1), 8)
    source = world.source_ids(s.l_stype, np.where(s.l_cart >= 0, s.l_cart, s.l_item), cart_ids)
    lines = table(
        "order_lines",
        {
            "line_id": ids(f"line_{tag}_", np.arange(1, len(s.l_order) + 1), 8),
            "order_id": ids(f"ord_{tag}_", s.l_order + 1, 8),
            "sku_id": pick(world.sku_ids, s.l_sku),
            "product_id": pick(world.prod_ids, s.l_prod),
            "quantity": pa.array(s.l_qty, pa.int64()),
            "unit_price": decimals(s.l_price),
            "seller_discount": decimals(s.l_seller),
            "platform_discount": decimals(s.l_platform),
            "source_type": pick(_SOURCE_VOCAB, s.l_stype),
            "source_id": source,
            "commission_rate": decimals(np.maximum(s.l_rate, 0), RATE, valid=s.l_rate >= 0),
        },
    )
    return Rows(lines, np.full(lines.num_rows, d))


def cart_adds_table(world: World, rng, s: Sales, d: int, tag: str) -> Rows:
    """The adds the day's cart lines checked out (delivered with the sale, though added up to
    40 days earlier), then adds of the day never checked out (those drawn before the day
    began are left out: they belonged in an earlier drop)."""
    t0 = world.start_us + d * DAY
    n_abandoned = int(0.12 * world.scale) + 2
    shop = rng.choice(N_SHOPS, n_abandoned, p=SHOP_WEIGHT)
    before = t0 + (rng.random(n_abandoned) * DAY).astype(np.int64)
    lag = MINUTE + rng.exponential(3 * HOUR, n_abandoned).astype(np.int64)
    abandoned = cart_origins(world, rng, shop, before, lag)
    today = abandoned.added >= t0
    abandoned = CartOrigins(*(a[today] for a in vars(abandoned).values()))
    shop = shop[today]
    country = _buyer_countries(rng, shop, np.full(len(shop), -1))
    cart_lines = np.flatnonzero(s.l_cart >= 0)
    buyer = np.concatenate([s.o_buyer[s.l_order[cart_lines]], _people(rng, world, country)])
    prod = np.concatenate([s.cart.product, abandoned.product])
    sku = np.concatenate([s.l_sku[cart_lines], world.sku_pick(rng, abandoned.product)])
    stype = np.concatenate([s.cart.stype, abandoned.stype])
    item = np.concatenate([s.cart.item, abandoned.item])
    adds = table(
        "cart_adds",
        {
            "cart_add_id": ids(f"cart_{tag}_", np.arange(1, len(prod) + 1), 8),
            "buyer_id": ids("buyer_", buyer, 10),
            "sku_id": pick(world.sku_ids, sku),
            "product_id": pick(world.prod_ids, prod),
            "added_at": instants(np.concatenate([s.cart.added, abandoned.added])),
            "source_type": pick(_SOURCE_VOCAB, stype),
            "source_id": world.source_ids(stype, item),
        },
    )
    return Rows(adds, np.full(adds.num_rows, d))


def refunds_and_settlements(world: World, rng, s: Sales, d: int, tag: str) -> tuple[Rows, Rows]:
    """Refund requests on paid lines and commission settlements of rated paid lines, however
    far in the future they happen (each row waits for its day's drop).

    A line's succeeded refunds never exceed what was paid for its merchandise. A
    settlement is the estimated commission, except 0 when the line was refunded or its
    order cancelled before settlement, and now and then a platform adjustment.
    """
    n = len(s.l_order)
    paid = s.o_paid[s.l_order]
    cancelled = s.o_cancelled[s.l_order]
    merch = s.l_qty * s.l_price - s.l_seller - s.l_platform
    refundable = (paid >= 0) & (merch > 0)
    r = rng.random(n)
    on_cancel = refundable & (cancelled >= 0) & (r < 0.7)
    asked = refundable & (cancelled < 0) & (r < 0.07)
    line = np.flatnonzero(on_cancel | asked)
    k = len(line)
    by_cancel = on_cancel[line]
    requested = np.where(
        by_cancel,
        cancelled[line] + rng.integers(0, 60, k) * SEC,
        paid[line] + 10 * MINUTE + rng.exponential(3 * DAY, k).astype(np.int64),
    )
    full = by_cancel | (rng.random(k) < 0.65) | (merch[line] < 2)
    amount = np.where(full, merch[line], 1 + (rng.random(k) * (merch[line] - 1)).astype(np.int64))
    outcome = np.where(by_cancel, SUCCEEDED, rng.choice(4, k, p=[0.14, 0.62, 0.12, 0.12]))
    decided = (
        requested
        + MINUTE
        + np.where(
            by_cancel,
            rng.exponential(2 * HOUR, k),
            rng.exponential(2 * DAY, k),
        ).astype(np.int64)
    )
    # a second request for the rest of a partly refunded line
    again = np.flatnonzero((amount < merch[line]) & (rng.random(k) < 0.35))
    j = len(again)
    requested2 = np.maximum(decided[again], requested[again]) + HOUR
    requested2 += rng.exponential(DAY, j).astype(np.int64)
    line = np.concatenate([line, line[again]])
    requested = np.concatenate([requested, requested2])
    amount = np.concatenate([amount, merch[line[k:]] - amount[again]])
    outcome = np.concatenate([outcome, rng.choice(4, j, p=[0.14, 0.62, 0.12, 0.12])])
    decided = np.concatenate(
        [decided, requested2 + MINUTE + rng.exponential(2 * DAY, j).astype(np.int64)]
    )
    refund_no = np.arange(len(line))

    # versions: the final state (a pending outcome is never decided), and the pending one
    # before it whenever the decision came on a later day (the state at the end of the
    # request's day), else for half of them
    decided_later = world.day_of(decided) > world.day_of(requested)
    shown_pending = np.flatnonzero(
        (outcome != PENDING) & (decided_later | (rng.random(len(line)) < 0.5))
    )
    row = np.concatenate([refund_no, shown_pending])
    status = np.concatenate([outcome, np.full(len(shown_pending), PENDING)])
    updated = np.where(status == PENDING, requested[row], decided[row])
    order = _with_duplicates(rng, len(row), len(refund_no))
    day = world.day_of(updated[order], d)
    by_day = _by_delivery(day)
    order, day = order[by_day], day[by_day]
    row, status, updated = row[order], status[order], updated[order]
    succeeded = status == SUCCEEDED
    refunds = table(
        "refunds",
        {
            "refund_id": ids(f"rfd_{tag}_", row + 1, 8),
            "line_id": ids(f"line_{tag}_", line[row] + 1, 8),
            "requested_at": instants(requested[row]),
            "status": pick(vocabulary(REFUND_STATUSES), status),
            "succeeded_at": instants(np.where(succeeded, decided[row], 0), valid=succeeded),
            "amount": decimals(amount[row]),
            "updated_at": instants(updated),
        },
    )

    refunded_at = np.full(n, NEVER)
    ok = outcome == SUCCEEDED
    np.minimum.at(refunded_at, line[ok], decided[ok])
    rated = np.flatnonzero((s.l_rate >= 0) & (paid >= 0))
    k = len(rated)
    delay = np.where(
        rng.random(k) < 0.12,
        HOUR + (rng.random(k) * 7 * HOUR).astype(np.int64),
        7 * DAY + (rng.random(k) * 14 * DAY).astype(np.int64),
    )
    settled = paid[rated] + delay + rng.integers(0, 3600, k) * SEC
    base = s.l_qty[rated] * s.l_price[rated] - s.l_seller[rated]
    estimate = (base * s.l_rate[rated] + 5000) // 10000  # round half up, in cents
    adjusted = np.maximum(estimate + rng.integers(-200, 201, k), 0)
    amount = np.where(rng.random(k) < 0.04, adjusted, estimate)
    undone = ((cancelled[rated] >= 0) & (cancelled[rated] <= settled)) | (
        refunded_at[rated] <= settled
    )
    amount = np.where(undone, 0, amount)
    settled_day = world.day_of(settled, d)
    by_day = _by_delivery(settled_day)
    settlements = table(
        "commission_settlements",
        {
            "settlement_id": ids(f"stl_{tag}_", by_day + 1, 8),
            "line_id": ids(f"line_{tag}_", rated[by_day] + 1, 8),
            "account_id": pick(world.acc_ids, s.l_payee[rated[by_day]]),
            "settled_at": instants(settled[by_day]),
            "amount": decimals(amount[by_day]),
        },
    )
    return Rows(refunds, day), Rows(settlements, settled_day[by_day])


def room_tables(world: World, rng, d: int, tag: str) -> tuple[Rows, Rows]:
    """Viewer enter/leave events and product impressions of the LIVEs started on day `d`,
    over their whole air time; what happens after midnight comes with the next day's drop.

    Each viewer's events are strictly increasing instants inside the LIVE, alternating
    enter/leave from an enter; some viewers re-enter, some are still inside at the end.
    Impressions happen while a viewer is inside, on products of the bag. Rows of a drop
    come by LIVE and viewer (not sorted by time: ordering is the reader's job, and costs
    here).
    """
    lives = world.lives_of_day(d)
    start, end = world.live_start[lives], world.live_end[lives]
    span = end - start
    weight = world.live_pop[lives] * np.sqrt(span / HOUR)
    total = 0.45 * world.scale + 40 * len(lives)
    per_live = np.maximum(3, np.round(total * weight / weight.sum())).astype(np.int64)
    per_live = np.minimum(per_live, PEOPLE_PER_COUNTRY)
    v = int(per_live.sum())
    v_live = np.repeat(np.arange(len(lives)), per_live)
    rank = np.arange(v) - np.repeat(np.cumsum(per_live) - per_live, per_live)
    market = world.live_region[lives][v_live]
    country = np.where(rng.random(v) < 0.75, market, _foreign(rng, market))
    # distinct viewers within a LIVE: consecutive numbers from a random offset
    offset = rng.integers(0, PEOPLE_PER_COUNTRY, len(lives))
    viewer = country * PEOPLE_PER_COUNTRY + (offset[v_live] + rank) % PEOPLE_PER_COUNTRY

    sessions = rng.choice([1, 2, 3], v, p=[0.7, 0.21, 0.09])
    stays = rng.random(v) < 0.07
    events = 2 * sessions - stays
    a = start[v_live] + (rng.random(v) * 0.95 * span[v_live]).astype(np.int64)
    b = a + ((end[v_live] - a) * (0.1 + 0.9 * rng.random(v))).astype(np.int64)
    e = int(events.sum())
    owner = np.repeat(np.arange(v), events)
    k = np.arange(e) - np.repeat(np.cumsum(events) - events, events)
    # events + 1 positive gaps per viewer, scaled into [a, b]: strictly increasing instants
    gaps = rng.exponential(1.0, e + v)
    gap_start = np.cumsum(events + 1) - (events + 1)
    cum = np.cumsum(gaps)
    before = cum[gap_start] - gaps[gap_start]
    total_gap = cum[gap_start + events] - before
    frac = (cum[gap_start[owner] + k] - before[owner]) / total_gap[owner]
    at = a[owner] + ((b - a - events)[owner] * frac).astype(np.int64) + k
    is_enter = k % 2 == 0

    # sessions (enter → next event, or the LIVE's end) for impressions
    s_idx = np.flatnonzero(is_enter)
    has_leave = k[s_idx] + 1 < events[owner[s_idx]]
    s_end = np.where(has_leave, at[np.minimum(s_idx + 1, e - 1)], end[v_live[owner[s_idx]]])
    s_live = v_live[owner[s_idx]]
    s_first, s_count = (
        np.searchsorted(s_live, np.arange(len(lives))),
        np.bincount(s_live, minlength=len(lives)),
    )
    ratio = 0.3 + 2.7 * rng.random(len(lives))
    n_imp = np.where(world.live_bag_count[lives] > 0, np.round(s_count * ratio), 0).astype(np.int64)
    i_live = np.repeat(np.arange(len(lives)), n_imp)
    i_sess = uniform_in(rng, s_first[i_live], s_count[i_live])
    i_at = at[s_idx[i_sess]] + (rng.random(len(i_live)) * (s_end - at[s_idx])[i_sess]).astype(
        np.int64
    )
    g_live = lives[i_live]
    i_prod = world.bag_prod[
        uniform_in(rng, world.live_bag_start[g_live], world.live_bag_count[g_live])
    ]
    i_surface = rng.choice(len(SURFACES), len(i_live), p=[0.5, 0.35, 0.15])
    i_viewer = viewer[owner[s_idx[i_sess]]]

    e_day = world.day_of(at, d)
    ev = _by_delivery(e_day)
    room = table(
        "live_room_events",
        {
            "event_id": ids(f"evt_{tag}_", ev + 1, 9),
            "live_id": pick(world.live_ids, lives[v_live[owner[ev]]]),
            "viewer_id": ids("viewer_", viewer[owner[ev]], 10),
            "event_type": pick(vocabulary(EVENT_TYPES), np.where(is_enter[ev], 0, 1)),
            "occurred_at": instants(at[ev]),
            "viewer_country": pick(_COUNTRY_VOCAB, country[owner[ev]]),
        },
    )
    i_day = world.day_of(i_at, d)
    im = _by_delivery(i_day)
    impressions = table(
        "product_impressions",
        {
            "impression_id": ids(f"imp_{tag}_", im + 1, 9),
            "live_id": pick(world.live_ids, g_live[im]),
            "viewer_id": ids("viewer_", i_viewer[im], 10),
            "product_id": pick(world.prod_ids, i_prod[im]),
            "surface": pick(vocabulary(SURFACES), i_surface[im]),
            "occurred_at": instants(i_at[im]),
        },
    )
    return Rows(room, e_day[ev]), Rows(impressions, i_day[im])


def sales_tables(world: World, seed: int, d: int, day: date) -> Iterator[tuple[str, Rows]]:
    """The cohort's sales tables, each yielded as soon as it is built (so it can be written
    while the next is computed)."""
    rng = np.random.default_rng([seed, 1, d])
    t0 = world.start_us + d * DAY
    tag = day.strftime("%Y%m%d")
    sales = make_sales(world, rng, t0)
    yield "order_lines", lines_table(world, sales, d, tag)
    yield "orders", orders_table(world, rng, sales, d, tag)
    yield "cart_adds", cart_adds_table(world, rng, sales, d, tag)
    refunds, settlements = refunds_and_settlements(world, rng, sales, d, tag)
    yield "refunds", refunds
    yield "commission_settlements", settlements


def live_room_tables(world: World, seed: int, d: int, day: date) -> dict[str, Rows]:
    """The cohort's LIVE-room tables, from a generator of their own (computed alongside
    sales)."""
    rng = np.random.default_rng([seed, 2, d])
    room, impressions = room_tables(world, rng, d, day.strftime("%Y%m%d"))
    return {"live_room_events": room, "product_impressions": impressions}
