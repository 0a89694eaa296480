-- live_membership: one row per refresh × shop × LIVE that the shop's LIVE list shows, with
-- the LIVE's end as of the refresh and whether the refresh is its final one.
-- outputs.md "LIVE list": at refresh T (covered by live_refreshes), the LIVE's shopping bag
-- holds one of the shop's products, or its host has a binding to the shop in force at T
-- (bound_at <= T < unbound_at), or one of the shop's lines paid at or before T is attributed
-- to it, from any buyer country. The dashboard applies the same rule at its own refreshes
-- (FAQ 直播模块 Q1, Q5, 不同罗盘对比). The bag has no validity time, so it links always.

with

refreshes as (
    select snapshot_at, live_id, ended_at, is_final from live_refreshes
),

lives as (
    select live_id, account_id
    from live_session_facts
    where live_id in (select live_id from refreshes)
),

bag_links as (
    select distinct
        live_products.live_id,
        products.shop_id,
        cast(null as timestamptz) as linked_from,
        cast(null as timestamptz) as linked_until
    from raw_live_products as live_products
    inner join raw_products as products on live_products.product_id = products.product_id
    inner join lives on live_products.live_id = lives.live_id
),

binding_links as (
    select
        lives.live_id,
        bindings.shop_id,
        bindings.bound_at as linked_from,
        bindings.unbound_at as linked_until
    from lives
    inner join raw_account_bindings as bindings on lives.account_id = bindings.account_id
),

-- visible_at is paid_at rounded up to the hour: against whole-hour refreshes, the same test
line_links as (
    select
        live_id,
        shop_id,
        min(visible_at) as linked_from,
        cast(null as timestamptz) as linked_until
    from live_line_hours
    where sku_orders > 0
    group by live_id, shop_id
),

links as (
    select * from bag_links
    union all
    select * from binding_links
    union all
    select * from line_links
),

final as (
    select distinct
        refreshes.snapshot_at,
        links.shop_id,
        refreshes.live_id,
        refreshes.ended_at,
        refreshes.is_final
    from refreshes
    inner join links
        on refreshes.live_id = links.live_id
        and (links.linked_from is null or links.linked_from <= refreshes.snapshot_at)
        and (links.linked_until is null or refreshes.snapshot_at < links.linked_until)
)

select * from final
