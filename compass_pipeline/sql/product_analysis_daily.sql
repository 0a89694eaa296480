-- product_analysis_daily: product analysis (商品分析), one row per shop × stat date ×
-- product with a paid line or a succeeded refund on that date.
-- FAQ 商品分析 Q1: refunds (by success time) and GMV (by paid time) of one period are not
-- linked, so refunds of earlier sales can exceed the period's GMV.
-- metrics.md §1, §7, §14. Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

lines as (
    select shop_id, stat_date, product_id, gmv, quantity
    from line_facts
    where stat_date in (select stat_date from partition_dates)
),

succeeded_refunds as (
    select shop_id, success_stat_date as stat_date, product_id, amount, paid_stat_date
    from refund_facts
    where status = 'succeeded'
        and success_stat_date in (select stat_date from partition_dates)
),

line_totals as (
    select
        shop_id,
        stat_date,
        product_id,
        sum(gmv) as gmv,
        count(*) as sku_orders,
        sum(quantity) as items_sold
    from lines
    group by shop_id, stat_date, product_id
),

refund_totals as (
    select
        shop_id,
        stat_date,
        product_id,
        sum(amount) as refund_amount,
        sum(amount) filter (where paid_stat_date < stat_date) as refund_amount_prior_sales
    from succeeded_refunds
    group by shop_id, stat_date, product_id
),

joined as (
    select
        shop_id,
        stat_date,
        product_id,
        cast(coalesce(line_totals.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(line_totals.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(line_totals.items_sold, 0) as bigint) as items_sold,
        cast(coalesce(refund_totals.refund_amount, 0) as decimal(18, 2)) as refund_amount,
        cast(
            coalesce(refund_totals.refund_amount_prior_sales, 0) as decimal(18, 2)
        ) as refund_amount_prior_sales
    from line_totals
    full outer join refund_totals using (shop_id, stat_date, product_id)
),

final as (
    select
        *,
        refund_amount > gmv as refund_exceeds_gmv
    from joined
)

select * from final
order by stat_date, shop_id, product_id
