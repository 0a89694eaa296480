-- live_totals_as_of: one row per refresh × shop × LIVE with a line or a refund that the
-- refresh sees: the LIVE's numbers for that shop as of the refresh (running totals of
-- live_line_hours at its last hour at or before T), in the three buyer-country scopes of the
-- LIVE views (FAQ 直播模块 Q3, metrics.md §4): every country (the dashboard), the shop's
-- region (local_*: the LIVE list, and the dashboard's gmv_local) and the LIVE's region
-- (live_region_*: the creator view). A scope with nothing yet is null.
-- FAQ 直播模块 Q1, Q9, Q10: a refresh at T shows lines paid and refunds succeeded at or before
-- T, so a LIVE's GMV and refunds keep growing after it ends, until its window closes
-- (metrics.md §5, §7, §14). This is the only place a refresh's numbers are read off the
-- hours. Every refresh of a backfill is one as-of lookup into the same running sums: one
-- pass over the hours for any number of instants (ARCHITECTURE.md, "As-of is a filter, not
-- a copy").

with

refreshes as (
    select snapshot_at, live_id from live_refreshes
),

hours as (
    select * from live_line_hours
),

lives as (
    select live_id, region from live_session_facts
),

shops as (
    select shop_id, region from raw_shops
),

scoped_hours as (
    select
        hours.shop_id,
        hours.live_id,
        hours.visible_at,
        sum(hours.gmv) as gmv,
        sum(hours.sku_orders) as sku_orders,
        sum(hours.items_sold) as items_sold,
        sum(hours.refund_amount) as refund_amount,
        sum(hours.gmv) filter (where hours.buyer_country = shops.region) as local_gmv,
        sum(hours.gmv_during_live) filter (where hours.buyer_country = shops.region)
            as local_gmv_during_live,
        sum(hours.gmv_after_live) filter (where hours.buyer_country = shops.region)
            as local_gmv_after_live,
        sum(hours.sku_orders) filter (where hours.buyer_country = shops.region)
            as local_sku_orders,
        sum(hours.items_sold) filter (where hours.buyer_country = shops.region)
            as local_items_sold,
        sum(hours.refund_amount) filter (where hours.buyer_country = shops.region)
            as local_refund_amount,
        sum(hours.gmv) filter (where hours.buyer_country = lives.region) as live_region_gmv,
        sum(hours.sku_orders) filter (where hours.buyer_country = lives.region)
            as live_region_sku_orders,
        sum(hours.items_sold) filter (where hours.buyer_country = lives.region)
            as live_region_items_sold
    from hours
    inner join lives on hours.live_id = lives.live_id
    left join shops on hours.shop_id = shops.shop_id
    group by hours.shop_id, hours.live_id, hours.visible_at
),

running as (
    select
        shop_id,
        live_id,
        visible_at,
        sum(gmv) over so_far as gmv,
        sum(sku_orders) over so_far as sku_orders,
        sum(items_sold) over so_far as items_sold,
        sum(refund_amount) over so_far as refund_amount,
        sum(local_gmv) over so_far as local_gmv,
        sum(local_gmv_during_live) over so_far as local_gmv_during_live,
        sum(local_gmv_after_live) over so_far as local_gmv_after_live,
        sum(local_sku_orders) over so_far as local_sku_orders,
        sum(local_items_sold) over so_far as local_items_sold,
        sum(local_refund_amount) over so_far as local_refund_amount,
        sum(live_region_gmv) over so_far as live_region_gmv,
        sum(live_region_sku_orders) over so_far as live_region_sku_orders,
        sum(live_region_items_sold) over so_far as live_region_items_sold
    from scoped_hours
    window so_far as (
        partition by shop_id, live_id
        order by visible_at
        rows between unbounded preceding and current row
    )
),

-- each refresh of a LIVE, for every shop with hours of that LIVE
lookups as (
    select refreshes.snapshot_at, selling.shop_id, selling.live_id
    from refreshes
    inner join (select distinct shop_id, live_id from hours) as selling
        on refreshes.live_id = selling.live_id
),

-- the last hour at or before the refresh; none yet: no row
final as (
    select
        lookups.snapshot_at,
        lookups.shop_id,
        lookups.live_id,
        running.gmv,
        running.sku_orders,
        running.items_sold,
        running.refund_amount,
        running.local_gmv,
        running.local_gmv_during_live,
        running.local_gmv_after_live,
        running.local_sku_orders,
        running.local_items_sold,
        running.local_refund_amount,
        running.live_region_gmv,
        running.live_region_sku_orders,
        running.live_region_items_sold
    from lookups
    asof inner join running
        on lookups.shop_id = running.shop_id
        and lookups.live_id = running.live_id
        and running.visible_at <= lookups.snapshot_at
)

select * from final
