-- live_list_snapshot: one row per LIVE-list refresh × shop × LIVE that the shop's list shows
-- (直播分析-直播列表, seller view), with its numbers as of the refresh.
-- FAQ 直播模块 Q1, Q9, Q10 (three refreshes a day until window_close; GMV and refunds grow
-- after the LIVE), Q3 (店铺本国数据: only buyers of the shop's region), Q4 (cart lines go to
-- the LIVE of the cart add), 数据概览 Q3 (grouped by the LIVE start date in the shop's time
-- zone: live_shop_facts). metrics.md §3–5, §7, §14; outputs.md "LIVE list".
-- A refresh's numbers are live_totals_as_of's, in the scope of the shop's region (local_*).

with

members as (
    select snapshot_at, shop_id, live_id, ended_at, status, is_final from live_membership
),

lives as (
    select live_id, account_id, account_type, started_at from live_session_facts
),

start_dates as (
    select shop_id, live_id, start_date from live_shop_facts
),

-- the shop's local buyers' numbers as of the refresh
totals as (
    select
        snapshot_at,
        shop_id,
        live_id,
        local_gmv,
        local_gmv_during_live,
        local_gmv_after_live,
        local_sku_orders,
        local_items_sold,
        local_refund_amount
    from live_totals_as_of
),

final as (
    select
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        lives.account_id,
        lives.account_type,
        start_dates.start_date,
        lives.started_at,
        members.ended_at,
        members.status,
        cast(coalesce(totals.local_gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(totals.local_gmv_during_live, 0) as decimal(18, 2)) as gmv_during_live,
        cast(coalesce(totals.local_gmv_after_live, 0) as decimal(18, 2)) as gmv_after_live,
        cast(coalesce(totals.local_sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(totals.local_items_sold, 0) as bigint) as items_sold,
        cast(coalesce(totals.local_refund_amount, 0) as decimal(18, 2)) as refund_amount,
        members.is_final
    from members
    inner join lives on members.live_id = lives.live_id
    inner join start_dates
        on members.shop_id = start_dates.shop_id
        and members.live_id = start_dates.live_id
    left join totals
        on members.snapshot_at = totals.snapshot_at
        and members.shop_id = totals.shop_id
        and members.live_id = totals.live_id
)

select * from final
