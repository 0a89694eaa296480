-- core_data_daily: home overview / core data (经营概览 / 核心数据), one row per shop × stat
-- date, zero-filled over every shop × date with activity.
-- FAQ 指标含义解释 Q1 (GMV keeps refunded and cancelled lines), 数据概览 Q1 (product card =
-- every channel but LIVE and video), Q2 (refunds by success time), Q3 (stat date, so a LIVE
-- crossing midnight is split), Q4 (SKU-level order count), 多模块数据对比 row 2.
-- metrics.md §1–3, §6, §7, §14. Parameter: $stat_dates, the partitions to compute.

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
    select shop_id, stat_date, channel, gmv, quantity, buyer_id
    from line_facts
    where stat_date in (select stat_date from partition_dates)
),

succeeded_refunds as (
    select shop_id, success_stat_date as stat_date, amount
    from refund_facts
    where status = 'succeeded'
        and success_stat_date in (select stat_date from partition_dates)
),

line_totals as (
    select
        shop_id,
        stat_date,
        sum(gmv) as gmv,
        sum(gmv) filter (where channel = 'live') as gmv_live,
        sum(gmv) filter (where channel = 'video') as gmv_video,
        sum(gmv) filter (where channel = 'product_card') as gmv_product_card,
        count(*) as sku_orders,
        sum(quantity) as items_sold,
        count(distinct buyer_id) as buyers
    from lines
    group by shop_id, stat_date
),

refund_totals as (
    select shop_id, stat_date, sum(amount) as refund_amount
    from succeeded_refunds
    group by shop_id, stat_date
),

final as (
    select
        shop_dates.shop_id,
        shop_dates.stat_date,
        cast(coalesce(line_totals.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(line_totals.gmv_live, 0) as decimal(18, 2)) as gmv_live,
        cast(coalesce(line_totals.gmv_video, 0) as decimal(18, 2)) as gmv_video,
        cast(coalesce(line_totals.gmv_product_card, 0) as decimal(18, 2)) as gmv_product_card,
        cast(coalesce(line_totals.sku_orders, 0) as bigint) as sku_orders,
        cast(coalesce(line_totals.items_sold, 0) as bigint) as items_sold,
        cast(coalesce(line_totals.buyers, 0) as bigint) as buyers,
        cast(coalesce(refund_totals.refund_amount, 0) as decimal(18, 2)) as refund_amount
    from shop_dates
    left join line_totals using (shop_id, stat_date)
    left join refund_totals using (shop_id, stat_date)
)

select * from final
order by stat_date, shop_id
