-- reconciliation_daily: one row per check × shop × stat date, R01–R04, R07–R09, R11 and R12
-- of reconciliations.md, for every shop × stat date with activity (shop_activity_facts, as
-- core_data_daily); R03 adds the shop × LIVE start dates of LIVEs that sold for the shop.
-- Side A and side B are the published metrics, computed from the same facts under the same
-- filters as their marts; every component of A − B is its own filter over the facts, never
-- "A − B − the others", so a broken rule on either side leaves a non-zero residual.
-- Components carry their sign (a "−" component is stored negative): the books balance when
-- difference = Σ components, i.e. residual = 0. Count checks (R04, R09) are stored as
-- decimals. metrics.md §1–3, §6–9, §11.
-- Parameters: $stat_dates (DATE[], the partitions), $as_of (TIMESTAMPTZ, the data watermark:
-- R01 and R03 are "as of now"), $informational (VARCHAR[], the check ids that explain
-- rather than flag).

with

partition_dates as (
    select unnest(cast($stat_dates as date[])) as stat_date
),

shop_dates as (
    select shop_id, stat_date
    from shop_activity_facts
    where stat_date in (select stat_date from partition_dates)
),

day_lines as (
    select
        shop_id,
        stat_date,
        line_id,
        cancelled_at,
        merchandise_paid,
        shipping_share,
        gmv,
        estimated_commission,
        channel,
        channel_detail,
        creator_account_id
    from line_facts
    where stat_date in (select stat_date from partition_dates)
),

shops as (
    select shop_id, region from raw_shops
),

live_starts as (
    select live_id, shop_id, start_date from live_shop_facts
),

-- R01 gmv_vs_settled — FAQ 指标含义解释 Q1 (GMV keeps cancelled and refunded orders, so it is
-- ≥ the finally settled amount). A: compass GMV of D. B: settled GMV of D's lines as of
-- $as_of (metrics.md §1): lines of orders not cancelled by then, less their refunds
-- succeeded by then. B sums what the buyer paid from its parts (merchandise paid after both
-- discounts, plus the shipping share), not the gmv column, so R01 also proves that the
-- compass GMV is exactly that: shipping in, platform coupon out.
r01_refunded_by_line as (
    select line_id, sum(amount) as refunded
    from refund_facts
    where
        status = 'succeeded'
        and succeeded_at <= cast($as_of as timestamptz)
        and paid_stat_date in (select stat_date from partition_dates)
    group by line_id
),

r01_gmv as (
    select shop_id, stat_date, sum(gmv) as gmv
    from day_lines
    group by shop_id, stat_date
),

r01_settled as (
    select
        day_lines.shop_id,
        day_lines.stat_date,
        sum(
            day_lines.merchandise_paid
            + day_lines.shipping_share
            - coalesce(r01_refunded_by_line.refunded, 0)
        ) as settled_gmv
    from day_lines
    left join r01_refunded_by_line on day_lines.line_id = r01_refunded_by_line.line_id
    where day_lines.cancelled_at is null or day_lines.cancelled_at > cast($as_of as timestamptz)
    group by day_lines.shop_id, day_lines.stat_date
),

r01_cancelled as (
    select shop_id, stat_date, sum(gmv) as cancelled_gmv
    from day_lines
    where cancelled_at <= cast($as_of as timestamptz)
    group by shop_id, stat_date
),

r01_refunds_not_cancelled as (
    select
        refund_facts.shop_id,
        refund_facts.paid_stat_date as stat_date,
        sum(refund_facts.amount) as refunded
    from refund_facts
    inner join day_lines on refund_facts.line_id = day_lines.line_id
    where
        refund_facts.status = 'succeeded'
        and refund_facts.succeeded_at <= cast($as_of as timestamptz)
        and (
            day_lines.cancelled_at is null
            or day_lines.cancelled_at > cast($as_of as timestamptz)
        )
    group by refund_facts.shop_id, refund_facts.paid_stat_date
),

r01 as (
    select
        'R01_gmv_vs_settled' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r01_gmv.gmv, 0) as a_value,
        coalesce(r01_settled.settled_gmv, 0) as b_value,
        [
            {'name': 'cancelled_orders_gmv', 'value': coalesce(r01_cancelled.cancelled_gmv, 0)},
            {
                'name': 'succeeded_refunds_on_other_lines',
                'value': coalesce(r01_refunds_not_cancelled.refunded, 0)
            }
        ] as components,
        cast($as_of as timestamptz) as as_of
    from shop_dates
    left join r01_gmv using (shop_id, stat_date)
    left join r01_settled using (shop_id, stat_date)
    left join r01_cancelled using (shop_id, stat_date)
    left join r01_refunds_not_cancelled using (shop_id, stat_date)
),

-- R02 refund_success_vs_request — FAQ 数据概览 Q2 (the compass counts refunds when they
-- succeed, order management when they are requested). A: compass refund_amount of D.
-- B: order management refund_requested_amount of D (every status).
r02_refunds as (
    select shop_id, status, amount, request_stat_date, success_stat_date
    from refund_facts
    where
        request_stat_date in (select stat_date from partition_dates)
        or success_stat_date in (select stat_date from partition_dates)
),

r02_succeeded as (
    select
        shop_id,
        success_stat_date as stat_date,
        sum(amount) as succeeded,
        sum(amount) filter (where request_stat_date < success_stat_date) as requested_earlier
    from r02_refunds
    where status = 'succeeded' and success_stat_date in (select stat_date from partition_dates)
    group by shop_id, success_stat_date
),

r02_requested as (
    select
        shop_id,
        request_stat_date as stat_date,
        sum(amount) as requested,
        sum(amount) filter (
            where not coalesce(
                status = 'succeeded' and success_stat_date = request_stat_date, false
            )
        ) as not_succeeded_same_day
    from r02_refunds
    where request_stat_date in (select stat_date from partition_dates)
    group by shop_id, request_stat_date
),

r02 as (
    select
        'R02_refund_success_vs_request' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r02_succeeded.succeeded, 0) as a_value,
        coalesce(r02_requested.requested, 0) as b_value,
        [
            {
                'name': 'succeeded_on_d_requested_earlier',
                'value': coalesce(r02_succeeded.requested_earlier, 0)
            },
            {
                'name': 'requested_on_d_not_succeeded_on_d',
                'value': -coalesce(r02_requested.not_succeeded_same_day, 0)
            }
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r02_succeeded using (shop_id, stat_date)
    left join r02_requested using (shop_id, stat_date)
),

-- R03 home_vs_live_list — FAQ 数据概览 Q3 (home counts by stat date, the LIVE list by LIVE
-- start date; the list also counts only the shop's local buyers, 直播模块 Q3). A: Σ LIVE-list
-- GMV of the LIVEs that started on D (in the shop's time zone: live_shop_facts), each as
-- of min($as_of, window_close). B: home overview LIVE GMV of D (channel live, every country).
r03_live_starts as (
    select
        pairs.shop_id,
        pairs.live_id,
        live_starts.start_date,
        least(
            cast($as_of as timestamptz),
            coalesce(live_facts.window_close, cast($as_of as timestamptz))
        ) as live_as_of
    from (select distinct shop_id, live_id from line_facts where live_id is not null) as pairs
    inner join live_facts on pairs.live_id = live_facts.live_id
    inner join live_starts
        on pairs.shop_id = live_starts.shop_id
        and pairs.live_id = live_starts.live_id
),

r03_lines as (
    select
        line_facts.shop_id,
        line_facts.stat_date,
        line_facts.paid_at,
        line_facts.gmv,
        line_facts.buyer_country = shops.region as is_local,
        r03_live_starts.start_date,
        r03_live_starts.live_as_of
    from line_facts
    inner join r03_live_starts
        on line_facts.shop_id = r03_live_starts.shop_id
        and line_facts.live_id = r03_live_starts.live_id
    inner join shops on line_facts.shop_id = shops.shop_id
    where
        r03_live_starts.start_date in (select stat_date from partition_dates)
        or line_facts.stat_date in (select stat_date from partition_dates)
),

r03_list as (
    select
        shop_id,
        start_date as stat_date,
        sum(gmv) filter (where is_local and paid_at <= live_as_of) as list_gmv,
        sum(gmv) filter (
            where is_local and stat_date > start_date and paid_at <= live_as_of
        ) as local_paid_after
    from r03_lines
    where start_date in (select stat_date from partition_dates)
    group by shop_id, start_date
),

r03_paid_on_d as (
    select
        shop_id,
        stat_date,
        sum(gmv) filter (where start_date < stat_date) as started_before,
        sum(gmv) filter (where start_date = stat_date and not is_local) as foreign_started_on_d
    from r03_lines
    where stat_date in (select stat_date from partition_dates)
    group by shop_id, stat_date
),

r03_home as (
    select shop_id, stat_date, sum(gmv) as gmv_live
    from day_lines
    where channel = 'live'
    group by shop_id, stat_date
),

r03_keys as (
    select shop_id, stat_date from shop_dates
    union
    select shop_id, start_date as stat_date
    from r03_live_starts
    where start_date in (select stat_date from partition_dates)
),

r03 as (
    select
        'R03_home_vs_live_list' as check_id,
        r03_keys.shop_id,
        r03_keys.stat_date,
        coalesce(r03_list.list_gmv, 0) as a_value,
        coalesce(r03_home.gmv_live, 0) as b_value,
        [
            {'name': 'local_gmv_paid_after_d', 'value': coalesce(r03_list.local_paid_after, 0)},
            {
                'name': 'gmv_on_d_of_lives_started_before_d',
                'value': -coalesce(r03_paid_on_d.started_before, 0)
            },
            {
                'name': 'foreign_gmv_on_d_of_lives_started_on_d',
                'value': -coalesce(r03_paid_on_d.foreign_started_on_d, 0)
            }
        ] as components,
        cast($as_of as timestamptz) as as_of
    from r03_keys
    left join r03_list using (shop_id, stat_date)
    left join r03_paid_on_d using (shop_id, stat_date)
    left join r03_home using (shop_id, stat_date)
),

-- R04 sku_orders_vs_orders — FAQ 数据概览 Q4 (the compass counts SKU lines, cancelled and
-- refunded ones included; order management counts orders, without those cancelled or fully
-- refunded by the end of D). A: compass sku_orders of D, from the lines. B: order management
-- orders of D. Each order's state at the end of D (cancelled wins over fully refunded) is
-- order_facts', as order management reads it.
r04_orders as (
    select shop_id, stat_date, order_lines, state_at_end_of_stat_date as state
    from order_facts
    where stat_date in (select stat_date from partition_dates)
),

r04_order_counts as (
    select
        shop_id,
        stat_date,
        count(*) filter (where state = 'open') as orders,
        sum(order_lines - 1) as extra_lines,
        count(*) filter (where state = 'cancelled') as cancelled_orders,
        count(*) filter (where state = 'refunded') as refunded_orders
    from r04_orders
    group by shop_id, stat_date
),

r04_lines as (
    select shop_id, stat_date, count(*) as sku_orders
    from day_lines
    group by shop_id, stat_date
),

r04 as (
    select
        'R04_sku_orders_vs_orders' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r04_lines.sku_orders, 0) as a_value,
        coalesce(r04_order_counts.orders, 0) as b_value,
        [
            {
                'name': 'extra_lines_of_multi_sku_orders',
                'value': coalesce(r04_order_counts.extra_lines, 0)
            },
            {
                'name': 'orders_cancelled_by_end_of_d',
                'value': coalesce(r04_order_counts.cancelled_orders, 0)
            },
            {
                'name': 'orders_fully_refunded_by_end_of_d',
                'value': coalesce(r04_order_counts.refunded_orders, 0)
            }
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r04_lines using (shop_id, stat_date)
    left join r04_order_counts using (shop_id, stat_date)
),

-- R07 product_refund_vs_gmv — FAQ 商品分析 Q1 (refunds by success date and GMV by paid date
-- are not linked). Informational: A: product refund_amount of D, B: product GMV of D, both
-- summed over the shop's products.
r07_refunds as (
    select
        shop_id,
        success_stat_date as stat_date,
        sum(amount) as refund_amount,
        sum(amount) filter (where paid_stat_date < success_stat_date) as paid_before,
        sum(amount) filter (where paid_stat_date = success_stat_date) as paid_same_day
    from refund_facts
    where status = 'succeeded' and success_stat_date in (select stat_date from partition_dates)
    group by shop_id, success_stat_date
),

r07_gmv as (
    select shop_id, stat_date, sum(gmv) as gmv
    from day_lines
    group by shop_id, stat_date
),

r07 as (
    select
        'R07_product_refund_vs_gmv' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r07_refunds.refund_amount, 0) as a_value,
        coalesce(r07_gmv.gmv, 0) as b_value,
        [
            {
                'name': 'refunds_of_lines_paid_before_d',
                'value': coalesce(r07_refunds.paid_before, 0)
            },
            {'name': 'refunds_of_lines_paid_on_d', 'value': coalesce(r07_refunds.paid_same_day, 0)},
            {'name': 'gmv_of_d', 'value': -coalesce(r07_gmv.gmv, 0)}
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r07_refunds using (shop_id, stat_date)
    left join r07_gmv using (shop_id, stat_date)
),

-- R08 commission_actual_vs_estimated — FAQ 达人分析 Q1 (actual commission by settled date,
-- estimated by paid date). A: settlements of D (every account). B: estimated commission of
-- D (lines with an attributed creator, as creator analysis sums it).
r08_settlements as (
    select shop_id, stat_date, line_id, paid_stat_date, amount
    from settlement_facts
    where stat_date in (select stat_date from partition_dates)
),

r08_same_day as (
    select line_id, stat_date, sum(amount) as settled
    from r08_settlements
    where paid_stat_date = stat_date
    group by line_id, stat_date
),

r08_actual as (
    select
        shop_id,
        stat_date,
        sum(amount) as actual,
        sum(amount) filter (where paid_stat_date is distinct from stat_date) as other_days
    from r08_settlements
    group by shop_id, stat_date
),

r08_estimated as (
    select
        day_lines.shop_id,
        day_lines.stat_date,
        sum(day_lines.estimated_commission) filter (
            where day_lines.creator_account_id is not null
        ) as estimated,
        sum(day_lines.estimated_commission) filter (where r08_same_day.line_id is null)
            as not_settled_same_day,
        sum(r08_same_day.settled) filter (where r08_same_day.line_id is not null)
            as settled_same_day,
        sum(day_lines.estimated_commission) filter (where r08_same_day.line_id is not null)
            as estimated_settled_same_day
    from day_lines
    left join r08_same_day
        on day_lines.line_id = r08_same_day.line_id
        and day_lines.stat_date = r08_same_day.stat_date
    group by day_lines.shop_id, day_lines.stat_date
),

r08 as (
    select
        'R08_commission_actual_vs_estimated' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r08_actual.actual, 0) as a_value,
        coalesce(r08_estimated.estimated, 0) as b_value,
        [
            {
                'name': 'settlements_on_d_of_lines_not_paid_on_d',
                'value': coalesce(r08_actual.other_days, 0)
            },
            {
                'name': 'estimates_of_lines_paid_on_d_not_settled_on_d',
                'value': -coalesce(r08_estimated.not_settled_same_day, 0)
            },
            {
                'name': 'settled_minus_estimated_paid_and_settled_on_d',
                'value': coalesce(r08_estimated.settled_same_day, 0)
                - coalesce(r08_estimated.estimated_settled_same_day, 0)
            }
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r08_actual using (shop_id, stat_date)
    left join r08_estimated using (shop_id, stat_date)
),

-- R09 video_trends_vs_details — FAQ 视频分析 Q1 (Video Details leave out the affiliate videos
-- with GMV = 0). A: Trends video count of D. B: Video Details count of D (self-operated, and
-- affiliate with GMV > 0).
r09_counts as (
    select
        shop_id,
        stat_date,
        count(*) as trends,
        count(*) filter (where is_self_operated or gmv_by_end_of_stat_date > 0) as details,
        count(*) filter (where not is_self_operated and gmv_by_end_of_stat_date = 0)
            as affiliate_zero_gmv
    from video_facts
    where stat_date in (select stat_date from partition_dates)
    group by shop_id, stat_date
),

r09 as (
    select
        'R09_video_trends_vs_details' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r09_counts.trends, 0) as a_value,
        coalesce(r09_counts.details, 0) as b_value,
        [
            {
                'name': 'affiliate_videos_with_zero_gmv',
                'value': coalesce(r09_counts.affiliate_zero_gmv, 0)
            }
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r09_counts using (shop_id, stat_date)
),

-- R11 creator_analysis_vs_live_analysis — FAQ 多模块数据对比 row 1 (creator analysis covers
-- a creator's every channel). A: creator analysis GMV of D, B: its LIVE part, both summed
-- over the shop's creators (creator_analysis_daily checks the same identity per creator).
r11_creator_gmv as (
    select
        shop_id,
        stat_date,
        sum(gmv) as gmv_total,
        sum(gmv) filter (where channel = 'live') as gmv_live,
        sum(gmv) filter (where channel = 'video') as gmv_video,
        sum(gmv) filter (where channel_detail = 'showcase') as gmv_showcase
    from day_lines
    where creator_account_id is not null
    group by shop_id, stat_date
),

r11 as (
    select
        'R11_creator_analysis_vs_live_analysis' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r11_creator_gmv.gmv_total, 0) as a_value,
        coalesce(r11_creator_gmv.gmv_live, 0) as b_value,
        [
            {'name': 'video_gmv', 'value': coalesce(r11_creator_gmv.gmv_video, 0)},
            {'name': 'showcase_gmv', 'value': coalesce(r11_creator_gmv.gmv_showcase, 0)}
        ] as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r11_creator_gmv using (shop_id, stat_date)
),

-- R12 core_vs_live_plus_video — FAQ 多模块数据对比 row 2, 数据概览 Q1 (core data also holds
-- the product card). A: core data GMV of D. B: LIVE GMV + video GMV of D. One component per
-- product-card channel_detail that sold on D.
r12_channels as (
    select
        shop_id,
        stat_date,
        sum(gmv) as gmv,
        coalesce(sum(gmv) filter (where channel = 'live'), 0)
        + coalesce(sum(gmv) filter (where channel = 'video'), 0) as gmv_live_plus_video
    from day_lines
    group by shop_id, stat_date
),

r12_product_card as (
    select
        shop_id,
        stat_date,
        list(
            {'name': 'product_card_' || channel_detail, 'value': gmv} order by channel_detail
        ) as components
    from (
        select shop_id, stat_date, channel_detail, sum(gmv) as gmv
        from day_lines
        where channel = 'product_card'
        group by shop_id, stat_date, channel_detail
    )
    group by shop_id, stat_date
),

r12 as (
    select
        'R12_core_vs_live_plus_video' as check_id,
        shop_dates.shop_id,
        shop_dates.stat_date,
        coalesce(r12_channels.gmv, 0) as a_value,
        coalesce(r12_channels.gmv_live_plus_video, 0) as b_value,
        coalesce(
            r12_product_card.components,
            cast([] as struct(name varchar, value decimal(18, 2))[])
        ) as components,
        cast(null as timestamptz) as as_of
    from shop_dates
    left join r12_channels using (shop_id, stat_date)
    left join r12_product_card using (shop_id, stat_date)
),

checks as (
    select * from r01
    union all by name
    select * from r02
    union all by name
    select * from r03
    union all by name
    select * from r04
    union all by name
    select * from r07
    union all by name
    select * from r08
    union all by name
    select * from r09
    union all by name
    select * from r11
    union all by name
    select * from r12
),

typed as (
    select
        check_id,
        shop_id,
        stat_date,
        cast(a_value as decimal(18, 2)) as a_value,
        cast(b_value as decimal(18, 2)) as b_value,
        cast(components as struct(name varchar, value decimal(18, 2))[]) as components,
        as_of
    from checks
),

final as (
    select
        check_id,
        shop_id,
        stat_date,
        a_value,
        b_value,
        cast(a_value - b_value as decimal(18, 2)) as difference,
        components,
        cast(
            a_value - b_value - coalesce(list_sum([c.value for c in components]), 0)
            as decimal(18, 2)
        ) as residual,
        as_of,
        list_contains(cast($informational as varchar[]), check_id) as informational
    from typed
)

select * from final
order by stat_date, shop_id, check_id
