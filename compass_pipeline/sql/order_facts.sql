-- order_facts: one row per paid order, with its state at the end of its paid stat date.
-- FAQ 数据概览 Q4: order management counts each order once and leaves out the orders already
-- cancelled or fully refunded, where the compass counts every SKU line. metrics.md §6: an
-- order is fully refunded when its refunds succeeded by then are > 0 and ≥ its GMV; an order
-- both cancelled and fully refunded is cancelled (cancelled wins), so it is counted once.
-- This is the only place an order's state is decided: order_management_daily counts it and
-- R04 (reconciliation_daily) explains sku_orders − orders with it.
-- The state is taken at the end of the order's paid stat date in the shop's time zone (both
-- dates come from the facts). Grain: one row per order_id.

with

lines as (
    select shop_id, stat_date, order_id, gmv, cancelled_stat_date from line_facts
),

succeeded_refunds as (
    select order_id, amount, success_stat_date
    from refund_facts
    where status = 'succeeded'
),

paid_orders as (
    select
        shop_id,
        stat_date,
        order_id,
        count(*) as order_lines,
        sum(gmv) as gmv,
        -- an order is cancelled as a whole: every line carries the same date
        min(cancelled_stat_date) as cancelled_stat_date
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

final as (
    select
        paid_orders.shop_id,
        paid_orders.stat_date,
        paid_orders.order_id,
        cast(paid_orders.order_lines as bigint) as order_lines,
        cast(paid_orders.gmv as decimal(18, 2)) as gmv,
        paid_orders.cancelled_stat_date,
        cast(coalesce(refunded_by_end_of_day.refunded_amount, 0) as decimal(18, 2))
            as refunded_by_end_of_stat_date,
        case
            when paid_orders.cancelled_stat_date <= paid_orders.stat_date then 'cancelled'
            when refunded_by_end_of_day.refunded_amount > 0
                and refunded_by_end_of_day.refunded_amount >= paid_orders.gmv
                then 'refunded'
            else 'open'
        end as state_at_end_of_stat_date
    from paid_orders
    left join refunded_by_end_of_day on paid_orders.order_id = refunded_by_end_of_day.order_id
)

-- No ORDER BY, as line_facts: the marts read a date range of it or all of it.
select * from final
