"""The marketplace that exists before anyone buys: shops, accounts, bindings, catalog,
LIVEs with their shopping bags, videos with their products.

The catalog and the accounts are drawn once from the seed. LIVEs and videos are drawn day
by day, each day from its own generator (seed, day) and numbered on from the days before
it, so the first N days of a world are the same whatever the length of the run: a run
can be extended day by day (`compass simulate --append`). Everything is held as numpy
arrays of integer indices, so each simulated day can sample orders, cart adds and viewers
from it without touching strings. The special cases that the metrics must handle are
placed on purpose on fixed days (named in `SHOP_ACCOUNTS` and `SCENARIO_LIVES`), so they
exist for any seed instead of by luck.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from compass_pipeline.simulate.columns import (
    DAY,
    HOUR,
    MINUTE,
    SEC,
    decimals,
    ids,
    instants,
    pick,
    table,
    vocabulary,
)

COUNTRIES = ("US", "GB", "SG", "CA", "IE", "MX", "DE", "FR", "AU", "MY", "JP", "PH")
CURRENCIES = ("USD", "GBP", "SGD")
# Currency of a LIVE's market: a LIVE sells in one currency, so its bag holds the products
# of shops of that currency only. Markets without shops of their own (CA, IE) sell the
# neighbouring market's shops, which gives LIVEs whose region differs from the shops'.
MARKET_CURRENCY = {"US": 0, "CA": 0, "GB": 1, "IE": 1, "SG": 2}
COUNTRY_CURRENCY = np.array([MARKET_CURRENCY.get(c, 0) for c in COUNTRIES])

# shop_id, name, region, currency, timezone, share of orders
SHOPS = (
    ("shop_us_west", "Sunset Home Goods", "US", "USD", "America/Los_Angeles", 0.27),
    ("shop_us_east", "Brooklyn Beauty Lab", "US", "USD", "America/New_York", 0.23),
    ("shop_us_central", "Prairie Outdoor Co", "US", "USD", "America/Chicago", 0.14),
    ("shop_gb", "Thames Gadget House", "GB", "GBP", "Europe/London", 0.21),
    ("shop_sg", "Lion City Pantry", "SG", "SGD", "Asia/Singapore", 0.15),
)
N_SHOPS = len(SHOPS)
SHOP_REGION = np.array([COUNTRIES.index(s[2]) for s in SHOPS])
SHOP_CURRENCY = np.array([CURRENCIES.index(s[3]) for s in SHOPS])
SHOP_WEIGHT = np.array([s[5] for s in SHOPS])
# the shops of each currency, padded with -1: CURRENCY_SHOPS[c, :CURRENCY_SHOP_COUNT[c]]
CURRENCY_SHOP_COUNT = np.array([(c == SHOP_CURRENCY).sum() for c in range(len(CURRENCIES))])
CURRENCY_SHOPS = np.array(
    [
        np.pad(np.flatnonzero(c == SHOP_CURRENCY), (0, N_SHOPS - n), constant_values=-1)
        for c, n in enumerate(CURRENCY_SHOP_COUNT)
    ]
)

# order_lines.source_type / cart_adds.source_type, by code
SOURCE_TYPES = (
    "live",
    "video",
    "cart",
    "showcase",
    "mall",
    "campaign_page",
    "campaign_channel",
    "recommendation",
    "im_message",
    "search",
    "other",
)
LIVE, VIDEO, CART, SHOWCASE, MALL, RECOMMENDATION = 0, 1, 2, 3, 4, 7

OFFICIAL, CHANNEL, AFFILIATE = 0, 1, 2
ACCOUNT_TYPES = ("official", "channel", "affiliate")
BINDING_TYPES = ("official_integrated", "channel")

# Scenario days are fixed days of the run, never fractions of its length (which would move
# them as the run grows); a scenario on a day not simulated yet does not exist yet.
LATE_BIND_DAY = 2  # sunsethome_outlet is bound at 06:00 UTC after hosting LIVEs unbound
UNBIND_DAY = 3  # thames_tech is unbound at 15:30 UTC, between two of its LIVEs

# A binding time: None = long before the simulation; (day, hour, minute) = that UTC time
# of that day of the run (mid-day, so refreshes straddle it).
# handle, type, home shop, bindings as (shop, binding type, bound, unbound)
SHOP_ACCOUNTS = (
    ("sunsethome_official", OFFICIAL, 0, ((0, 0, None, None),)),
    ("sunsethome_deals", CHANNEL, 0, ((0, 1, None, None),)),
    # bound at 06:00 UTC after hosting LIVEs unbound (dashboard: bound_after_refresh)
    ("sunsethome_outlet", CHANNEL, 0, ((0, 1, (LATE_BIND_DAY, 6, 0), None),)),
    ("brooklynbeauty_official", OFFICIAL, 1, ((1, 0, None, None),)),
    ("brooklynbeauty_live", CHANNEL, 1, ((1, 1, None, None),)),
    # a channel account bound with the official type: never a matching binding (not_bound)
    ("brooklynbeauty_club", CHANNEL, 1, ((1, 0, None, None),)),
    ("prairie_official", OFFICIAL, 2, ((2, 0, None, None),)),
    ("prairie_trail", CHANNEL, 2, ((2, 1, None, None),)),
    ("thames_official", OFFICIAL, 3, ((3, 0, None, None),)),
    # unbound mid-day: refreshes after it see `unbound`
    ("thames_tech", CHANNEL, 3, ((3, 1, None, (UNBIND_DAY, 15, 30)),)),
    ("lioncity_official", OFFICIAL, 4, ((4, 0, None, None),)),
    # bound and unbound within the run
    ("lioncity_makan", CHANNEL, 4, ((4, 1, (1, 6, 0), (4, 21, 0)),)),
    # one channel account working for two shops: gmv_own_shops covers both
    ("usdeals_network", CHANNEL, 0, ((0, 1, None, None), (2, 1, None, None))),
)
N_SHOP_ACCOUNTS = len(SHOP_ACCOUNTS)
SHOP_ACCOUNT_INDEX = {a[0]: i for i, a in enumerate(SHOP_ACCOUNTS)}
# shop accounts grouped by home shop (their showcases sell that shop's products)
_HOME = np.array([a[2] for a in SHOP_ACCOUNTS])
HOME_ACCOUNTS = np.argsort(_HOME, kind="stable")
HOME_ACCOUNT_START = np.searchsorted(_HOME[HOME_ACCOUNTS], np.arange(N_SHOPS), side="left")
HOME_ACCOUNT_COUNT = np.bincount(_HOME, minlength=N_SHOPS)

CATEGORIES = ("home", "beauty", "outdoor", "electronics", "food", "fashion", "toys")
_ADJECTIVES = ("Classic", "Deluxe", "Mini", "Eco", "Pro", "Soft", "Travel", "Smart", "Cozy")
_NOUNS = (
    "Water Bottle",
    "Face Serum",
    "Camping Lantern",
    "Phone Stand",
    "Snack Box",
    "Tote Bag",
    "Desk Lamp",
    "Lip Tint",
    "Throw Blanket",
    "Earbuds",
    "Tea Set",
    "Puzzle",
)
_LIVE_TITLES = (
    "Flash deals",
    "New arrivals",
    "Unboxing and Q&A",
    "Weekend sale",
    "Live demo",
    "Late-night clearance",
)


def epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * SEC


def group_starts(sorted_keys: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR offsets and counts of groups 0..n_groups-1 in an array sorted by group."""
    starts = np.searchsorted(sorted_keys, np.arange(n_groups), side="left")
    ends = np.searchsorted(sorted_keys, np.arange(n_groups), side="right")
    return starts, ends - starts


def uniform_in(rng: np.random.Generator, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One uniformly chosen position of each group [start, start + count)."""
    return starts + (rng.random(len(starts)) * counts).astype(np.int64)


@dataclass
class ShopTimeIndex:
    """Entries (item × product) sorted by shop and item time, to find, for a shop and an
    instant, the shop's latest item (LIVE or video) at or before it and one of its products.
    """

    key: np.ndarray
    item: np.ndarray
    product: np.ndarray
    run_first: np.ndarray

    @classmethod
    def build(cls, shop, item, product, item_time) -> ShopTimeIndex:
        # ceil: a key at or before the query's whole second is at or before the instant
        seconds = -(-item_time[item] // SEC)
        order = np.lexsort((product, item, seconds, shop))
        shop, item, product, seconds = shop[order], item[order], product[order], seconds[order]
        key = (shop.astype(np.int64) << 34) | seconds
        new_run = np.ones(len(key), dtype=bool)
        new_run[1:] = (item[1:] != item[:-1]) | (shop[1:] != shop[:-1])
        run_first = np.maximum.accumulate(np.where(new_run, np.arange(len(key)), 0))
        return cls(key, item, product, run_first)

    def latest(self, rng, shop, at_us) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, product, found) of each query; not found: the shop has no item by then."""
        if not len(self.key):
            nothing = np.zeros(len(shop), np.int64)
            return nothing, nothing, np.zeros(len(shop), bool)
        query = (shop.astype(np.int64) << 34) | (at_us // SEC)
        last = np.searchsorted(self.key, query, side="right") - 1
        safe = np.maximum(last, 0)
        found = (last >= 0) & ((self.key[safe] >> 34) == shop)
        first = self.run_first[safe]
        chosen = first + (rng.random(len(shop)) * (safe - first + 1)).astype(np.int64)
        return self.item[chosen], self.product[chosen], found


def lives_per_day(scale: int) -> int:
    return int(np.clip(round(scale / 150), 10, 600))  # at least the scenario slots


def videos_per_day(scale: int) -> int:
    return int(np.clip(round(scale / 250), 4, 300))


@dataclass
class World:
    """Integer-indexed arrays of everything static; string ids only for writing.

    LIVEs and videos are numbered day after day, a fixed number a day (`lives_of_day`), so
    an index, and the id written from it, means the same LIVE in a run of any length.
    """

    start_us: int
    days: int
    scale: int
    lives_per_day: int
    videos_per_day: int
    # products, contiguous by shop; popularity as a per-shop CDF offset by the shop index
    prod_shop: np.ndarray
    prod_cdf: np.ndarray
    prod_sku_start: np.ndarray
    prod_sku_count: np.ndarray
    sku_price: np.ndarray
    # accounts: shop accounts first, then affiliates
    acc_type: np.ndarray
    acc_region: np.ndarray
    acc_home: np.ndarray
    n_affiliates: int
    # LIVEs
    live_host: np.ndarray
    live_region: np.ndarray
    live_start: np.ndarray
    live_end: np.ndarray
    live_pop: np.ndarray
    live_title: np.ndarray
    bag_live: np.ndarray
    bag_prod: np.ndarray
    live_bag_start: np.ndarray
    live_bag_count: np.ndarray
    bag_live_shop: np.ndarray
    live_index: ShopTimeIndex
    # videos
    video_poster: np.ndarray
    video_pub: np.ndarray
    video_shoppable: np.ndarray
    video_sells: np.ndarray
    vp_video: np.ndarray
    vp_prod: np.ndarray
    vp_video_shop: np.ndarray
    video_index: ShopTimeIndex
    # every version of every binding, and the day whose drop delivers it
    bindings: pa.Table
    binding_day: np.ndarray
    # ids, for writing
    shop_ids: pa.Array
    prod_ids: pa.Array
    sku_ids: pa.Array
    acc_ids: pa.Array
    live_ids: pa.Array
    video_ids: pa.Array
    countries: pa.Array = field(default_factory=lambda: vocabulary(COUNTRIES))
    tables: dict[str, pa.Table] = field(default_factory=dict)  # shops, accounts, catalog

    def __post_init__(self) -> None:
        # the ids a source_id can name, LIVEs then videos then accounts
        self._refs = pa.concat_arrays([self.live_ids, self.video_ids, self.acc_ids])

    @property
    def affiliate_start(self) -> int:
        return N_SHOP_ACCOUNTS

    def day_of(self, micros: np.ndarray, first: int = 0) -> np.ndarray:
        """The day (0 = `start`) whose drop delivers something that happened at `micros`:
        the UTC day it happened, and never before day `first` (what happened before the
        simulation is in the first drop that has it)."""
        return np.maximum((np.asarray(micros) - self.start_us) // DAY, first).astype(np.int64)

    def lives_of_day(self, d: int) -> np.ndarray:
        return np.arange(d * self.lives_per_day, (d + 1) * self.lives_per_day)

    def catalog_pick(self, rng, shop) -> np.ndarray:
        """A product of each shop, popular ones more often."""
        return np.searchsorted(self.prod_cdf, shop + rng.random(len(shop)), side="right")

    def sku_pick(self, rng, prod) -> np.ndarray:
        return uniform_in(rng, self.prod_sku_start[prod], self.prod_sku_count[prod])

    def bag_pick(self, rng, live, shop) -> np.ndarray:
        """A product of `shop` in each LIVE's bag (the pair must exist)."""
        key = live.astype(np.int64) * N_SHOPS + shop
        lo = np.searchsorted(self.bag_live_shop, key, side="left")
        hi = np.searchsorted(self.bag_live_shop, key, side="right")
        return self.bag_prod[uniform_in(rng, lo, hi - lo)]

    def video_product_pick(self, rng, video, shop) -> np.ndarray:
        key = video.astype(np.int64) * N_SHOPS + shop
        lo = np.searchsorted(self.vp_video_shop, key, side="left")
        hi = np.searchsorted(self.vp_video_shop, key, side="right")
        return self.vp_prod[uniform_in(rng, lo, hi - lo)]

    def affiliate_pick(self, rng, n: int) -> np.ndarray:
        return self.affiliate_start + rng.integers(0, self.n_affiliates, n)

    def showcase_owner_pick(self, rng, shop) -> np.ndarray:
        """Whose showcase sold: mostly affiliates, else one of the shop's own accounts."""
        own = HOME_ACCOUNTS[uniform_in(rng, HOME_ACCOUNT_START[shop], HOME_ACCOUNT_COUNT[shop])]
        return np.where(rng.random(len(shop)) < 0.75, self.affiliate_pick(rng, len(shop)), own)

    def creator_of(self, stype, item) -> np.ndarray:
        """The account behind a LIVE, video or showcase source; -1 for other sources."""
        creator = np.where(stype == SHOWCASE, item, -1)
        for source, owner in ((LIVE, self.live_host), (VIDEO, self.video_poster)):
            sel = stype == source
            creator[sel] = owner[item[sel]]
        return creator

    def source_ids(self, stype, item, cart_ids: pa.Array | None = None) -> pa.Array:
        """The source_id strings of (source type, index) pairs; null for types without one.

        `item` indexes LIVEs, videos, accounts, or `cart_ids` by the source type.
        """
        refs = self._refs if cart_ids is None else pa.concat_arrays([self._refs, cart_ids])
        n_live, n_video = len(self.live_ids), len(self.video_ids)
        index = np.select(
            [stype == LIVE, stype == VIDEO, stype == SHOWCASE, stype == CART],
            [item, n_live + item, n_live + n_video + item, len(self._refs) + item],
            -1,
        )
        if cart_ids is None:
            index[stype == CART] = -1
        return pick(refs, index, valid=index >= 0)

    def drop_tables(self, d: int) -> dict[str, pa.Table]:
        """What day `d`'s drop holds of the LIVEs, videos and bindings.

        A LIVE arrives the day it starts, still without `ended_at` if it is on the air at
        the day's end, and again with it the day it ends (the newer version); its bag comes
        with its first row. Videos and their products come the day they are published;
        each binding version the day of its `updated_at`.
        """
        t1 = self.start_us + (d + 1) * DAY
        today = self.lives_of_day(d)
        yesterday = self.lives_of_day(d - 1) if d > 0 else today[:0]
        ended_today = yesterday[self.live_end[yesterday] >= t1 - DAY]
        lives = np.concatenate([ended_today, today])
        ended = np.concatenate([np.ones(len(ended_today), bool), self.live_end[today] < t1])
        bag = slice(
            self.live_bag_start[today[0]],
            self.live_bag_start[today[-1]] + self.live_bag_count[today[-1]],
        )
        first_video, end_video = d * self.videos_per_day, (d + 1) * self.videos_per_day
        vp = slice(*np.searchsorted(self.vp_video, [first_video, end_video]))
        videos = slice(first_video, end_video)
        return {
            "account_bindings": self.bindings.filter(pa.array(self.binding_day == d)),
            "live_sessions": table(
                "live_sessions",
                {
                    "live_id": pick(self.live_ids, lives),
                    "account_id": pick(self.acc_ids, self.live_host[lives]),
                    "region": pick(self.countries, self.live_region[lives]),
                    "title": pick(vocabulary(_LIVE_TITLES), self.live_title[lives]),
                    "started_at": instants(self.live_start[lives]),
                    "ended_at": instants(self.live_end[lives], valid=ended),
                },
            ),
            "live_products": table(
                "live_products",
                {
                    "live_id": pick(self.live_ids, self.bag_live[bag]),
                    "product_id": pick(self.prod_ids, self.bag_prod[bag]),
                },
            ),
            "videos": table(
                "videos",
                {
                    "video_id": self.video_ids[videos],
                    "account_id": pick(self.acc_ids, self.video_poster[videos]),
                    "published_at": instants(self.video_pub[videos]),
                    "is_shoppable": pa.array(self.video_shoppable[videos]),
                },
            ),
            "video_products": table(
                "video_products",
                {
                    "video_id": pick(self.video_ids, self.vp_video[vp]),
                    "product_id": pick(self.prod_ids, self.vp_prod[vp]),
                },
            ),
        }


def _binding_time(start_us: int, spec) -> int:
    day, hour, minute = spec
    return start_us + day * DAY + hour * HOUR + minute * MINUTE


def _catalog(rng, scale: int):
    per_shop = int(np.clip(scale // 25, 12, 3000))
    n = per_shop * N_SHOPS
    shop = np.repeat(np.arange(N_SHOPS), per_shop)
    glob = rng.random(n) < 0.65
    glob[::per_shop] = True  # every shop has something a global-view LIVE can carry
    weight = rng.lognormal(0.0, 1.0, n)
    csum = np.cumsum(weight)
    first = np.arange(N_SHOPS) * per_shop
    before = csum[first] - weight[first]
    total = csum[first + per_shop - 1] - before
    cdf = shop + (csum - before[shop]) / total[shop]
    cdf[first + per_shop - 1] = shop[first + per_shop - 1] + 1.0
    sku_count = rng.choice([1, 2, 3, 4], n, p=[0.45, 0.3, 0.15, 0.1])
    sku_prod = np.repeat(np.arange(n), sku_count)
    sku_start = np.cumsum(sku_count) - sku_count
    base = np.clip(rng.lognormal(np.log(2400), 0.8, n), 199, 49_999).astype(np.int64)
    base = np.where(SHOP_CURRENCY[shop] == 2, base * 13 // 10, base)  # SGD prices run higher
    variant = 1.0 + 0.1 * (np.arange(len(sku_prod)) - sku_start[sku_prod])
    price = (base[sku_prod] * variant).astype(np.int64) // 50 * 50 + 49  # ends in .49/.99
    category = rng.integers(0, len(CATEGORIES), n)
    title = pa.compute.binary_join_element_wise(
        pick(vocabulary(_ADJECTIVES), rng.integers(0, len(_ADJECTIVES), n)),
        pick(vocabulary(_NOUNS), rng.integers(0, len(_NOUNS), n)),
        " ",
    )
    return shop, glob, cdf, sku_prod, sku_start, sku_count, price, category, title


# LIVE slots given a fixed host, start, length or bag on a fixed day, so every phenomenon
# exists: (day, slot, host handle or None, start as µs after 00:00 UTC, length µs, bag mode)
# bag mode: 0 normal, 1 globally sellable only, 2 empty.
SCENARIO_LIVES = (
    # crosses UTC midnight (and London's)
    (0, 0, "usdeals_network", 22 * HOUR + 30 * MINUTE, 3 * HOUR, 0),
    # 22:30 in Los Angeles: crosses the shop's local midnight
    (0, 1, "sunsethome_official", 6 * HOUR + 30 * MINUTE, 3 * HOUR, 1),
    # hosted the evening before its binding takes effect at 06:00 UTC, and that night
    (LATE_BIND_DAY - 1, 2, "sunsethome_outlet", 20 * HOUR, 3 * HOUR, 0),
    (LATE_BIND_DAY, 3, "sunsethome_outlet", 1 * HOUR, 2 * HOUR, 0),
    (1, 4, "brooklynbeauty_club", 14 * HOUR, 2 * HOUR, 0),
    (UNBIND_DAY - 1, 5, "thames_tech", 19 * HOUR, 2 * HOUR, 0),
    (UNBIND_DAY + 1, 6, "thames_tech", 19 * HOUR, 2 * HOUR, 1),
    (2, 7, None, None, None, 2),  # a LIVE with an empty bag
    (2, 8, None, None, None, 1),
)
# Every day, a LIVE that starts in the day's last three hours and lasts four to six: some
# LIVE is on the air at the end of every drop, whatever day the run stops.
NIGHTLY_SLOT = 9


def _shop_of_currency(rng, currency: np.ndarray) -> np.ndarray:
    count = CURRENCY_SHOP_COUNT[currency]
    return CURRENCY_SHOPS[currency, (rng.random(len(currency)) * count).astype(np.int64)]


@dataclass
class _Accounts:
    type_: np.ndarray
    region: np.ndarray
    home: np.ndarray
    n_affiliates: int


@dataclass
class _Catalog:
    shop: np.ndarray
    cdf: np.ndarray
    glob_idx: np.ndarray
    glob_start: np.ndarray
    glob_count: np.ndarray


def _day_lives(rng, d: int, day_us: int, n: int, acc: _Accounts, cat: _Catalog):
    """Day `d`'s LIVEs (numbered from `n * d`): schedule, host and bag.

    The bag holds products of the host's shop (or a random shop of the LIVE's currency for
    an affiliate), a fifth of them from any shop of that currency.
    """
    kind = rng.choice(3, n, p=[0.3, 0.25, 0.45])
    officials = np.flatnonzero(acc.type_[:N_SHOP_ACCOUNTS] == OFFICIAL)
    channels = np.flatnonzero(acc.type_[:N_SHOP_ACCOUNTS] == CHANNEL)
    host = np.select(
        [kind == OFFICIAL, kind == CHANNEL],
        [
            officials[rng.choice(len(officials), n, p=SHOP_WEIGHT[acc.home[officials]])],
            channels[rng.integers(0, len(channels), n)],
        ],
        N_SHOP_ACCOUNTS + rng.integers(0, acc.n_affiliates, n),
    )
    offset = rng.integers(0, 24 * 60, n) * MINUTE + rng.integers(0, 60, n) * SEC
    r = rng.random(n)
    length = (
        np.where(
            r < 0.1,
            rng.integers(10, 40, n) * MINUTE,
            np.where(
                r < 0.8, rng.integers(60, 240, n) * MINUTE, rng.integers(240, 540, n) * MINUTE
            ),
        )
        + rng.integers(0, 60, n) * SEC
    )
    bag_mode = np.where(rng.random(n) < 0.3, 1, 0)
    bag_mode[rng.random(n) < 0.01] = 2
    offset[NIGHTLY_SLOT] = 21 * HOUR + rng.integers(0, 3 * 3600) * SEC
    length[NIGHTLY_SLOT] = 4 * HOUR + rng.integers(0, 2 * 3600) * SEC
    bag_mode[NIGHTLY_SLOT] = 0
    for f_day, slot, handle, f_offset, f_length, f_mode in SCENARIO_LIVES:
        if f_day != d:
            continue
        if handle is not None:
            host[slot] = SHOP_ACCOUNT_INDEX[handle]
        if f_offset is not None:
            offset[slot], length[slot] = f_offset, f_length
        bag_mode[slot] = f_mode
    start = day_us + offset
    region = acc.region[host]
    currency = COUNTRY_CURRENCY[region]
    home = np.where(acc.home[host] >= 0, acc.home[host], _shop_of_currency(rng, currency))
    size = np.where(bag_mode == 2, 0, np.minimum(1 + rng.poisson(5, n), 25))
    e_live = np.repeat(np.arange(n), size)
    other = _shop_of_currency(rng, currency[e_live])
    e_shop = np.where(rng.random(len(e_live)) < 0.8, home[e_live], other)
    catalog = np.searchsorted(cat.cdf, e_shop + rng.random(len(e_live)), side="right")
    globals_ = cat.glob_idx[uniform_in(rng, cat.glob_start[e_shop], cat.glob_count[e_shop])]
    e_prod = np.where(bag_mode[e_live] == 1, globals_, catalog)
    n_prod = len(cat.shop)
    bag_key = np.unique(e_live.astype(np.int64) * n_prod + e_prod)  # by LIVE, shop, product
    return {
        "host": host,
        "region": region,
        "start": start,
        "end": start + length,
        "pop": rng.lognormal(0.0, 0.7, n),
        "title": rng.integers(0, len(_LIVE_TITLES), n),
        "bag_live": n * d + bag_key // n_prod,
        "bag_prod": bag_key % n_prod,
    }


def _day_videos(rng, d: int, day_us: int, n: int, acc: _Accounts, cdf: np.ndarray):
    """Day `d`'s videos (numbered from `n * d`) by shop accounts (self-operated) and
    affiliates; most shoppable, some of those never bought (not `sells`). The first video
    is not shoppable, the second never sells."""
    poster = np.where(
        rng.random(n) < 0.4,
        rng.integers(0, N_SHOP_ACCOUNTS, n),
        N_SHOP_ACCOUNTS + rng.integers(0, acc.n_affiliates, n),
    )
    pub = day_us + (rng.random(n) * DAY).astype(np.int64)
    shoppable = rng.random(n) < 0.85
    sells = shoppable & (rng.random(n) >= 0.15)
    if d == 0:
        shoppable[0], sells[0] = False, False
        shoppable[1], sells[1] = True, False
    shop = np.where(
        acc.home[poster] >= 0,
        acc.home[poster],
        _shop_of_currency(rng, COUNTRY_CURRENCY[acc.region[poster]]),
    )
    size = np.where(shoppable, 1 + (rng.random(n) < 0.3) + (rng.random(n) < 0.1), 0)
    e_video = np.repeat(np.arange(n), size)
    e_prod = np.searchsorted(cdf, shop[e_video] + rng.random(len(e_video)), side="right")
    n_prod = len(cdf)
    key = np.unique(e_video.astype(np.int64) * n_prod + e_prod)
    return {
        "poster": poster,
        "pub": pub,
        "shoppable": shoppable,
        "sells": sells,
        "vp_video": n * d + key // n_prod,
        "vp_prod": key % n_prod,
    }


def _by_day(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def build_world(start: date, days: int, scale: int, seed: int) -> World:
    """Catalog, accounts and bindings from the generator (seed, 0); the LIVEs and videos of
    day d from (seed, 3, d) and (seed, 4, d), so no day depends on the run's length."""
    rng = np.random.default_rng([seed, 0])
    start_us = epoch_us(start)

    shop, glob, cdf, sku_prod, sku_start, sku_count, price, category, title = _catalog(rng, scale)
    n_prod = len(shop)

    n_aff = int(np.clip(scale // 40, 30, 3000))
    aff_region = rng.choice(
        [COUNTRIES.index(c) for c in ("US", "GB", "SG", "CA", "IE")],
        n_aff,
        p=[0.5, 0.2, 0.12, 0.1, 0.08],
    )
    acc_type = np.concatenate([[a[1] for a in SHOP_ACCOUNTS], np.full(n_aff, AFFILIATE)])
    acc_home = np.concatenate([[a[2] for a in SHOP_ACCOUNTS], np.full(n_aff, -1)])
    acc_region = np.concatenate([SHOP_REGION[acc_home[:N_SHOP_ACCOUNTS]], aff_region])
    accounts = _Accounts(acc_type, acc_region, acc_home, n_aff)
    glob_idx = np.flatnonzero(glob)
    glob_start, glob_count = group_starts(shop[glob_idx], N_SHOPS)
    catalog = _Catalog(shop, cdf, glob_idx, glob_start, glob_count)

    per_live, per_video = lives_per_day(scale), videos_per_day(scale)
    lives = _by_day(
        [
            _day_lives(
                np.random.default_rng([seed, 3, d]),
                d,
                start_us + d * DAY,
                per_live,
                accounts,
                catalog,
            )
            for d in range(days)
        ]
    )
    videos = _by_day(
        [
            _day_videos(
                np.random.default_rng([seed, 4, d]), d, start_us + d * DAY, per_video, accounts, cdf
            )
            for d in range(days)
        ]
    )
    n_live, n_video = days * per_live, days * per_video
    bag_live, bag_prod = lives["bag_live"], lives["bag_prod"]
    live_bag_start, live_bag_count = group_starts(bag_live, n_live)
    vp_video, vp_prod = videos["vp_video"], videos["vp_prod"]
    sells_vp = videos["sells"][vp_video]
    shop_ids = vocabulary(s[0] for s in SHOPS)
    acc_ids = ids("acct_", np.arange(1, len(acc_type) + 1), 5)
    bindings, binding_day = _bindings(rng, start_us, shop_ids, acc_ids)
    world = World(
        start_us=start_us,
        days=days,
        scale=scale,
        lives_per_day=per_live,
        videos_per_day=per_video,
        prod_shop=shop,
        prod_cdf=cdf,
        prod_sku_start=sku_start,
        prod_sku_count=sku_count,
        sku_price=price,
        acc_type=acc_type,
        acc_region=acc_region,
        acc_home=acc_home,
        n_affiliates=n_aff,
        live_host=lives["host"],
        live_region=lives["region"],
        live_start=lives["start"],
        live_end=lives["end"],
        live_pop=lives["pop"],
        live_title=lives["title"],
        bag_live=bag_live,
        bag_prod=bag_prod,
        live_bag_start=live_bag_start,
        live_bag_count=live_bag_count,
        bag_live_shop=bag_live * N_SHOPS + shop[bag_prod],
        live_index=ShopTimeIndex.build(shop[bag_prod], bag_live, bag_prod, lives["start"]),
        video_poster=videos["poster"],
        video_pub=videos["pub"],
        video_shoppable=videos["shoppable"],
        video_sells=videos["sells"],
        vp_video=vp_video,
        vp_prod=vp_prod,
        vp_video_shop=vp_video * N_SHOPS + shop[vp_prod],
        video_index=ShopTimeIndex.build(
            shop[vp_prod][sells_vp], vp_video[sells_vp], vp_prod[sells_vp], videos["pub"]
        ),
        bindings=bindings,
        binding_day=binding_day,
        shop_ids=shop_ids,
        prod_ids=ids("prod_", np.arange(1, n_prod + 1), 6),
        sku_ids=ids("sku_", np.arange(1, len(sku_prod) + 1), 7),
        acc_ids=acc_ids,
        live_ids=ids("live_", np.arange(1, n_live + 1), 6),
        video_ids=ids("video_", np.arange(1, n_video + 1), 6),
    )
    world.tables = _static_tables(world, category, title, glob, sku_prod, n_aff)
    return world


def _bindings(rng, start_us: int, shop_ids: pa.Array, acc_ids: pa.Array):
    """Every binding version with the day whose drop delivers it (its `updated_at`'s; the
    first drop for what was bound before the simulation), a re-sync that changed nothing
    but the version, and two rows exported twice (in the same drop)."""
    shop, acc, btype, bound, unbound, updated = [], [], [], [], [], []
    for a, (_, _, _, specs) in enumerate(SHOP_ACCOUNTS):  # a dozen fixed accounts
        for s, kind, bound_spec, unbound_spec in specs:
            if bound_spec is None:
                b = start_us - int(rng.integers(30, 400)) * DAY + int(rng.integers(0, 86400)) * SEC
            else:
                b = _binding_time(start_us, bound_spec)
            versions = [(b, -1, b)]
            if unbound_spec is not None:
                u = _binding_time(start_us, unbound_spec)
                versions.append((b, u, u))
            for vb, vu, vt in versions:
                shop.append(s)
                acc.append(a)
                btype.append(kind)
                bound.append(vb)
                unbound.append(vu)
                updated.append(vt)
    # the re-sync on the run's second day, 09:00 UTC; the twice-exported rows
    again = [0, 3, len(shop) - 1]
    shop += [shop[i] for i in again]
    acc += [acc[i] for i in again]
    btype += [btype[i] for i in again]
    bound += [bound[i] for i in again]
    unbound += [unbound[i] for i in again]
    updated += [start_us + DAY + 9 * HOUR, updated[3], updated[-1]]
    updated_a, unbound_a = np.array(updated), np.array(unbound)
    day = np.maximum((updated_a - start_us) // DAY, 0)
    order = np.argsort(day, kind="stable")
    columns = {
        "shop_id": pick(shop_ids, np.array(shop)),
        "account_id": pick(acc_ids, np.array(acc)),
        "binding_type": pick(vocabulary(BINDING_TYPES), np.array(btype)),
        "bound_at": instants(np.array(bound)),
        "unbound_at": instants(np.maximum(unbound_a, 0), valid=unbound_a >= 0),
        "updated_at": instants(updated_a),
    }
    return table("account_bindings", columns).take(pa.array(order)), day[order]


def _static_tables(world: World, category, title, glob, sku_prod, n_aff) -> dict[str, pa.Table]:
    """The tables that never grow: shops, accounts, products and SKUs (one file each)."""
    n_acc = len(world.acc_type)
    handles = pa.concat_arrays(
        [
            vocabulary("@" + a[0] for a in SHOP_ACCOUNTS),
            ids("@creator_", np.arange(1, n_aff + 1), 4),
        ]
    )
    return {
        "shops": table(
            "shops",
            {
                "shop_id": world.shop_ids,
                "shop_name": vocabulary(s[1] for s in SHOPS),
                "region": vocabulary(s[2] for s in SHOPS),
                "currency": vocabulary(s[3] for s in SHOPS),
                "timezone": vocabulary(s[4] for s in SHOPS),
            },
        ),
        "accounts": table(
            "accounts",
            {
                "account_id": world.acc_ids,
                "handle": handles,
                "account_type": pick(vocabulary(ACCOUNT_TYPES), world.acc_type),
                "region": pick(world.countries, world.acc_region[:n_acc]),
            },
        ),
        "products": table(
            "products",
            {
                "product_id": world.prod_ids,
                "shop_id": pick(world.shop_ids, world.prod_shop),
                "title": title,
                "category": pick(vocabulary(CATEGORIES), category),
                "globally_sellable": pa.array(glob),
            },
        ),
        "skus": table(
            "skus",
            {
                "sku_id": world.sku_ids,
                "product_id": pick(world.prod_ids, sku_prod),
                "unit_price": decimals(world.sku_price),
            },
        ),
    }
