-- refund_facts: one row per refund (every status), with its line's shop, product, paid stat
-- date and attribution, and its request and success stat dates in the shop's time zone.
-- FAQ 数据概览 Q2 (the compass counts refunds by success time, order management by request
-- time), 商品分析 Q1 (refunds have no link to the same period's GMV), 直播模块 Q9 (a LIVE's
-- refunds grow after it ends). metrics.md §2, §7.

with

refunds as (
    select * from raw_refunds
),

lines as (
    select * from line_facts
),

shops as (
    select shop_id, timezone from raw_shops
),

final as (
    select
        refunds.refund_id,
        refunds.line_id,
        lines.order_id,
        lines.shop_id,
        lines.product_id,
        lines.buyer_country,
        refunds.status,
        refunds.amount,
        refunds.requested_at,
        cast(timezone(shops.timezone, refunds.requested_at) as date) as request_stat_date,
        refunds.succeeded_at,
        case
            when refunds.status = 'succeeded'
                then cast(timezone(shops.timezone, refunds.succeeded_at) as date)
        end as success_stat_date,
        lines.paid_at,
        lines.stat_date as paid_stat_date,
        lines.channel,
        lines.channel_detail,
        lines.live_id,
        lines.video_id,
        lines.creator_account_id
    from refunds
    inner join lines on refunds.line_id = lines.line_id
    inner join shops on lines.shop_id = shops.shop_id
)

select * from final
order by requested_at, refund_id
