-- order_management_daily: order management (订单管理), one row per shop × stat date,
-- zero-filled over every shop × date with activity.
-- FAQ 数据概览 Q4 (orders are counted per order, without the orders already cancelled or
-- refunded at the time), Q2 (refund details by request time). metrics.md §6, §7, §14.
-- Each order's state at the end of its paid stat date (cancelled wins over fully refunded,
-- so an order is never counted twice) is order_facts'; this counts the states.
-- Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

shop_dates as (
    select shop_id, stat_date
    from shop_activity_facts
    where stat_date in (select stat_date from partition_dates)
),

orders as (
    select shop_id, stat_date, order_lines, state_at_end_of_stat_date as state
    from order_facts
    where stat_date in (select stat_date from partition_dates)
),

requested_refunds as (
    select shop_id, request_stat_date as stat_date, amount
    from refund_facts
    where request_stat_date in (select stat_date from partition_dates)
),

order_totals as (
    select
        shop_id,
        stat_date,
        count(*) filter (where state = 'open') as orders,
        count(*) filter (where state = 'cancelled') as cancelled_orders,
        count(*) filter (where state = 'refunded') as refunded_orders,
        count(*) as paid_orders,
        sum(order_lines) as order_lines
    from orders
    group by shop_id, stat_date
),

request_totals as (
    select
        shop_id,
        stat_date,
        sum(amount) as refund_requested_amount,
        count(*) as refund_requests
    from requested_refunds
    group by shop_id, stat_date
),

final as (
    select
        shop_dates.shop_id,
        shop_dates.stat_date,
        cast(coalesce(order_totals.orders, 0) as bigint) as orders,
        cast(coalesce(order_totals.cancelled_orders, 0) as bigint) as cancelled_orders,
        cast(coalesce(order_totals.refunded_orders, 0) as bigint) as refunded_orders,
        cast(
            coalesce(request_totals.refund_requested_amount, 0) as decimal(18, 2)
        ) as refund_requested_amount,
        cast(coalesce(request_totals.refund_requests, 0) as bigint) as refund_requests,
        cast(coalesce(order_totals.paid_orders, 0) as bigint) as paid_orders,
        cast(coalesce(order_totals.order_lines, 0) as bigint) as order_lines
    from shop_dates
    left join order_totals using (shop_id, stat_date)
    left join request_totals using (shop_id, stat_date)
)

select * from final
order by stat_date, shop_id
