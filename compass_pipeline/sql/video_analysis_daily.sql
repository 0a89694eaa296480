-- video_analysis_daily: video analysis (视频分析), one row per shop × stat date,
-- zero-filled over every shop × date with activity.
-- FAQ 视频分析 Q1: Trends count every shoppable video linking the shop's products
-- (self-operated and affiliate); Video Details drop the affiliate ones with GMV = 0.
-- metrics.md §11. Parameter: $stat_dates.

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

shop_dates as (
    select shop_id, stat_date
    from shop_activity_facts
    where stat_date in (select stat_date from partition_dates)
),

videos as (
    select shop_id, stat_date, is_self_operated, gmv_by_end_of_stat_date
    from video_facts
    where stat_date in (select stat_date from partition_dates)
),

video_totals as (
    select
        shop_id,
        stat_date,
        count(*) as trends_video_count,
        count(*) filter (where is_self_operated) as self_video_count,
        count(*) filter (where not is_self_operated) as affiliate_video_count,
        count(*) filter (
            where not is_self_operated and gmv_by_end_of_stat_date = 0
        ) as affiliate_zero_gmv_video_count
    from videos
    group by shop_id, stat_date
),

final as (
    select
        shop_dates.shop_id,
        shop_dates.stat_date,
        cast(coalesce(video_totals.trends_video_count, 0) as bigint) as trends_video_count,
        cast(
            coalesce(
                video_totals.self_video_count
                + video_totals.affiliate_video_count
                - video_totals.affiliate_zero_gmv_video_count,
                0
            ) as bigint
        ) as details_video_count,
        cast(coalesce(video_totals.self_video_count, 0) as bigint) as self_video_count,
        cast(coalesce(video_totals.affiliate_video_count, 0) as bigint) as affiliate_video_count,
        cast(
            coalesce(video_totals.affiliate_zero_gmv_video_count, 0) as bigint
        ) as affiliate_zero_gmv_video_count
    from shop_dates
    left join video_totals using (shop_id, stat_date)
)

select * from final
order by stat_date, shop_id
