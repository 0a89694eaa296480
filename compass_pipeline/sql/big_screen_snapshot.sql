-- big_screen_snapshot: one row per dashboard refresh (00:00 UTC) × shop × LIVE: the LIVE
-- dashboard (直播大屏) of each LIVE of the shop's list that ended at or before T, until
-- 00:00 UTC of date_utc(ended_at) + 30 (is_final).
-- FAQ 直播模块 Q1, Q8, Q10 (refreshed once a day at 00:00 UTC, so it lags the list), Q2, Q5
-- (entry available only to a channel account or a shop-integrated official account bound at
-- T), Q3 (global data: every buyer country; gmv_local is the list's scope), Q6 (only the
-- room's attributed lines), Q7 (global view), Q11 (impressions of the shop's products),
-- Q12 (peak of the per-minute online users). metrics.md §3–5, §12–14; outputs.md.

with

members as (
    select snapshot_at, shop_id, live_id, ended_at, is_final from live_membership
),

lives as (
    select live_id, account_id, account_type, started_at, global_view
    from live_session_facts
),

shops as (
    select shop_id, region from raw_shops
),

bindings as (
    select shop_id, account_id, binding_type, bound_at, unbound_at from raw_account_bindings
),

shop_hours as (
    select
        live_line_hours.shop_id,
        live_line_hours.live_id,
        live_line_hours.visible_at,
        sum(live_line_hours.gmv) as gmv,
        coalesce(
            sum(live_line_hours.gmv) filter (where live_line_hours.buyer_country = shops.region),
            0
        ) as gmv_local,
        sum(live_line_hours.sku_orders) as sku_orders,
        sum(live_line_hours.items_sold) as items_sold,
        sum(live_line_hours.refund_amount) as refund_amount
    from live_line_hours
    inner join shops on live_line_hours.shop_id = shops.shop_id
    group by live_line_hours.shop_id, live_line_hours.live_id, live_line_hours.visible_at
),

running as (
    select
        shop_id,
        live_id,
        visible_at,
        sum(gmv) over so_far as gmv,
        sum(gmv_local) over so_far as gmv_local,
        sum(sku_orders) over so_far as sku_orders,
        sum(items_sold) over so_far as items_sold,
        sum(refund_amount) over so_far as refund_amount
    from shop_hours
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
        running.gmv_local,
        running.sku_orders,
        running.items_sold,
        running.refund_amount
    from members
    asof left join running
        on members.shop_id = running.shop_id
        and members.live_id = running.live_id
        and running.visible_at <= members.snapshot_at
),

-- §12: the binding type that opens the entry for the host's account type
entry_bindings as (
    select
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        coalesce(bool_or(
            bindings.bound_at <= members.snapshot_at
            and (bindings.unbound_at is null or bindings.unbound_at > members.snapshot_at)
        ), false) as bound_in_force,
        coalesce(bool_or(bindings.unbound_at <= members.snapshot_at), false) as was_unbound,
        coalesce(bool_or(bindings.bound_at > members.snapshot_at), false) as bound_later
    from members
    inner join lives on members.live_id = lives.live_id
    left join bindings
        on members.shop_id = bindings.shop_id
        and lives.account_id = bindings.account_id
        and bindings.binding_type = case lives.account_type
            when 'official' then 'official_integrated'
            when 'channel' then 'channel'
        end
    group by members.snapshot_at, members.shop_id, members.live_id
),

entries as (
    select
        entry_bindings.snapshot_at,
        entry_bindings.shop_id,
        entry_bindings.live_id,
        entry_bindings.bound_in_force as entry_available,
        case
            when entry_bindings.bound_in_force then null
            when lives.account_type = 'affiliate' then 'affiliate_account'
            when entry_bindings.was_unbound then 'unbound'
            when entry_bindings.bound_later then 'bound_after_refresh'
            else 'not_bound'
        end as entry_unavailable_reason
    from entry_bindings
    inner join lives on entry_bindings.live_id = lives.live_id
),

room as (
    select live_id, views, viewers from live_room_traffic where is_room_total
),

peaks as (
    select live_id, max(online_users) as peak_online_users
    from live_online_minutes
    group by live_id
),

-- §13: impressions of the shop's products in the LIVE (one view can expose many)
product_impressions as (
    select live_id, product_id, count(*) as impressions
    from raw_product_impressions
    where live_id in (select live_id from members)
    group by live_id, product_id
),

impressions as (
    select
        product_impressions.live_id,
        products.shop_id,
        sum(product_impressions.impressions) as product_impressions
    from product_impressions
    inner join raw_products as products on product_impressions.product_id = products.product_id
    group by product_impressions.live_id, products.shop_id
),

final as (
    select
        as_of.snapshot_at,
        as_of.shop_id,
        as_of.live_id,
        lives.account_id,
        lives.account_type,
        lives.started_at,
        as_of.ended_at,
        entries.entry_available,
        entries.entry_unavailable_reason,
        lives.global_view,
        cast(coalesce(as_of.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(as_of.gmv_local, 0) as decimal(18, 2)) as gmv_local,
        cast(coalesce(as_of.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(as_of.items_sold, 0) as bigint) as items_sold,
        cast(coalesce(room.views, 0) as bigint) as views,
        cast(coalesce(room.viewers, 0) as bigint) as viewers,
        cast(coalesce(impressions.product_impressions, 0) as bigint) as product_impressions,
        cast(coalesce(peaks.peak_online_users, 0) as bigint) as peak_online_users,
        cast(coalesce(as_of.refund_amount, 0) as decimal(18, 2)) as refund_amount,
        as_of.is_final
    from as_of
    inner join lives on as_of.live_id = lives.live_id
    inner join entries
        on as_of.snapshot_at = entries.snapshot_at
        and as_of.shop_id = entries.shop_id
        and as_of.live_id = entries.live_id
    left join room on as_of.live_id = room.live_id
    left join peaks on as_of.live_id = peaks.live_id
    left join impressions
        on as_of.live_id = impressions.live_id
        and as_of.shop_id = impressions.shop_id
)

select * from final
