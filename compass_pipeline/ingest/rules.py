"""Cross-table rules of raw-contract.md, as named DuckDB SQL.

The rules read the rows in effect (latest version of each key, nothing rejected) from
views named after the tables, each with its row id `__rid`.

Row rules are grouped by the table they judge. Each table has one *context*: the table
(alias `c`) left-joined once to every parent its rules read. Each rule is a named SQL
predicate over that context, true for an offending row, with a SQL expression for the
reason. The engine evaluates all predicates of a table in one query, so an order line is
joined to its order once, not once per rule (at three million lines a join per rule costs
seconds each). A reference (`unknown_order`, ...) is a rule whose predicate is "the parent
row is missing"; an offending reference whose key exists in the raw parent table (so it
was rejected) is reported as `parent_quarantined` instead.

Set rules look at several rows together — a line's refunds, a LIVE's shopping bag — and
are whole queries returning `(__rid, detail)`. They run once the row rules have settled,
because rejecting a row changes the set they see (a rejected sibling line changes an
order's shipping shares). The enter/leave sequence of viewers is a set rule too; it is
computed in `core` by one sort (`core._enter_leave`), with a reference query here
for the cases the sort leaves open.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.raw import raw_table_info


def _ts(expr: str) -> str:
    """An instant as ISO-8601 UTC text, for messages."""
    return f"(regexp_replace(strftime({expr}, '%Y-%m-%dT%H:%M:%S.%f'), '\\.0+$', '') || 'Z')"


def _cents(expr: str) -> str:
    """Non-negative integer cents as decimal text, for messages."""
    return f"(cast({expr} // 100 as varchar) || '.' || lpad(cast({expr} % 100 as varchar), 2, '0'))"


def _key(parent: str) -> str:
    """The key column of a table referenced by others (all such keys are one column)."""
    (column,) = raw_table_info(parent).key
    return column


@dataclass(frozen=True)
class Join:
    """A parent joined to the context: `left join {source} {alias} on {condition}`."""

    source: str  # a table name, or a parenthesised query over `reads`
    alias: str
    condition: str
    reads: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    """`c.column` must name a row of `parent` (when `when` holds); the join `alias` finds it,
    its `alias.found` column is null when it does not."""

    column: str
    parent: str
    alias: str
    found: str
    rule: str
    when: str | None = None

    @property
    def predicate(self) -> str:
        when = f"{self.when} and " if self.when else ""
        return f"{when}c.{self.column} is not null and {self.alias}.{self.found} is null"

    def quarantined_sql(self, offending: str) -> str:
        """Which offending references name a key present in the raw parent table."""
        return f"""
            select o.__rid, exists (
                select 1 from {self.parent}__all p where p.{_key(self.parent)} = o.ref
            ) as parent_exists
            from {offending} o"""


@dataclass(frozen=True)
class Check:
    """A rule on one row and the rows it references: offending when `predicate` is true."""

    rule: str
    column: str | None
    predicate: str
    detail: str


@dataclass(frozen=True)
class Context:
    """A table joined once to the parents its rules read; its references and checks."""

    table: str
    joins: tuple[Join, ...]
    references: tuple[Reference, ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.table, *(t for join in self.joins for t in join.reads))

    def sql(self, judged: str | None = None) -> str:
        """Every offending row of the table (of the relation `judged`, default the table
        itself): its id, and per rule the reason or null."""
        columns = ["c.__rid"]
        conditions = []
        for i, ref in enumerate(self.references):
            columns.append(f"case when {ref.predicate} then c.{ref.column} end as ref_{i}")
            conditions.append(f"({ref.predicate})")
        for i, check in enumerate(self.checks):
            columns.append(f"case when {check.predicate} then {check.detail} end as check_{i}")
            conditions.append(f"coalesce({check.predicate}, false)")
        joins = "\n".join(f"left join {j.source} {j.alias} on {j.condition}" for j in self.joins)
        return (
            f"select {', '.join(columns)}\nfrom {judged or self.table} c\n{joins}\n"
            f"where {' or '.join(conditions)}"
        )


@dataclass(frozen=True)
class SetRule:
    """A rule on a set of rows: a query returning the offending rows as (__rid, detail)."""

    rule: str
    table: str
    column: str | None
    depends_on: tuple[str, ...]
    sql: str


def _join(parent: str, alias: str, column: str) -> Join:
    return Join(parent, alias, f"{alias}.{_key(parent)} = c.{column}", (parent,))


def _ref(column: str, parent: str, alias: str, rule: str) -> Reference:
    return Reference(column, parent, alias, _key(parent), rule)


# "source_id: live -> live_id; video -> video_id; cart -> cart_add_id; showcase ->
# account_id". One join to the union of those places (what each is, since when, until
# when; for a cart add its SKU and buyer) instead of one join per source type.
def _sources(with_cart: bool) -> Join:
    cart = (
        """
        union all
        select 'cart', cart_add_id, added_at, null, sku_id, buyer_id from cart_adds"""
        if with_cart
        else ""
    )
    source = f"""(
        select 'live' as source_type, live_id as source_id, started_at as since,
            ended_at as until, cast(null as varchar) as sku_id,
            cast(null as varchar) as buyer_id
        from live_sessions
        union all
        select 'video', video_id, published_at, null, null, null from videos
        union all
        select 'showcase', account_id, null, null, null, null from accounts{cart}
    )"""
    reads = ("live_sessions", "videos", "accounts") + (("cart_adds",) if with_cart else ())
    return Join(
        source,
        "src",
        "src.source_type = c.source_type and src.source_id = c.source_id",
        reads,
    )


def _source_refs(with_cart: bool) -> tuple[Reference, ...]:
    places = {"live": "live_sessions", "video": "videos", "showcase": "accounts"}
    if with_cart:
        places["cart"] = "cart_adds"
    return tuple(
        Reference(
            "source_id", parent, "src", "source_id", "unknown_source", f"c.source_type = '{kind}'"
        )
        for kind, parent in places.items()
    )


# A line or cart add names a SKU and a product; "must match the SKU's product". Joined to
# the SKU with its product's shop, the product reference needs no join of its own: a
# product equal to its (valid) SKU's product exists, and any other is a mismatch.
_SKU = Join(
    "(select s.sku_id, s.product_id, p.shop_id from skus s join products p using (product_id))",
    "s",
    "s.sku_id = c.sku_id",
    ("skus", "products"),
)

_PRODUCT_OF_SKU = Check(
    "product_sku_mismatch",
    "product_id",
    "c.product_id <> s.product_id",
    "'product_id=' || c.product_id || ' but sku_id=' || c.sku_id || ' is a SKU of product '"
    " || s.product_id",
)


def _within_live(column: str, rule: str, live: str, when: str | None = None) -> Check:
    """Within [started_at, ended_at] of the LIVE; at or after started_at while on the air."""
    start, end = (
        (f"{live}.since", f"{live}.until")
        if live == "src"
        else (
            f"{live}.started_at",
            f"{live}.ended_at",
        )
    )
    condition = f"(c.{column} < {start} or c.{column} > {end})"
    return Check(
        rule,
        column,
        f"{when} and {condition}" if when else condition,
        f"'{column.split('_')[0]} at ' || {_ts('c.' + column)} || ' outside LIVE '"
        f" || c.{'source_id' if live == 'src' else 'live_id'}"
        f" || ' [' || {_ts(start)} || ', ' || coalesce({_ts(end)}, 'on the air') || ']'",
    )


# Parents before children: a pass judges a table after every table it references.
CONTEXTS: tuple[Context, ...] = (
    Context(
        "account_bindings",
        (_join("shops", "sh", "shop_id"), _join("accounts", "a", "account_id")),
        (
            _ref("shop_id", "shops", "sh", "unknown_shop"),
            _ref("account_id", "accounts", "a", "unknown_account"),
        ),
    ),
    Context(
        "products",
        (_join("shops", "sh", "shop_id"),),
        (_ref("shop_id", "shops", "sh", "unknown_shop"),),
    ),
    Context(
        "skus",
        (_join("products", "p", "product_id"),),
        (_ref("product_id", "products", "p", "unknown_product"),),
    ),
    Context(
        "live_sessions",
        (_join("accounts", "a", "account_id"),),
        (_ref("account_id", "accounts", "a", "unknown_account"),),
    ),
    Context(
        "live_products",
        (_join("live_sessions", "lv", "live_id"), _join("products", "p", "product_id")),
        (
            _ref("live_id", "live_sessions", "lv", "unknown_live"),
            _ref("product_id", "products", "p", "unknown_product"),
        ),
    ),
    Context(
        "videos",
        (_join("accounts", "a", "account_id"),),
        (_ref("account_id", "accounts", "a", "unknown_account"),),
    ),
    Context(
        "video_products",
        (_join("videos", "v", "video_id"), _join("products", "p", "product_id")),
        (
            _ref("video_id", "videos", "v", "unknown_video"),
            _ref("product_id", "products", "p", "unknown_product"),
        ),
    ),
    Context(
        "orders",
        (_join("shops", "sh", "shop_id"),),
        (_ref("shop_id", "shops", "sh", "unknown_shop"),),
    ),
    Context(
        "cart_adds",
        (_SKU, _sources(False)),
        (_ref("sku_id", "skus", "s", "unknown_sku"), *_source_refs(False)),
        (
            _PRODUCT_OF_SKU,
            # "A cart add from a live is added within [started_at, ended_at] of that LIVE
            # (at or after started_at while it is on the air)."
            _within_live("added_at", "cart_add_outside_live", "src", "c.source_type = 'live'"),
            # "one from a video at or after its published_at"
            Check(
                "cart_add_before_video",
                "added_at",
                "c.source_type = 'video' and c.added_at < src.since",
                f"'added at ' || {_ts('c.added_at')} || ' before video ' || c.source_id"
                f" || ' was published at ' || {_ts('src.since')}",
            ),
        ),
    ),
    Context(
        "order_lines",
        (
            _join("orders", "o", "order_id"),
            _SKU,
            _sources(True),
        ),
        (
            _ref("order_id", "orders", "o", "unknown_order"),
            _ref("sku_id", "skus", "s", "unknown_sku"),
            *_source_refs(True),
        ),
        (
            # "must match the SKU's product and the order's shop"
            _PRODUCT_OF_SKU,
            Check(
                "product_shop_mismatch",
                "product_id",
                "c.product_id = s.product_id and s.shop_id <> o.shop_id",
                "'product_id=' || c.product_id || ' belongs to shop ' || s.shop_id"
                " || ' but order ' || c.order_id || ' to shop ' || o.shop_id",
            ),
            # "A cart line has the same sku_id as its cart add, and its order the same
            # buyer_id." (`src` has a SKU and a buyer for cart adds only)
            Check(
                "cart_sku_mismatch",
                "sku_id",
                "src.sku_id <> c.sku_id",
                "'sku_id=' || c.sku_id || ' but cart add ' || c.source_id || ' is of sku '"
                " || src.sku_id",
            ),
            Check(
                "cart_buyer_mismatch",
                "source_id",
                "src.buyer_id <> o.buyer_id",
                "'order ' || c.order_id || ' of buyer ' || o.buyer_id || ' but cart add '"
                " || c.source_id || ' of buyer ' || src.buyer_id",
            ),
            # Time order: "a line cannot be bought somewhere before that place existed".
            *(
                Check(
                    rule,
                    "source_id",
                    f"c.source_type = '{kind}' and o.paid_at < src.since",
                    f"'order ' || c.order_id || ' paid at ' || {_ts('o.paid_at')}"
                    f" || ' before {place} ' || c.source_id || ' {event} '"
                    f" || {_ts('src.since')}",
                )
                for rule, kind, place, event in (
                    ("paid_before_live", "live", "LIVE", "started at"),
                    ("paid_before_video", "video", "video", "was published at"),
                    ("paid_before_cart_add", "cart", "cart add", "at"),
                )
            ),
        ),
    ),
    # "A refund belongs to a line of a paid order and is requested at or after paid_at."
    Context(
        "refunds",
        (
            _join("order_lines", "l", "line_id"),
            Join("orders", "o", "o.order_id = l.order_id", ("orders",)),
        ),
        (_ref("line_id", "order_lines", "l", "unknown_line"),),
        (
            Check(
                "unpaid_order",
                "line_id",
                "o.order_id is not null and o.paid_at is null",
                "'line ' || c.line_id || ' is of unpaid order ' || o.order_id",
            ),
            Check(
                "requested_before_paid",
                "requested_at",
                "c.requested_at < o.paid_at",
                f"'requested at ' || {_ts('c.requested_at')} || ' before order ' || o.order_id"
                f" || ' was paid at ' || {_ts('o.paid_at')}",
            ),
        ),
    ),
    # "A settlement belongs to a line of a paid order and is settled at or after paid_at."
    Context(
        "commission_settlements",
        (
            _join("order_lines", "l", "line_id"),
            Join("orders", "o", "o.order_id = l.order_id", ("orders",)),
            _join("accounts", "a", "account_id"),
        ),
        (
            _ref("line_id", "order_lines", "l", "unknown_line"),
            _ref("account_id", "accounts", "a", "unknown_account"),
        ),
        (
            Check(
                "unpaid_order",
                "line_id",
                "o.order_id is not null and o.paid_at is null",
                "'line ' || c.line_id || ' is of unpaid order ' || o.order_id",
            ),
            Check(
                "settled_before_paid",
                "settled_at",
                "c.settled_at < o.paid_at",
                f"'settled at ' || {_ts('c.settled_at')} || ' before order ' || o.order_id"
                f" || ' was paid at ' || {_ts('o.paid_at')}",
            ),
        ),
    ),
    # "occurred_at within [started_at, ended_at] of the LIVE"
    Context(
        "live_room_events",
        (_join("live_sessions", "lv", "live_id"),),
        (_ref("live_id", "live_sessions", "lv", "unknown_live"),),
        (_within_live("occurred_at", "outside_live", "lv"),),
    ),
    Context(
        "product_impressions",
        (_join("live_sessions", "lv", "live_id"), _join("products", "p", "product_id")),
        (
            _ref("live_id", "live_sessions", "lv", "unknown_live"),
            _ref("product_id", "products", "p", "unknown_product"),
        ),
        (_within_live("occurred_at", "outside_live", "lv"),),
    ),
)


SET_RULES: tuple[SetRule, ...] = (
    # "the sum over a line's succeeded refunds <= the line's GMV"; GMV as metrics.md
    # section 1, shipping shares in integer cents by largest remainder (ties: smaller
    # line_id), equal split when every weight is 0. The refund whose running total (by
    # succeeded_at, refund_id) first passes the GMV, and those after it, are offending.
    SetRule(
        "refund_exceeds_gmv",
        "refunds",
        "amount",
        ("refunds", "order_lines", "orders"),
        f"""
        with succeeded as (
            select __rid, refund_id, line_id, amount, succeeded_at
            from refunds
            where status = 'succeeded'
        ),
        refunded as (
            select line_id, sum(amount) as refunded from succeeded group by line_id
        ),
        -- A shipping share is never negative: refunds within the merchandise paid are
        -- within the GMV, so only orders with a line refunded beyond it need the shares.
        suspect_orders as (
            select distinct l.order_id
            from refunded r
            join order_lines l on l.line_id = r.line_id
            where r.refunded
                > l.quantity * l.unit_price - l.seller_discount - l.platform_discount
        ),
        lines as (
            select l.line_id, l.order_id,
                cast((l.quantity * l.unit_price - l.seller_discount) * 100 as hugeint)
                    as weight_cents,
                cast((l.quantity * l.unit_price - l.seller_discount - l.platform_discount)
                    * 100 as hugeint) as merchandise_cents
            from order_lines l
            where l.order_id in (select order_id from suspect_orders)
        ),
        paid_orders as (
            select order_id, cast(shipping_fee * 100 as hugeint) as fee_cents
            from orders
            where paid_at is not null and order_id in (select order_id from suspect_orders)
        ),
        weighted as (
            select l.*, o.fee_cents,
                sum(l.weight_cents) over (partition by l.order_id) as total_weight,
                count(*) over (partition by l.order_id) as line_count
            from lines l
            join paid_orders o on o.order_id = l.order_id
        ),
        exact as (
            select *,
                case when total_weight = 0 then 1 else weight_cents end as w,
                case when total_weight = 0 then line_count else total_weight end as w_total
            from weighted
        ),
        floored as (
            select *,
                (fee_cents * w) // w_total as floor_cents,
                (fee_cents * w) % w_total as remainder
            from exact
        ),
        ranked as (
            select *,
                fee_cents - sum(floor_cents) over (partition by order_id) as leftover,
                row_number() over (
                    partition by order_id order by remainder desc, line_id
                ) as remainder_rank
            from floored
        ),
        gmv as (
            select line_id,
                merchandise_cents + floor_cents
                    + case when remainder_rank <= leftover then 1 else 0 end as gmv_cents
            from ranked
        ),
        running as (
            select s.__rid, s.refund_id, s.line_id, g.gmv_cents,
                sum(cast(s.amount * 100 as hugeint)) over (
                    partition by s.line_id order by s.succeeded_at, s.refund_id
                    rows between unbounded preceding and current row
                ) as running_cents
            from succeeded s
            join gmv g on g.line_id = s.line_id
        )
        select __rid,
            'succeeded refunds of line ' || line_id || ' reach ' || {_cents("running_cents")}
                || ' with ' || refund_id || ', above the line''s GMV '
                || {_cents("gmv_cents")} as detail
        from running
        where running_cents > gmv_cents""",
    ),
    # "A LIVE may carry products of several shops, all of one currency."
    SetRule(
        "live_mixed_currency",
        "live_products",
        "product_id",
        ("live_products", "products", "shops"),
        """
        with bag as (
            select lp.__rid, lp.live_id, lp.product_id, s.currency
            from live_products lp
            join products p on p.product_id = lp.product_id
            join shops s on s.shop_id = p.shop_id
        ),
        mixed as (
            select live_id, string_agg(distinct currency, ', ' order by currency) as currencies
            from bag
            group by live_id
            having count(distinct currency) > 1
        )
        select b.__rid,
            'LIVE ' || b.live_id || ' carries products in several currencies ('
                || m.currencies || '); product ' || b.product_id || ' is in '
                || b.currency as detail
        from bag b
        join mixed m on m.live_id = b.live_id""",
    ),
)

# "Per viewer and LIVE, events ordered by (occurred_at, event_id) alternate enter, leave,
# enter, ... starting with enter." The reference query; `core` runs a sort-based
# equivalent and falls back to this one where that cannot decide.
ENTER_LEAVE_RULE = "enter_leave_order"
ENTER_LEAVE_SQL = f"""
    with ordered as (
        select __rid, live_id, viewer_id, event_type, occurred_at,
            lag(event_type) over (
                partition by live_id, viewer_id order by occurred_at, event_id
            ) as previous
        from {{events}}
        {{where}}
    )
    select __rid,
        case when previous is null
            then 'first event of viewer ' || viewer_id || ' in LIVE ' || live_id || ' is a leave'
            else event_type || ' at ' || {_ts("occurred_at")} || ' follows another '
                || previous || ' of viewer ' || viewer_id || ' in LIVE ' || live_id
        end as detail
    from ordered
    where (previous is null and event_type = 'leave') or previous = event_type"""
