-- live_session_facts: one row per LIVE: its host, market and the instants that close its
-- coverage, as live_facts states them (the 30-day window is computed there and only there),
-- with the global view of its shopping bag.
-- FAQ 直播模块 Q1, Q10 (the LIVE list covers a LIVE until window_close, its last refresh on
-- UTC day date_utc(ended_at) + 30; the dashboard until dashboard_close, 00:00 UTC of that
-- day), Q7 (global view: every bag product globally sellable; an empty bag is not).
-- metrics.md §3, §5, §12. Grain: one row per live_id.

with

lives as (
    select
        live_id,
        account_id,
        account_type,
        region,
        started_at,
        ended_at,
        window_close,
        dashboard_close
    from live_facts
),

bag as (
    select
        live_products.live_id,
        -- a bag product missing from products cannot be shown globally sellable
        bool_and(coalesce(products.globally_sellable, false)) as every_product_global
    from raw_live_products as live_products
    left join raw_products as products on live_products.product_id = products.product_id
    group by live_products.live_id
),

final as (
    select
        lives.*,
        coalesce(bag.every_product_global, false) as global_view
    from lives
    left join bag on lives.live_id = bag.live_id
)

select * from final
