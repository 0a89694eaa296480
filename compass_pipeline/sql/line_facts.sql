-- line_facts: one row per order line of a paid order.
-- FAQ 指标含义解释 Q1 (GMV = what the buyer paid: shipping in, platform coupon out, refunds
-- and cancellations kept), 数据概览 Q1 / 直播模块 Q4 (channel attribution, cart lines go to
-- the cart add's origin), 直播模块 Q1, Q9, Q10 (LIVE attribution window, from live_facts:
-- a line goes to LIVE L only if paid at or before window_close(L)), 数据概览 Q3 (stat
-- date = the shop-local date of paid_at), 达人分析 Q1 (estimated commission).
-- metrics.md §1–3, §8. Every mart reads these columns; none re-derives them.
--
-- DuckDB materializes a CTE that is read twice, so every CTE here is read once but
-- paid_orders (one row per paid order), which both the shipping split and the lines read.

with

order_lines as (
    select * from raw_order_lines
),

shops as (
    select shop_id, timezone from raw_shops
),

cart_adds as (
    select cart_add_id, source_type, source_id from raw_cart_adds
),

live_windows as (
    select live_id, account_id as host_account_id, window_close from live_facts
),

videos as (
    select video_id, account_id from raw_videos
),

-- Shipping is split in integer cents (DECIMAL / DECIMAL would give DOUBLE): each line first
-- gets the floor of its proportional share (weight: list amount less the seller discount),
-- then the cents left over go one each to the largest remainders, ties to the smaller
-- line_id. All-zero weights split equally (every line weighs 1). A free order's lines get 0
-- and a one-line order's line gets the whole fee (what the split gives them), so only the
-- lines of paid-shipping orders of several lines are ranked: a third of the lines, sorted
-- per order in the window. paid_orders also carries each order's own columns and its
-- shop-local dates, computed once per order rather than once per line.
paid_orders as (
    select
        orders.order_id,
        orders.shop_id,
        orders.buyer_id,
        orders.buyer_country,
        orders.paid_at,
        orders.cancelled_at,
        cast(timezone(shops.timezone, orders.paid_at) as date) as stat_date,
        cast(timezone(shops.timezone, orders.cancelled_at) as date) as cancelled_stat_date,
        cast(orders.shipping_fee * 100 as bigint) as fee_cents,
        line_totals.order_line_count,
        line_totals.order_weight_cents
    from raw_orders as orders
    inner join shops on orders.shop_id = shops.shop_id
    inner join (
        select
            order_id,
            count(*) as order_line_count,
            cast(sum(cast((quantity * unit_price - seller_discount) * 100 as bigint)) as bigint)
                as order_weight_cents
        from raw_order_lines
        group by order_id
    ) as line_totals on orders.order_id = line_totals.order_id
    where orders.paid_at is not null
),

split_lines as (
    select
        lines.order_id,
        lines.line_id,
        paid_orders.fee_cents,
        -- each line's weight, in the same cents as order_weight_cents above
        case
            when paid_orders.order_weight_cents = 0 then 1
            else cast((lines.quantity * lines.unit_price - lines.seller_discount) * 100 as bigint)
        end as effective_weight,
        case
            when paid_orders.order_weight_cents = 0 then paid_orders.order_line_count
            else paid_orders.order_weight_cents
        end as effective_total
    from raw_order_lines as lines
    inner join paid_orders on lines.order_id = paid_orders.order_id
    where paid_orders.fee_cents <> 0 and paid_orders.order_line_count > 1
),

line_floors as (
    select
        order_id,
        line_id,
        fee_cents,
        fee_cents * effective_weight // effective_total as floor_cents,
        fee_cents * effective_weight % effective_total as remainder
    from split_lines
),

split_shares as (
    select
        line_id,
        floor_cents + case when remainder_rank <= leftover_cents then 1 else 0 end
            as share_cents
    from (
        select
            *,
            fee_cents - sum(floor_cents) over (partition by order_id) as leftover_cents,
            row_number() over (
                partition by order_id order by remainder desc, line_id asc
            ) as remainder_rank
        from line_floors
    )
),

-- A cart line is attributed as if it had been bought where the item was added to the cart.
origins as (
    select
        order_lines.*,
        case
            when order_lines.source_type = 'cart' then order_lines.source_id
        end as cart_add_id,
        case
            when order_lines.source_type = 'cart' then cart_adds.source_type
            else order_lines.source_type
        end as origin_type,
        case
            when order_lines.source_type = 'cart' then cart_adds.source_id
            else order_lines.source_id
        end as origin_id
    from order_lines
    left join cart_adds
        on order_lines.source_type = 'cart'
        and order_lines.source_id = cart_adds.cart_add_id
),

paid_lines as (
    select
        paid_orders.shop_id,
        paid_orders.order_id,
        origins.line_id,
        origins.product_id,
        origins.sku_id,
        paid_orders.buyer_id,
        paid_orders.buyer_country,
        paid_orders.stat_date,
        paid_orders.paid_at,
        paid_orders.cancelled_at,
        paid_orders.cancelled_stat_date,
        origins.quantity,
        origins.unit_price,
        cast(origins.quantity * origins.unit_price as decimal(18, 2)) as list_amount,
        origins.seller_discount,
        origins.platform_discount,
        -- cents × 0.01 stays an exact DECIMAL, unlike a division
        cast(
            case
                when paid_orders.fee_cents = 0 then 0
                when paid_orders.order_line_count = 1 then paid_orders.fee_cents
                else split_shares.share_cents
            end * 0.01 as decimal(18, 2)
        ) as shipping_share,
        origins.commission_rate,
        origins.source_type,
        origins.source_id,
        origins.cart_add_id,
        origins.origin_type,
        origins.origin_id
    from origins
    inner join paid_orders on origins.order_id = paid_orders.order_id
    left join split_shares on origins.line_id = split_shares.line_id
),

attributed as (
    select
        paid_lines.*,
        live_windows.window_close,
        live_windows.host_account_id,
        videos.account_id as poster_account_id,
        paid_lines.origin_type = 'live'
            and (
                live_windows.window_close is null
                or paid_lines.paid_at <= live_windows.window_close
            ) as in_live_window
    from paid_lines
    left join live_windows
        on paid_lines.origin_type = 'live' and paid_lines.origin_id = live_windows.live_id
    left join videos
        on paid_lines.origin_type = 'video' and paid_lines.origin_id = videos.video_id
),

channels as (
    select
        *,
        case
            when in_live_window then 'live'
            when origin_type = 'video' then 'video'
            else 'product_card'
        end as channel,
        case
            when in_live_window then 'live'
            when origin_type = 'live' then 'live_window_expired'
            else origin_type
        end as channel_detail,
        case when in_live_window then origin_id end as live_id,
        case when origin_type = 'video' then origin_id end as video_id,
        case
            when in_live_window then host_account_id
            when origin_type = 'video' then poster_account_id
            when origin_type = 'showcase' then origin_id
        end as creator_account_id
    from attributed
),

final as (
    select
        shop_id,
        stat_date,
        order_id,
        line_id,
        product_id,
        sku_id,
        buyer_id,
        buyer_country,
        paid_at,
        cancelled_at,
        cancelled_stat_date,
        quantity,
        unit_price,
        list_amount,
        seller_discount,
        platform_discount,
        cast(list_amount - seller_discount - platform_discount as decimal(18, 2))
            as merchandise_paid,
        shipping_share,
        cast(list_amount - seller_discount - platform_discount + shipping_share as decimal(18, 2))
            as gmv,
        cast(list_amount - seller_discount as decimal(18, 2)) as commission_base,
        commission_rate,
        -- round() on a DECIMAL rounds half up; the estimate needs a rate and a creator
        cast(
            case
                when commission_rate is not null and creator_account_id is not null
                    then round((list_amount - seller_discount) * commission_rate, 2)
                else 0
            end as decimal(18, 2)
        ) as estimated_commission,
        source_type,
        source_id,
        cart_add_id,
        channel,
        channel_detail,
        live_id,
        video_id,
        creator_account_id,
        window_close
    from channels
)

-- No ORDER BY: sorting 1 M wide rows a day costs more than every query that reads them
-- (each scans the whole table or a date range of it) would save.
select * from final
