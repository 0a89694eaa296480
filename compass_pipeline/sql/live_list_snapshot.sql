-- live_list_snapshot: one row per LIVE-list refresh × shop × LIVE that the shop's list shows
-- (直播分析-直播列表, seller view), with its numbers as of the refresh.
-- FAQ 直播模块 Q1, Q9, Q10 (three refreshes a day until window_close; GMV and refunds grow
-- after the LIVE), Q3 (店铺本国数据: only buyers of the shop's region), Q4 (cart lines go to
-- the LIVE of the cart add), 数据概览 Q3 (grouped by the LIVE start date in the shop's time
-- zone). metrics.md §3–5, §7, §14; outputs.md "LIVE list".
-- A refresh's numbers are the running totals of live_line_hours at the last hour at or
-- before it (an as-of join), per shop × LIVE.

with

members as (
    select snapshot_at, shop_id, live_id, ended_at, is_final from live_membership
),

lives as (
    select live_id, account_id, account_type, started_at from live_session_facts
),

shops as (
    select shop_id, region, timezone from raw_shops
),

-- the LIVE start date in each shop's time zone, once per shop × LIVE
start_dates as (
    select
        pairs.shop_id,
        pairs.live_id,
        cast(timezone(shops.timezone, lives.started_at) as date) as start_date
    from (select distinct shop_id, live_id from members) as pairs
    inner join lives on pairs.live_id = lives.live_id
    inner join shops on pairs.shop_id = shops.shop_id
),

local_hours as (
    select live_line_hours.*
    from live_line_hours
    inner join shops
        on live_line_hours.shop_id = shops.shop_id
        and live_line_hours.buyer_country = shops.region
),

running as (
    select
        shop_id,
        live_id,
        visible_at,
        sum(gmv) over so_far as gmv,
        sum(gmv_during_live) over so_far as gmv_during_live,
        sum(gmv_after_live) over so_far as gmv_after_live,
        sum(sku_orders) over so_far as sku_orders,
        sum(items_sold) over so_far as items_sold,
        sum(refund_amount) over so_far as refund_amount
    from local_hours
    window so_far as (
        partition by shop_id, live_id
        order by visible_at
        rows between unbounded preceding and current row
    )
),

as_of as (
    select
        members.*,
        running.gmv,
        running.gmv_during_live,
        running.gmv_after_live,
        running.sku_orders,
        running.items_sold,
        running.refund_amount
    from members
    asof left join running
        on members.shop_id = running.shop_id
        and members.live_id = running.live_id
        and running.visible_at <= members.snapshot_at
),

final as (
    select
        as_of.snapshot_at,
        as_of.shop_id,
        as_of.live_id,
        lives.account_id,
        lives.account_type,
        start_dates.start_date,
        lives.started_at,
        as_of.ended_at,
        case when as_of.ended_at is null then 'live' else 'ended' end as status,
        cast(coalesce(as_of.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(as_of.gmv_during_live, 0) as decimal(18, 2)) as gmv_during_live,
        cast(coalesce(as_of.gmv_after_live, 0) as decimal(18, 2)) as gmv_after_live,
        cast(coalesce(as_of.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(as_of.items_sold, 0) as bigint) as items_sold,
        cast(coalesce(as_of.refund_amount, 0) as decimal(18, 2)) as refund_amount,
        as_of.is_final
    from as_of
    inner join lives on as_of.live_id = lives.live_id
    inner join start_dates
        on as_of.shop_id = start_dates.shop_id
        and as_of.live_id = start_dates.live_id
)

select * from final
