-- shop_activity_facts: one row per shop × stat date with any activity of the shop, and how
-- much of each kind. The shop × date marts are zero-filled over exactly these rows
-- (outputs.md, "Output assets"): a paid line, a refund requested or succeeded, a
-- settlement, a shoppable video published that links the shop's products.
-- FAQ 数据概览 Q3 (stat dates are shop-local calendar dates). metrics.md §2.

with

paid_lines as (
    select shop_id, stat_date, count(*) as paid_lines
    from line_facts
    group by shop_id, stat_date
),

refunds_requested as (
    select shop_id, request_stat_date as stat_date, count(*) as refunds_requested
    from refund_facts
    group by shop_id, request_stat_date
),

refunds_succeeded as (
    select shop_id, success_stat_date as stat_date, count(*) as refunds_succeeded
    from refund_facts
    where success_stat_date is not null
    group by shop_id, success_stat_date
),

settlements as (
    select shop_id, stat_date, count(*) as settlements
    from settlement_facts
    group by shop_id, stat_date
),

videos_published as (
    select shop_id, stat_date, count(*) as videos_published
    from video_facts
    group by shop_id, stat_date
),

shop_dates as (
    select shop_id, stat_date from paid_lines
    union
    select shop_id, stat_date from refunds_requested
    union
    select shop_id, stat_date from refunds_succeeded
    union
    select shop_id, stat_date from settlements
    union
    select shop_id, stat_date from videos_published
),

final as (
    select
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(paid_lines.paid_lines, 0) as paid_lines,
        coalesce(refunds_requested.refunds_requested, 0) as refunds_requested,
        coalesce(refunds_succeeded.refunds_succeeded, 0) as refunds_succeeded,
        coalesce(settlements.settlements, 0) as settlements,
        coalesce(videos_published.videos_published, 0) as videos_published
    from shop_dates
    left join paid_lines using (shop_id, stat_date)
    left join refunds_requested using (shop_id, stat_date)
    left join refunds_succeeded using (shop_id, stat_date)
    left join settlements using (shop_id, stat_date)
    left join videos_published using (shop_id, stat_date)
)

select * from final
order by stat_date, shop_id
