-- live_shop_facts: one row per LIVE × shop, the LIVE start date (开播日期) in that shop's
-- time zone.
-- FAQ 数据概览 Q3: the LIVE modules put all of a LIVE's GMV on its start date, the home
-- overview on the stat date of each payment, so a LIVE that crosses midnight is split there
-- and not here. metrics.md §2: the LIVE start date of a LIVE for a shop is the stat date of
-- its started_at in the shop's timezone.
-- This is the only place the start date is computed: the LIVE list, R03 and the report read
-- it. Every shop gets a row (the lists that show a LIVE change with each refresh, and a LIVE
-- sells any shop's products), so a reader never misses a pair.
-- Grain: one row per live_id × shop_id.

with

lives as (
    select live_id, started_at from live_facts
),

shops as (
    select shop_id, timezone from raw_shops
),

final as (
    select
        lives.live_id,
        shops.shop_id,
        cast(timezone(shops.timezone, lives.started_at) as date) as start_date
    from lives
    cross join shops
)

select * from final
order by start_date, shop_id, live_id
