-- creator_analysis_daily: creator analysis (达人分析), one row per shop × stat date ×
-- account with an attributed line paid that date or a commission settled that date.
-- FAQ 达人分析 Q1 (estimated commission by paid date, actual commission by settled date),
-- 多模块数据对比 row 1 (a creator's GMV covers LIVE, video and showcase).
-- metrics.md §8, §9. Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

lines as (
    select shop_id, stat_date, creator_account_id, channel, channel_detail, gmv,
        estimated_commission
    from line_facts
    where stat_date in (select stat_date from partition_dates)
        and creator_account_id is not null
),

settlements as (
    select shop_id, stat_date, account_id, amount
    from settlement_facts
    where stat_date in (select stat_date from partition_dates)
),

line_totals as (
    select
        shop_id,
        stat_date,
        creator_account_id as account_id,
        sum(gmv) as gmv_total,
        sum(gmv) filter (where channel = 'live') as gmv_live,
        sum(gmv) filter (where channel = 'video') as gmv_video,
        sum(gmv) filter (where channel_detail = 'showcase') as gmv_showcase,
        sum(estimated_commission) as estimated_commission,
        count(*) as sku_orders
    from lines
    group by shop_id, stat_date, creator_account_id
),

settlement_totals as (
    select shop_id, stat_date, account_id, sum(amount) as actual_commission
    from settlements
    group by shop_id, stat_date, account_id
),

final as (
    select
        shop_id,
        stat_date,
        account_id,
        cast(coalesce(line_totals.gmv_total, 0) as decimal(18, 2)) as gmv_total,
        cast(coalesce(line_totals.gmv_live, 0) as decimal(18, 2)) as gmv_live,
        cast(coalesce(line_totals.gmv_video, 0) as decimal(18, 2)) as gmv_video,
        cast(coalesce(line_totals.gmv_showcase, 0) as decimal(18, 2)) as gmv_showcase,
        cast(
            coalesce(line_totals.estimated_commission, 0) as decimal(18, 2)
        ) as estimated_commission,
        cast(
            coalesce(settlement_totals.actual_commission, 0) as decimal(18, 2)
        ) as actual_commission,
        cast(coalesce(line_totals.sku_orders, 0) as bigint) as sku_orders
    from line_totals
    full outer join settlement_totals using (shop_id, stat_date, account_id)
)

select * from final
order by stat_date, shop_id, account_id
