-- creator_live_snapshot: one row per LIVE-list refresh × LIVE, the creator view (Live
-- Manager / 达人罗盘) of every LIVE started at or before T whose window is open at T.
-- FAQ 不同罗盘对比: the creator view counts the products of every shop sold in the LIVE, the
-- seller view only its own shop's; both on the LIVE list's cadence, the creator view with the
-- buyers of the LIVE's region (metrics.md §4, §10, §14). gmv_own_shops keeps the shops the
-- host has a binding in force with at T (live_host_bindings); shop_count the shops with a
-- counted line. The numbers as of T are live_totals_as_of's, in the scope of the LIVE's
-- region (live_region_*).

with

refreshes as (
    select snapshot_at, live_id, ended_at, status, is_final from live_refreshes
),

lives as (
    select live_id, account_id, region, started_at from live_session_facts
),

host_shops as (
    select distinct snapshot_at, live_id, shop_id from live_host_bindings where in_force
),

-- each shop's sales to buyers of the LIVE's region, as of the refresh
totals as (
    select
        snapshot_at,
        shop_id,
        live_id,
        live_region_gmv,
        live_region_sku_orders,
        live_region_items_sold
    from live_totals_as_of
),

shop_rows as (
    select
        totals.snapshot_at,
        totals.live_id,
        totals.live_region_gmv as gmv,
        totals.live_region_sku_orders as sku_orders,
        totals.live_region_items_sold as items_sold,
        host_shops.shop_id is not null as host_bound
    from totals
    left join host_shops
        on totals.snapshot_at = host_shops.snapshot_at
        and totals.live_id = host_shops.live_id
        and totals.shop_id = host_shops.shop_id
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
        refreshes.status,
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
