-- live_line_hours: the LIVE-attributed lines and their succeeded refunds, summed per shop ×
-- LIVE × buyer country × the whole UTC hour from which a refresh sees them (paid_at or
-- succeeded_at rounded up to the hour).
-- FAQ 直播模块 Q1, Q8, Q9: a LIVE's GMV grows with cart adds paid after it and its refunds
-- grow after it ends; a refresh at T counts lines paid and refunds succeeded at or before T.
-- Refresh instants are whole UTC hours, so "at or before T" is "visible_at <= T", and every
-- refresh of a backfill is a running sum over these rows: one pass over the facts for any
-- number of instants (ARCHITECTURE.md, "As-of is a filter, not a copy").
-- Attribution and the 30-day window come from line_facts as they are (metrics.md §3, §7, §14).

with

lives as (
    select live_id, ended_at
    from live_session_facts
    where live_id in (select live_id from live_refreshes)
),

horizon as (
    select max(snapshot_at) as last_instant from live_refreshes
),

lines as (
    select
        line_facts.shop_id,
        line_facts.live_id,
        line_facts.buyer_country,
        line_facts.paid_at as visible_from,
        line_facts.gmv,
        -- still on the air: every line so far is paid during the LIVE
        case
            when lives.ended_at is null or line_facts.paid_at <= lives.ended_at
                then line_facts.gmv
            else 0
        end as gmv_during_live,
        case when line_facts.paid_at > lives.ended_at then line_facts.gmv else 0 end
            as gmv_after_live,
        1 as sku_orders,
        line_facts.quantity as items_sold,
        0 as refund_amount
    from line_facts
    inner join lives on line_facts.live_id = lives.live_id
    where line_facts.paid_at <= (select last_instant from horizon)
),

refunds as (
    select
        refund_facts.shop_id,
        refund_facts.live_id,
        refund_facts.buyer_country,
        refund_facts.succeeded_at as visible_from,
        0 as gmv,
        0 as gmv_during_live,
        0 as gmv_after_live,
        0 as sku_orders,
        0 as items_sold,
        refund_facts.amount as refund_amount
    from refund_facts
    inner join lives on refund_facts.live_id = lives.live_id
    where
        refund_facts.status = 'succeeded'
        and refund_facts.succeeded_at <= (select last_instant from horizon)
),

contributions as (
    select * from lines
    union all
    select * from refunds
),

-- whole UTC hours in epoch microseconds: integer arithmetic, no time zone conversion
hours as (
    select
        *,
        (epoch_us(visible_from) + 3599999999) // 3600000000 as hour_no
    from contributions
),

final as (
    select
        shop_id,
        live_id,
        buyer_country,
        make_timestamptz(hour_no * 3600000000) as visible_at,
        cast(sum(gmv) as decimal(18, 2)) as gmv,
        cast(sum(gmv_during_live) as decimal(18, 2)) as gmv_during_live,
        cast(sum(gmv_after_live) as decimal(18, 2)) as gmv_after_live,
        cast(sum(sku_orders) as bigint) as sku_orders,
        cast(sum(items_sold) as bigint) as items_sold,
        cast(sum(refund_amount) as decimal(18, 2)) as refund_amount
    from hours
    group by shop_id, live_id, buyer_country, hour_no
)

select * from final
