-- core_data_channel_detail_daily: core data by channel and channel detail, one row per
-- shop × stat date × channel × channel_detail with at least one paid line.
-- FAQ 数据概览 Q1 (product card = showcase, mall, campaign page and channel, recommendation,
-- IM message, search, ... and LIVE carts paid after the window), 多模块数据对比 row 2 (core
-- data = LIVE + video + product card). metrics.md §3, §14. Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

lines as (
    select shop_id, stat_date, channel, channel_detail, gmv, quantity
    from line_facts
    where stat_date in (select stat_date from partition_dates)
),

final as (
    select
        shop_id,
        stat_date,
        channel,
        channel_detail,
        cast(sum(gmv) as decimal(18, 2)) as gmv,
        cast(count(*) as bigint) as sku_orders,
        cast(sum(quantity) as bigint) as items_sold
    from lines
    group by shop_id, stat_date, channel, channel_detail
)

select * from final
order by stat_date, shop_id, channel, channel_detail
