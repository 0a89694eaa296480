-- live_membership: one row per refresh × shop × LIVE that the shop's LIVE list shows, with
-- the LIVE's end and status as of the refresh and whether the refresh is its final one.
-- outputs.md "LIVE list": at refresh T (covered by live_refreshes), the LIVE's shopping bag
-- holds one of the shop's products, or its host has a binding to the shop in force at T
-- (live_host_bindings), or one of the shop's lines paid at or before T is attributed to it,
-- from any buyer country. The dashboard applies the same rule at its own refreshes
-- (FAQ 直播模块 Q1, Q5, 不同罗盘对比). The bag has no validity time, so it links always.

with

refreshes as (
    select snapshot_at, live_id, ended_at, status, is_final from live_refreshes
),

host_shops as (
    select snapshot_at, live_id, shop_id from live_host_bindings where in_force
),

bag_links as (
    select distinct
        live_products.live_id,
        products.shop_id,
        cast(null as timestamptz) as linked_from
    from raw_live_products as live_products
    inner join raw_products as products on live_products.product_id = products.product_id
    where live_products.live_id in (select live_id from refreshes)
),

-- visible_at is paid_at rounded up to the hour: against whole-hour refreshes, the same test
line_links as (
    select
        live_id,
        shop_id,
        min(visible_at) as linked_from
    from live_line_hours
    where sku_orders > 0
    group by live_id, shop_id
),

links as (
    select * from bag_links
    union all
    select * from line_links
),

linked as (
    select refreshes.snapshot_at, links.shop_id, refreshes.live_id
    from refreshes
    inner join links
        on refreshes.live_id = links.live_id
        and (links.linked_from is null or links.linked_from <= refreshes.snapshot_at)
    union all
    select snapshot_at, shop_id, live_id from host_shops
),

final as (
    select
        refreshes.snapshot_at,
        shops.shop_id,
        refreshes.live_id,
        refreshes.ended_at,
        refreshes.status,
        refreshes.is_final
    from refreshes
    inner join (select distinct snapshot_at, shop_id, live_id from linked) as shops
        on refreshes.snapshot_at = shops.snapshot_at
        and refreshes.live_id = shops.live_id
)

select * from final
