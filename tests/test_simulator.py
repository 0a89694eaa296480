"""The simulator: a raw directory that honours raw-contract.md and shows every phenomenon of
ARCHITECTURE.md "The simulator", each counted by a DuckDB query over the written files.

The queries are written here from the contract, independently of the ingestion code.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compass_pipeline.simulate import SimulationSummary, simulate
from compass_pipeline.simulate.columns import DAILY_TABLES, SCHEMAS, STATIC_TABLES

START = date(2026, 3, 1)
DAYS = 45
SCALE = 300
SEED = 7
SNAP = "timestamptz '2026-04-15 00:00:00+00'"
T0 = "timestamptz '2026-03-01 00:00:00+00'"

TABLES = STATIC_TABLES + DAILY_TABLES
MUTABLE = {
    "orders": ["order_id"],
    "refunds": ["refund_id"],
    "account_bindings": ["shop_id", "account_id"],
}
# Tables with several versions per key, and how the newest is found: `updated_at`, or for a
# LIVE its `ended_at`, an empty one (still on the air) being the oldest (raw-contract.md,
# "Incremental ingestion", as the ingestion reads it).
NEWEST_FIRST = {
    **{name: "updated_at desc" for name in MUTABLE},
    "live_sessions": "ended_at desc nulls last",
}
VERSION_COLUMN = {**{name: "updated_at" for name in MUTABLE}, "live_sessions": "ended_at"}
KEYS = {
    "shops": ["shop_id"],
    "accounts": ["account_id"],
    "products": ["product_id"],
    "skus": ["sku_id"],
    "live_sessions": ["live_id"],
    "live_products": ["live_id", "product_id"],
    "videos": ["video_id"],
    "video_products": ["video_id", "product_id"],
    "order_lines": ["line_id"],
    "cart_adds": ["cart_add_id"],
    "commission_settlements": ["settlement_id"],
    "live_room_events": ["event_id"],
    "product_impressions": ["impression_id"],
    **MUTABLE,
}


def _source(out: Path, name: str, fmt: str = "parquet") -> str:
    if name in DAILY_TABLES:
        return f"'{out / name}/*.{fmt}'"
    return f"'{out / name}.{fmt}'"


def _view_of_rows(name: str) -> str:
    """The view holding every row as written: `<table>_rows` for a versioned table."""
    return f"{name}_rows" if name in NEWEST_FIRST else name


def _views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """One DuckDB table per raw table, loaded once (the rule queries then run in
    milliseconds). A versioned table holds the rows in effect (exact duplicates dropped, the
    latest version of each key) and `<table>_rows` every row as written. `line_facts` joins
    each line to its order and its cart add; `line_creators` adds the (cart-resolved) creator.
    """
    con.execute("set TimeZone = 'UTC'")
    for name in TABLES:
        rows = _view_of_rows(name)
        con.execute(f"create table {rows} as select * from read_parquet({_source(out, name)})")
        if name in NEWEST_FIRST:
            key = ", ".join(KEYS[name])
            con.execute(
                f"""create table {name} as
                select * exclude (version_rank) from (
                    select *, row_number() over (partition by {key} order by {NEWEST_FIRST[name]})
                        as version_rank
                    from (select distinct * from {rows})
                ) where version_rank = 1"""
            )
    con.execute(
        """create table line_facts as
        select
            l.*,
            o.shop_id, o.buyer_id, o.buyer_country, o.created_at, o.paid_at, o.cancelled_at,
            o.shipping_fee,
            l.quantity * l.unit_price - l.seller_discount - l.platform_discount as merch,
            l.quantity * l.unit_price - l.seller_discount as commission_base,
            coalesce(c.source_type, l.source_type) as origin_type,
            case when l.source_type = 'cart' then c.source_id else l.source_id end as origin_id,
            c.added_at
        from order_lines as l
        join orders as o using (order_id)
        left join cart_adds as c on l.source_type = 'cart' and c.cart_add_id = l.source_id"""
    )
    con.execute(
        """create table line_creators as
        select
            f.*,
            case f.origin_type
                when 'live' then s.account_id
                when 'video' then v.account_id
                when 'showcase' then f.origin_id
            end as creator_id
        from line_facts as f
        left join live_sessions as s on f.origin_type = 'live' and s.live_id = f.origin_id
        left join videos as v on f.origin_type = 'video' and v.video_id = f.origin_id"""
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, SimulationSummary]:
    out = tmp_path_factory.mktemp("simulator") / "raw"
    messages: list[str] = []
    summary = simulate(
        out, start=START, days=DAYS, seed=SEED, scale=SCALE, progress=messages.append
    )
    assert len(messages) >= DAYS
    return out, summary


@pytest.fixture(scope="module")
def con(run) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    _views(connection, run[0])
    return connection


def _count(con, sql: str, snapshot: str = SNAP) -> int:
    return con.sql(sql.replace("{SNAP}", snapshot).replace("{T0}", T0)).fetchall()[0][0]


# --- layout, types, summary ----------------------------------------------------------


def test_layout_one_file_per_static_table_and_one_per_day_for_the_others(run):
    """Shops, accounts and the catalog never grow; every other table gets a drop a day."""
    out, _ = run
    assert set(STATIC_TABLES) == {"shops", "accounts", "products", "skus"}
    for name in STATIC_TABLES:
        assert (out / f"{name}.parquet").is_file()
    for name in DAILY_TABLES:
        parts = sorted(p.name for p in (out / name).iterdir())
        assert parts[0] == "part-2026-03-01.parquet"
        assert parts[-1] == "part-2026-04-14.parquet"
        assert len(parts) == DAYS


@pytest.mark.parametrize("name", TABLES)
def test_columns_and_arrow_types_are_the_contracts(run, name):
    out, _ = run
    path = (
        out / f"{name}.parquet" if name in STATIC_TABLES else out / name / "part-2026-03-01.parquet"
    )
    schema = pq.read_schema(path)
    assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in SCHEMAS[name]]
    expected_types = {
        pa.string(),
        pa.timestamp("us", tz="UTC"),
        pa.decimal128(18, 2),
        pa.decimal128(6, 4),
        pa.int64(),
        pa.bool_(),
    }
    assert {f.type for f in schema} <= expected_types


def test_summary_counts_the_rows_written_and_the_snapshot(run, con):
    _, summary = run
    assert summary.snapshot_at == datetime(2026, 4, 15, tzinfo=UTC)
    for name in TABLES:
        view = _view_of_rows(name)
        assert summary.tables[name] == _count(con, f"select count(*) from {view}"), name


def test_scale_is_the_number_of_order_lines_per_day(con):
    counts = con.sql(
        "select substr(line_id, 6, 8) as day, count(*) from order_lines group by day"
    ).fetchall()
    assert len(counts) == DAYS
    assert {n for _, n in counts} == {SCALE}


# --- determinism and formats ---------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_writes_identical_bytes_and_another_seed_different_data(tmp_path):
    kwargs = {"start": START, "days": 3, "scale": 40}
    simulate(tmp_path / "a", seed=3, **kwargs)
    simulate(tmp_path / "b", seed=3, **kwargs)
    simulate(tmp_path / "c", seed=4, **kwargs)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a.keys() == b.keys() == c.keys()
    assert a == b
    differing = [name for name in a if a[name] != c[name]]
    assert "order_lines/part-2026-03-01.parquet" in differing
    assert "live_sessions/part-2026-03-01.parquet" in differing


def test_a_rerun_replaces_an_earlier_run(tmp_path):
    simulate(tmp_path, start=START, days=3, scale=20, fmt="csv")
    simulate(tmp_path, start=START, days=2, scale=20)
    assert not list(tmp_path.rglob("*.csv"))
    assert len(list((tmp_path / "orders").iterdir())) == 2


def test_csv_holds_the_same_values_as_parquet(tmp_path):
    simulate(tmp_path / "p", start=START, days=3, seed=5, scale=60)
    simulate(tmp_path / "c", start=START, days=3, seed=5, scale=60, fmt="csv")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for name in TABLES:
        parquet = f"read_parquet({_source(tmp_path / 'p', name)})"
        types = {row[0]: row[1] for row in con.sql(f"describe select * from {parquet}").fetchall()}
        csv = f"read_csv({_source(tmp_path / 'c', name, 'csv')}, header = true, types = {types!r})"
        for left, right in ((parquet, csv), (csv, parquet)):
            missing = _count(con, f"select count(*) from (from {left} except all from {right})")
            assert missing == 0, f"{name}: {missing} rows differ"
        assert _count(con, f"select count(*) from {csv}") == _count(
            con, f"select count(*) from {parquet}"
        )


def test_csv_spells_instants_money_and_booleans_as_the_contract_reads_them(tmp_path):
    simulate(tmp_path, start=START, days=1, seed=5, scale=30, fmt="csv")
    header, *rows = (tmp_path / "orders" / "part-2026-03-01.csv").read_text().splitlines()
    assert header == (
        "order_id,shop_id,buyer_id,buyer_country,created_at,paid_at,shipping_fee,cancelled_at,"
        "updated_at"
    )
    fields = [row.split(",") for row in rows]
    instants = [f[4] for f in fields] + [f[5] for f in fields if f[5]]
    assert all(re.fullmatch(r"2026-03-0[12]T\d\d:\d\d:\d\d(\.\d{6})?Z", t) for t in instants)
    assert all(re.fullmatch(r"\d+\.\d\d", f[6]) for f in fields)
    assert any(f[5] == "" for f in fields)  # an unpaid order: empty field for null
    sessions = (tmp_path / "live_sessions" / "part-2026-03-01.csv").read_text().splitlines()
    assert any(re.search(r"T\d\d:\d\d:\d\dZ", row) for row in sessions)  # whole seconds
    products = [row.split(",")[-1] for row in (tmp_path / "products.csv").read_text().splitlines()]
    assert set(products[1:]) == {"true", "false"}
    rates = [
        row.split(",")[-1]
        for row in (tmp_path / "order_lines" / "part-2026-03-01.csv").read_text().splitlines()[1:]
    ]
    assert all(re.fullmatch(r"(0\.\d{4})?", rate) for rate in rates)


# --- the contract, as SQL over the files ----------------------------------------------


def _required_column_rules() -> dict[str, str]:
    rules = {}
    for name in TABLES:
        view = _view_of_rows(name)
        for field in SCHEMAS[name]:
            if not field.nullable:
                rules[f"{name}.{field.name}_not_null"] = (
                    f"select count(*) from {view} where {field.name} is null"
                )
    return rules


def _key_rules() -> dict[str, str]:
    return {
        f"{name}_key_unique": (
            f"select count(*) from (select {', '.join(key)} from {name} group by all "
            "having count(*) > 1)"
        )
        for name, key in KEYS.items()
    }


def _snapshot_rules() -> dict[str, str]:
    rules = {}
    for name in TABLES:
        view = _view_of_rows(name)
        for field in SCHEMAS[name]:
            if pa.types.is_timestamp(field.type):
                rules[f"{name}.{field.name}_not_after_snapshot"] = (
                    f"select count(*) from {view} where {field.name} > {{SNAP}}"
                )
    return rules


def _version_rules() -> dict[str, str]:
    return {
        f"{name}_no_two_contents_for_one_version": (
            f"select count(*) from (select {', '.join(KEYS[name])}, {column} from "
            f"(select distinct * from {name}_rows) group by all having count(*) > 1)"
        )
        for name, column in VERSION_COLUMN.items()
    }


CONTRACT = {
    # vocabularies and codes
    "account_type_vocabulary": "select count(*) from accounts "
    "where account_type not in ('official', 'channel', 'affiliate')",
    "binding_type_vocabulary": "select count(*) from account_bindings_rows "
    "where binding_type not in ('official_integrated', 'channel')",
    "line_source_type_vocabulary": "select count(*) from order_lines where source_type not in "
    "('live', 'video', 'cart', 'showcase', 'mall', 'campaign_page', 'campaign_channel', "
    "'recommendation', 'im_message', 'search', 'other')",
    "cart_add_source_type_vocabulary_has_no_cart": "select count(*) from cart_adds "
    "where source_type not in ('live', 'video', 'showcase', 'mall', 'campaign_page', "
    "'campaign_channel', 'recommendation', 'im_message', 'search', 'other')",
    "refund_status_vocabulary": "select count(*) from refunds_rows "
    "where status not in ('pending', 'succeeded', 'rejected', 'withdrawn')",
    "event_type_vocabulary": "select count(*) from live_room_events "
    "where event_type not in ('enter', 'leave')",
    "surface_vocabulary": "select count(*) from product_impressions "
    "where surface not in ('product_card', 'shopping_bag', 'pinned')",
    "country_codes_alpha_2": """select count(*) from (
        select region as c from shops union all select region from accounts
        union all select region from live_sessions union all select buyer_country from orders_rows
        union all select viewer_country from live_room_events
    ) where not regexp_full_match(c, '[A-Z]{2}')""",
    "currency_codes_iso_4217": "select count(*) from shops "
    "where not regexp_full_match(currency, '[A-Z]{3}')",
    "time_zones_iana": "select count(*) from shops "
    "where timezone not in (select name from pg_timezone_names())",
    # references
    "product_shop_exists": "select count(*) from products anti join shops using (shop_id)",
    "sku_product_exists": "select count(*) from skus anti join products using (product_id)",
    "binding_shop_and_account_exist": """select count(*) from account_bindings_rows b
        where b.shop_id not in (select shop_id from shops)
           or b.account_id not in (select account_id from accounts)""",
    "live_host_exists": "select count(*) from live_sessions anti join accounts using (account_id)",
    "live_product_refs_exist": """select count(*) from live_products
        where live_id not in (select live_id from live_sessions)
           or product_id not in (select product_id from products)""",
    "video_poster_exists": "select count(*) from videos anti join accounts using (account_id)",
    "video_product_refs_exist": """select count(*) from video_products
        where video_id not in (select video_id from videos)
           or product_id not in (select product_id from products)""",
    "order_shop_exists": "select count(*) from orders_rows anti join shops using (shop_id)",
    "line_order_exists": "select count(*) from order_lines anti join orders using (order_id)",
    "line_sku_exists": "select count(*) from order_lines anti join skus using (sku_id)",
    "line_product_is_the_skus": """select count(*) from order_lines l join skus s using (sku_id)
        where l.product_id <> s.product_id""",
    "line_product_of_the_orders_shop": """select count(*) from order_lines l
        join orders o using (order_id) join products p using (product_id)
        where p.shop_id <> o.shop_id""",
    "cart_add_sku_and_product_match": """select count(*) from cart_adds c
        left join skus s using (sku_id) where s.product_id is distinct from c.product_id""",
    "refund_line_exists": "select count(*) from refunds_rows anti join order_lines using (line_id)",
    "settlement_line_and_account_exist": """select count(*) from commission_settlements
        where line_id not in (select line_id from order_lines)
           or account_id not in (select account_id from accounts)""",
    "event_live_exists": "select count(*) from live_room_events "
    "anti join live_sessions using (live_id)",
    "impression_live_and_product_exist": """select count(*) from product_impressions
        where live_id not in (select live_id from live_sessions)
           or product_id not in (select product_id from products)""",
    # amounts
    "quantity_at_least_one": "select count(*) from order_lines where quantity < 1",
    "unit_prices_positive": """select (select count(*) from skus where unit_price <= 0)
        + (select count(*) from order_lines where unit_price <= 0)""",
    "discounts_not_negative": "select count(*) from order_lines "
    "where seller_discount < 0 or platform_discount < 0",
    "merchandise_not_negative": "select count(*) from order_lines "
    "where quantity * unit_price - seller_discount - platform_discount < 0",
    "shipping_not_negative": "select count(*) from orders_rows where shipping_fee < 0",
    "commission_rate_in_0_1": "select count(*) from order_lines "
    "where commission_rate < 0 or commission_rate > 1",
    # sources
    "line_source_id_resolves": """select count(*) from order_lines l where case l.source_type
        when 'live' then coalesce(l.source_id not in (select live_id from live_sessions), true)
        when 'video' then coalesce(l.source_id not in (select video_id from videos), true)
        when 'cart' then coalesce(l.source_id not in (select cart_add_id from cart_adds), true)
        when 'showcase' then coalesce(l.source_id not in (select account_id from accounts), true)
        else l.source_id is not null end""",
    "cart_add_source_id_resolves": """select count(*) from cart_adds c where case c.source_type
        when 'live' then coalesce(c.source_id not in (select live_id from live_sessions), true)
        when 'video' then coalesce(c.source_id not in (select video_id from videos), true)
        when 'showcase' then coalesce(c.source_id not in (select account_id from accounts), true)
        else c.source_id is not null end""",
    "cart_line_same_sku_and_buyer_as_its_cart_add": """select count(*) from order_lines l
        join orders o using (order_id) join cart_adds c on c.cart_add_id = l.source_id
        where l.source_type = 'cart' and (c.sku_id <> l.sku_id or c.buyer_id <> o.buyer_id)""",
    # time order
    "paid_at_or_after_created": "select count(*) from orders_rows where paid_at < created_at",
    "live_line_paid_after_live_start": """select count(*) from line_facts f
        join live_sessions s on s.live_id = f.source_id
        where f.source_type = 'live' and f.paid_at < s.started_at""",
    "video_line_paid_after_publication": """select count(*) from line_facts f
        join videos v on v.video_id = f.source_id
        where f.source_type = 'video' and f.paid_at < v.published_at""",
    "cart_line_paid_after_cart_add": """select count(*) from line_facts
        where source_type = 'cart' and paid_at < added_at""",
    "live_cart_add_within_its_live": """select count(*) from cart_adds c
        join live_sessions s on c.source_type = 'live' and s.live_id = c.source_id
        where c.added_at < s.started_at or c.added_at > coalesce(s.ended_at, {SNAP})""",
    "video_cart_add_after_publication": """select count(*) from cart_adds c
        join videos v on c.source_type = 'video' and v.video_id = c.source_id
        where c.added_at < v.published_at""",
    "ended_after_started": "select count(*) from live_sessions_rows where ended_at <= started_at",
    # a LIVE's versions: at most one on the air (no `ended_at`) and one ended, else the same
    "live_versions_on_the_air_then_ended": """select count(*) from (
        select live_id from (select distinct * from live_sessions_rows) group by live_id
        having count(*) - count(ended_at) > 1 or count(ended_at) > 1
            or count(distinct (account_id, region, title, started_at)) > 1)""",
    "binding_ends_after_it_starts": "select count(*) from account_bindings "
    "where unbound_at < bound_at",
    # refunds and settlements
    "refund_on_a_paid_line_at_or_after_payment": """select count(*) from refunds r
        left join line_facts f using (line_id)
        where f.paid_at is null or r.requested_at < f.paid_at""",
    "succeeded_at_iff_succeeded": """select count(*) from refunds_rows
        where (status = 'succeeded') <> (succeeded_at is not null)""",
    "succeeded_at_or_after_requested": "select count(*) from refunds_rows "
    "where succeeded_at < requested_at",
    "refund_amount_positive": "select count(*) from refunds_rows where amount <= 0",
    "succeeded_refunds_within_merchandise_paid": """select count(*) from (
        select f.line_id, any_value(f.merch) as merch, sum(r.amount) as refunded
        from refunds r join line_facts f using (line_id)
        where r.status = 'succeeded' group by f.line_id
    ) where refunded > merch""",
    "settlement_on_a_paid_line_at_or_after_payment": """select count(*)
        from commission_settlements s left join line_facts f using (line_id)
        where f.paid_at is null or s.settled_at < f.paid_at""",
    "settlement_amount_not_negative": "select count(*) from commission_settlements "
    "where amount < 0",
    # the LIVE room
    "room_event_within_its_live": """select count(*) from live_room_events e
        join live_sessions s using (live_id)
        where e.occurred_at < s.started_at or e.occurred_at > coalesce(s.ended_at, {SNAP})""",
    "impression_within_its_live": """select count(*) from product_impressions i
        join live_sessions s using (live_id)
        where i.occurred_at < s.started_at or i.occurred_at > coalesce(s.ended_at, {SNAP})""",
    "events_alternate_enter_leave_from_enter": """select count(*) from (
        select event_type, row_number() over (
            partition by live_id, viewer_id order by occurred_at, event_id) as n
        from live_room_events
    ) where (n % 2 = 1) <> (event_type = 'enter')""",
    "live_bag_of_one_currency": """select count(*) from (
        select lp.live_id from live_products lp join products p using (product_id)
        join shops s using (shop_id) group by lp.live_id having count(distinct s.currency) > 1)""",
    **_required_column_rules(),
    **_key_rules(),
    **_snapshot_rules(),
    **_version_rules(),
}


@pytest.mark.parametrize("rule", sorted(CONTRACT))
def test_contract_rule_holds(con, rule):
    assert _count(con, CONTRACT[rule]) == 0


# --- the phenomena of ARCHITECTURE.md, each counted ----------------------------------

PHENOMENA: dict[str, tuple[str, int]] = {
    "shops_in_several_time_zones": ("select count(distinct timezone) from shops", 3),
    "shops_in_several_currencies": ("select count(distinct currency) from shops", 2),
    "a_shop_in_asia": ("select count(*) from shops where timezone like 'Asia/%'", 1),
    "official_channel_and_affiliate_accounts": (
        "select count(distinct account_type) from accounts",
        3,
    ),
    "bindings_of_both_types": ("select count(distinct binding_type) from account_bindings", 2),
    "binding_starting_mid_day_after_the_account_hosted_lives": (
        """select count(*) from account_bindings b
        where b.bound_at > {T0} and extract(hour from b.bound_at) > 0
          and exists (select 1 from live_sessions s
                      where s.account_id = b.account_id and s.ended_at < b.bound_at)""",
        1,
    ),
    "bindings_ended_mid_day": (
        """select count(*) from account_bindings
        where unbound_at > {T0} and extract(hour from unbound_at) > 0""",
        2,
    ),
    "channel_account_bound_with_the_official_type": (
        """select count(*) from account_bindings b join accounts a using (account_id)
        where a.account_type = 'channel' and b.binding_type = 'official_integrated'""",
        1,
    ),
    "channel_account_bound_to_several_shops": (
        """select count(*) from (select account_id from account_bindings
        where binding_type = 'channel' group by all having count(*) > 1)""",
        1,
    ),
    "lives_crossing_utc_midnight": (
        "select count(*) from live_sessions where started_at::date <> ended_at::date",
        5,
    ),
    "lives_crossing_a_shops_local_midnight_but_not_utcs": (
        """select count(distinct s.live_id) from live_sessions s
        join live_products using (live_id) join products p using (product_id)
        join shops h on h.shop_id = p.shop_id
        where (s.started_at at time zone h.timezone)::date
              <> (s.ended_at at time zone h.timezone)::date
          and s.started_at::date = s.ended_at::date""",
        5,
    ),
    "lives_with_products_of_several_shops": (
        """select count(*) from (select lp.live_id from live_products lp
        join products p using (product_id) group by all having count(distinct p.shop_id) > 1)""",
        20,
    ),
    "lives_selling_for_several_shops": (
        """select count(*) from (select source_id from line_facts where source_type = 'live'
        group by all having count(distinct shop_id) > 1)""",
        10,
    ),
    "lives_on_the_air_at_the_snapshot": (
        "select count(*) from live_sessions where ended_at is null",
        1,
    ),
    "sales_and_viewers_in_a_live_still_on_the_air": (
        """select count(*) from live_sessions s where s.ended_at is null
        and exists (select 1 from order_lines l where l.source_id = s.live_id)
        and exists (select 1 from live_room_events e where e.live_id = s.live_id)""",
        1,
    ),
    "lives_of_another_market_than_the_shop": (
        """select count(distinct s.live_id) from live_sessions s join live_products using (live_id)
        join products p using (product_id) join shops h on h.shop_id = p.shop_id
        where s.region <> h.region""",
        5,
    ),
    "buyers_from_other_countries_than_the_shop": (
        """select count(*) from orders o join shops s using (shop_id)
        where o.buyer_country <> s.region""",
        100,
    ),
    "cart_adds_checked_out_within_hours": (
        """select count(*) from line_facts where source_type = 'cart'
        and paid_at - added_at < interval 6 hours""",
        100,
    ),
    "cart_adds_from_a_live_checked_out_after_its_30_day_window": (
        """select count(*) from line_facts f join live_sessions s on s.live_id = f.origin_id
        where f.source_type = 'cart' and f.origin_type = 'live'
          and f.paid_at > date_trunc('day', s.ended_at) + interval 31 days""",
        20,
    ),
    "cart_adds_checked_out_about_40_days_later": (
        """select count(*) from line_facts where source_type = 'cart'
        and paid_at - added_at > interval 36 days""",
        5,
    ),
    "cart_checkout_while_a_later_live_of_the_shop_is_on_the_air": (
        """select count(*) from line_facts f join live_sessions a on a.live_id = f.origin_id
        where f.source_type = 'cart' and f.origin_type = 'live' and f.paid_at is not null
          and exists (
            select 1 from live_sessions b join live_products using (live_id)
            join products p using (product_id)
            where b.live_id <> a.live_id and b.started_at > a.started_at
              and p.shop_id = f.shop_id
              and f.paid_at between b.started_at and coalesce(b.ended_at, {SNAP}))""",
        50,
    ),
    "cart_adds_from_lives_videos_showcases_and_the_mall": (
        """select count(distinct source_type) from cart_adds
        where source_type in ('live', 'video', 'showcase', 'mall')""",
        4,
    ),
    "cart_adds_from_every_other_place": ("select count(distinct source_type) from cart_adds", 10),
    "cart_adds_never_checked_out": (
        """select count(*) from cart_adds c where not exists (
            select 1 from order_lines l
            where l.source_type = 'cart' and l.source_id = c.cart_add_id)""",
        100,
    ),
    "lines_of_every_source_type": ("select count(distinct source_type) from order_lines", 11),
    "multi_sku_orders": (
        "select count(*) from (select order_id from order_lines group by all having count(*) > 1)",
        500,
    ),
    "seller_discounts": ("select count(*) from order_lines where seller_discount > 0", 100),
    "platform_discounts": ("select count(*) from order_lines where platform_discount > 0", 100),
    "lines_given_away_entirely": ("select count(*) from line_facts where commission_base = 0", 5),
    "shipping_split_with_a_remainder": (
        """with weights as (
            select order_id,
                   ((quantity * unit_price - seller_discount) * 100)::bigint as weight
            from order_lines),
        totals as (select order_id, sum(weight)::bigint as total from weights group by all)
        select count(distinct o.order_id) from orders o join weights w using (order_id)
        join totals t using (order_id)
        where o.shipping_fee > 0 and t.total > 0
          and ((o.shipping_fee * 100)::bigint * w.weight) % t.total <> 0""",
        50,
    ),
    "orders_with_free_shipping": ("select count(*) from orders where shipping_fee = 0", 1000),
    "orders_with_shipping_but_only_free_lines": (
        """select count(*) from orders o where o.shipping_fee > 0 and not exists (
            select 1 from order_lines l where l.order_id = o.order_id
            and l.quantity * l.unit_price - l.seller_discount > 0)""",
        1,
    ),
    "unpaid_orders": ("select count(*) from orders where paid_at is null", 100),
    "cancelled_orders": ("select count(*) from orders where cancelled_at is not null", 100),
    "cancelled_paid_orders_with_a_succeeded_refund": (
        """select count(distinct f.order_id) from line_facts f join refunds r using (line_id)
        where f.cancelled_at is not null and f.paid_at is not null
          and r.status = 'succeeded'""",
        20,
    ),
    "refunds_pending": ("select count(*) from refunds where status = 'pending'", 20),
    "refunds_succeeded": ("select count(*) from refunds where status = 'succeeded'", 100),
    "refunds_rejected": ("select count(*) from refunds where status = 'rejected'", 20),
    "refunds_withdrawn": ("select count(*) from refunds where status = 'withdrawn'", 20),
    "refunds_succeeding_days_after_the_request": (
        """select count(*) from refunds where status = 'succeeded'
        and succeeded_at - requested_at > interval 2 days""",
        20,
    ),
    "refunds_of_lines_paid_on_an_earlier_local_day": (
        """select count(*) from refunds r join line_facts f using (line_id)
        join shops s using (shop_id) where r.status = 'succeeded'
          and (r.succeeded_at at time zone s.timezone)::date
              > (f.paid_at at time zone s.timezone)::date""",
        100,
    ),
    "several_refunds_on_one_line": (
        "select count(*) from (select line_id from refunds group by all having count(*) > 1)",
        5,
    ),
    "product_days_with_refunds_above_gmv": (
        """with refunded as (
            select f.product_id, (r.succeeded_at at time zone s.timezone)::date as day,
                   sum(r.amount) as amount
            from refunds r join line_facts f using (line_id) join shops s using (shop_id)
            where r.status = 'succeeded' group by all),
        sold as (  -- an upper bound of GMV: every line carries its order's whole shipping fee
            select f.product_id, (f.paid_at at time zone s.timezone)::date as day,
                   sum(f.merch + f.shipping_fee) as gmv_bound
            from line_facts f join shops s using (shop_id)
            where f.paid_at is not null group by all)
        select count(*) from refunded left join sold using (product_id, day)
        where refunded.amount > coalesce(sold.gmv_bound, 0)""",
        5,
    ),
    "commission_rates_on_affiliate_lines": (
        """select count(*) from line_creators f join accounts a on a.account_id = f.creator_id
        where a.account_type = 'affiliate' and f.commission_rate is not null""",
        500,
    ),
    "commission_rates_on_lines_without_a_creator": (
        """select count(*) from line_creators
        where creator_id is null and commission_rate is not null""",
        20,
    ),
    "commission_rates_on_mall_lines": (
        """select count(*) from order_lines
        where source_type = 'mall' and commission_rate is not null""",
        1,
    ),
    "commission_estimates_of_exactly_half_a_cent": (
        """select count(*) from line_facts where commission_rate is not null
        and ((commission_base * 100)::bigint * (commission_rate * 10000)::bigint) % 10000
            = 5000""",
        5,
    ),
    "settlements_days_after_payment": (
        """select count(*) from commission_settlements s join line_facts f using (line_id)
        where s.settled_at - f.paid_at > interval 5 days""",
        100,
    ),
    "settlements_on_the_day_of_payment": (
        """select count(*) from commission_settlements s join line_facts f using (line_id)
        where s.settled_at - f.paid_at < interval 12 hours""",
        20,
    ),
    "settlements_equal_to_the_rounded_estimate": (
        """select count(*) from commission_settlements s join line_facts f using (line_id)
        where s.amount = round(f.commission_base * f.commission_rate, 2)""",
        500,
    ),
    "settlements_of_zero_for_refunded_lines": (
        """select count(*) from commission_settlements s where s.amount = 0 and exists (
            select 1 from refunds r where r.line_id = s.line_id and r.status = 'succeeded')""",
        5,
    ),
    "settlements_adjusted_away_from_the_estimate": (
        """select count(*) from commission_settlements s join line_facts f using (line_id)
        where s.amount > 0 and s.amount <> round(f.commission_base * f.commission_rate, 2)""",
        5,
    ),
    "settlements_paid_to_a_creator_the_line_is_not_attributed_to": (
        """select count(*) from commission_settlements s join line_creators f using (line_id)
        where f.creator_id is null""",
        5,
    ),
    "self_operated_videos": (
        """select count(distinct v.video_id) from videos v join video_products using (video_id)
        join products p using (product_id) join account_bindings b
          on b.account_id = v.account_id and b.shop_id = p.shop_id
        where b.bound_at <= v.published_at
          and (b.unbound_at is null or b.unbound_at > v.published_at)""",
        20,
    ),
    "affiliate_videos": (
        """select count(*) from videos v join accounts a using (account_id)
        where a.account_type = 'affiliate' and v.is_shoppable""",
        20,
    ),
    "shoppable_videos_without_sales": (
        """select count(*) from videos v where v.is_shoppable and not exists (
            select 1 from line_facts f where f.origin_type = 'video'
            and f.origin_id = v.video_id)""",
        5,
    ),
    "videos_not_shoppable": ("select count(*) from videos where not is_shoppable", 5),
    "viewers_re_entering": (
        """select count(*) from (select live_id, viewer_id from live_room_events
        where event_type = 'enter' group by all having count(*) > 1)""",
        100,
    ),
    "viewers_still_in_the_room_when_the_live_ends": (
        """select count(*) from (
            select live_id, viewer_id, arg_max(event_type, (occurred_at, event_id)) as last_event
            from live_room_events group by all
        ) join live_sessions using (live_id)
        where last_event = 'enter' and ended_at is not null""",
        100,
    ),
    "lives_with_viewers_of_several_countries": (
        """select count(*) from (select live_id from live_room_events group by all
        having count(distinct viewer_country) > 2)""",
        100,
    ),
    "lives_with_more_impressions_than_enters": (
        """select count(*) from (
            select live_id, count(*) as impressions from product_impressions group by all)
        join (select live_id, count(*) as enters from live_room_events
              where event_type = 'enter' group by all) using (live_id)
        where impressions > enters""",
        20,
    ),
    "impressions_on_every_surface": ("select count(distinct surface) from product_impressions", 3),
    "global_view_lives": (
        """select count(*) from (select live_id from live_products join products using (product_id)
        group by all having bool_and(globally_sellable))""",
        20,
    ),
    "lives_not_global_view": (
        """select count(*) from (select live_id from live_products join products using (product_id)
        group by all having not bool_and(globally_sellable))""",
        20,
    ),
    "live_with_an_empty_bag": (
        "select count(*) from live_sessions anti join live_products using (live_id)",
        1,
    ),
    "orders_with_several_versions": (
        """select count(*) from (select order_id from orders_rows group by all
        having count(distinct updated_at) > 1)""",
        100,
    ),
    "orders_first_unpaid_then_paid": (
        """select count(*) from orders_rows v join orders o using (order_id)
        where v.paid_at is null and o.paid_at is not null""",
        50,
    ),
    "orders_first_open_then_cancelled": (
        """select count(*) from orders_rows v join orders o using (order_id)
        where v.cancelled_at is null and o.cancelled_at is not null""",
        50,
    ),
    "refunds_first_pending_then_decided": (
        """select count(*) from refunds_rows v join refunds r using (refund_id)
        where v.status = 'pending' and r.status <> 'pending'""",
        50,
    ),
    "bindings_later_unbound": (
        """select count(*) from account_bindings_rows v join account_bindings b
        using (shop_id, account_id) where v.unbound_at is null and b.unbound_at is not null""",
        2,
    ),
    "exact_duplicate_rows_of_orders": (
        "select (select count(*) from orders_rows) - (select count(*) from (select distinct * "
        "from orders_rows))",
        10,
    ),
    "exact_duplicate_rows_of_refunds": (
        "select (select count(*) from refunds_rows) - (select count(*) from (select distinct * "
        "from refunds_rows))",
        10,
    ),
    "exact_duplicate_rows_of_bindings": (
        "select (select count(*) from account_bindings_rows) - (select count(*) from "
        "(select distinct * from account_bindings_rows))",
        1,
    ),
}


@pytest.mark.parametrize("phenomenon", sorted(PHENOMENA))
def test_phenomenon_is_present(con, phenomenon):
    sql, minimum = PHENOMENA[phenomenon]
    assert _count(con, sql) >= minimum
