-- order_management_daily: order management (订单管理), one row per shop × stat date,
-- zero-filled over every shop × date with activity.
-- FAQ 数据概览 Q4 (orders are counted per order, without the orders already cancelled or
-- refunded at the time), Q2 (refund details by request time). metrics.md §6, §7, §14.
-- An order's state is taken at the end of its paid stat date (shop-local): cancelled wins
-- over fully refunded, so an order is never counted twice. Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

shop_dates as (
    select shop_id, stat_date
    from shop_activity_facts
    where stat_date in (select stat_date from partition_dates)
),

lines as (
    select shop_id, stat_date, order_id, gmv, cancelled_stat_date
    from line_facts
    where stat_date in (select stat_date from partition_dates)
),

succeeded_refunds as (
    select order_id, amount, success_stat_date
    from refund_facts
    where status = 'succeeded'
),

requested_refunds as (
    select shop_id, request_stat_date as stat_date, amount
    from refund_facts
    where request_stat_date in (select stat_date from partition_dates)
),

paid_orders as (
    select
        shop_id,
        stat_date,
        order_id,
        sum(gmv) as order_gmv,
        count(*) as order_lines,
        bool_or(cancelled_stat_date <= stat_date) as cancelled_by_end_of_day
    from lines
    group by shop_id, stat_date, order_id
),

refunded_by_end_of_day as (
    select
        paid_orders.order_id,
        sum(succeeded_refunds.amount) as refunded_amount
    from paid_orders
    inner join succeeded_refunds
        on paid_orders.order_id = succeeded_refunds.order_id
        and succeeded_refunds.success_stat_date <= paid_orders.stat_date
    group by paid_orders.order_id
),

order_states as (
    select
        paid_orders.shop_id,
        paid_orders.stat_date,
        paid_orders.order_lines,
        case
            when paid_orders.cancelled_by_end_of_day then 'cancelled'
            when refunded_by_end_of_day.refunded_amount > 0
                and refunded_by_end_of_day.refunded_amount >= paid_orders.order_gmv
                then 'refunded'
            else 'open'
        end as state
    from paid_orders
    left join refunded_by_end_of_day on paid_orders.order_id = refunded_by_end_of_day.order_id
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
    from order_states
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
