-- big_screen_snapshot: one row per dashboard refresh (00:00 UTC) × shop × LIVE: the LIVE
-- dashboard (直播大屏) of each LIVE of the shop's list that ended at or before T, until
-- 00:00 UTC of date_utc(ended_at) + 30 (is_final).
-- FAQ 直播模块 Q1, Q8, Q10 (refreshed once a day at 00:00 UTC, so it lags the list), Q2, Q5
-- (entry available only to a channel account or a shop-integrated official account bound at
-- T), Q3 (global data: every buyer country; gmv_local is the list's scope), Q6 (only the
-- room's attributed lines), Q7 (global view), Q11 (impressions of the shop's products),
-- Q12 (peak of the per-minute online users). metrics.md §3–5, §12–14; outputs.md.
-- The numbers as of T are live_totals_as_of's, over every buyer country (gmv_local: its
-- shop's-region scope); where the host's binding to the shop stands at T is
-- live_host_bindings'.

with

members as (
    select snapshot_at, shop_id, live_id, ended_at, is_final from live_membership
),

lives as (
    select live_id, account_id, account_type, started_at, global_view
    from live_session_facts
),

totals as (
    select
        snapshot_at,
        shop_id,
        live_id,
        gmv,
        local_gmv,
        sku_orders,
        items_sold,
        refund_amount
    from live_totals_as_of
),

host_bindings as (
    select snapshot_at, live_id, shop_id, binding_type, in_force, ended, not_yet_in_force
    from live_host_bindings
),

-- §12: the binding type that opens the entry for the host's account type, as it stands at T
entry_bindings as (
    select
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        coalesce(bool_or(host_bindings.in_force), false) as bound_in_force,
        coalesce(bool_or(host_bindings.ended), false) as was_unbound,
        coalesce(bool_or(host_bindings.not_yet_in_force), false) as bound_later
    from members
    inner join lives on members.live_id = lives.live_id
    left join host_bindings
        on members.snapshot_at = host_bindings.snapshot_at
        and members.live_id = host_bindings.live_id
        and members.shop_id = host_bindings.shop_id
        and host_bindings.binding_type = case lives.account_type
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
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        lives.account_id,
        lives.account_type,
        lives.started_at,
        members.ended_at,
        entries.entry_available,
        entries.entry_unavailable_reason,
        lives.global_view,
        cast(coalesce(totals.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(totals.local_gmv, 0) as decimal(18, 2)) as gmv_local,
        cast(coalesce(totals.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(totals.items_sold, 0) as bigint) as items_sold,
        cast(coalesce(room.views, 0) as bigint) as views,
        cast(coalesce(room.viewers, 0) as bigint) as viewers,
        cast(coalesce(impressions.product_impressions, 0) as bigint) as product_impressions,
        cast(coalesce(peaks.peak_online_users, 0) as bigint) as peak_online_users,
        cast(coalesce(totals.refund_amount, 0) as decimal(18, 2)) as refund_amount,
        members.is_final
    from members
    inner join lives on members.live_id = lives.live_id
    inner join entries
        on members.snapshot_at = entries.snapshot_at
        and members.shop_id = entries.shop_id
        and members.live_id = entries.live_id
    left join totals
        on members.snapshot_at = totals.snapshot_at
        and members.shop_id = totals.shop_id
        and members.live_id = totals.live_id
    left join room on members.live_id = room.live_id
    left join peaks on members.live_id = peaks.live_id
    left join impressions
        on members.live_id = impressions.live_id
        and members.shop_id = impressions.shop_id
)

select * from final
