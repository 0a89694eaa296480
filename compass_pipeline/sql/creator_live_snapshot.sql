-- creator_live_snapshot: one row per LIVE-list refresh × LIVE, the creator view (Live
-- Manager / 达人罗盘) of every LIVE started at or before T whose window is open at T.
-- FAQ 不同罗盘对比: the creator view counts the products of every shop sold in the LIVE, the
-- seller view only its own shop's; both on the LIVE list's cadence, the creator view with the
-- buyers of the LIVE's region (metrics.md §4, §10, §14). gmv_own_shops keeps the shops the
-- host has a binding in force with at T; shop_count the shops with a counted line.

with

refreshes as (
    select snapshot_at, live_id, ended_at, is_final from live_refreshes
),

lives as (
    select live_id, account_id, region, started_at from live_session_facts
),

bindings as (
    select shop_id, account_id, bound_at, unbound_at from raw_account_bindings
),

region_hours as (
    select live_line_hours.*
    from live_line_hours
    inner join lives
        on live_line_hours.live_id = lives.live_id
        and live_line_hours.buyer_country = lives.region
),

running as (
    select
        shop_id,
        live_id,
        visible_at,
        sum(gmv) over so_far as gmv,
        sum(sku_orders) over so_far as sku_orders,
        sum(items_sold) over so_far as items_sold
    from region_hours
    window so_far as (
        partition by shop_id, live_id
        order by visible_at
        rows between unbounded preceding and current row
    )
),

shop_refreshes as (
    select refreshes.snapshot_at, selling.shop_id, refreshes.live_id
    from refreshes
    inner join (select distinct live_id, shop_id from region_hours) as selling
        on refreshes.live_id = selling.live_id
),

shop_as_of as (
    select
        shop_refreshes.*,
        running.gmv,
        running.sku_orders,
        running.items_sold
    from shop_refreshes
    asof inner join running
        on shop_refreshes.shop_id = running.shop_id
        and shop_refreshes.live_id = running.live_id
        and running.visible_at <= shop_refreshes.snapshot_at
),

shop_rows as (
    select
        shop_as_of.*,
        exists (
            select 1
            from bindings
            where
                bindings.shop_id = shop_as_of.shop_id
                and bindings.account_id = lives.account_id
                and bindings.bound_at <= shop_as_of.snapshot_at
                and (bindings.unbound_at is null or bindings.unbound_at > shop_as_of.snapshot_at)
        ) as host_bound
    from shop_as_of
    inner join lives on shop_as_of.live_id = lives.live_id
),

live_totals as (
    select
        snapshot_at,
        live_id,
        sum(gmv) as gmv_all_shops,
        coalesce(sum(gmv) filter (where host_bound), 0) as gmv_own_shops,
        count(*) filter (where sku_orders > 0) as shop_count,
        sum(sku_orders) as sku_orders,
        sum(items_sold) as items_sold
    from shop_rows
    group by snapshot_at, live_id
),

final as (
    select
        refreshes.snapshot_at,
        refreshes.live_id,
        lives.account_id,
        lives.region,
        lives.started_at,
        refreshes.ended_at,
        case when refreshes.ended_at is null then 'live' else 'ended' end as status,
        cast(coalesce(live_totals.gmv_all_shops, 0) as decimal(18, 2)) as gmv_all_shops,
        cast(coalesce(live_totals.gmv_own_shops, 0) as decimal(18, 2)) as gmv_own_shops,
        cast(coalesce(live_totals.shop_count, 0) as bigint) as shop_count,
        cast(coalesce(live_totals.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(live_totals.items_sold, 0) as bigint) as items_sold,
        refreshes.is_final
    from refreshes
    inner join lives on refreshes.live_id = lives.live_id
    left join live_totals
        on refreshes.snapshot_at = live_totals.snapshot_at
        and refreshes.live_id = live_totals.live_id
)

select * from final
