-- settlement_facts: one row per commission settlement, with its line's shop and paid stat
-- date and the stat date of settled_at in the shop's time zone.
-- FAQ 达人分析 Q1 (actual commission is counted when it is settled, the estimate when the
-- order is paid). metrics.md §2, §8.

with

settlements as (
    select * from raw_commission_settlements
),

lines as (
    select * from line_facts
),

shops as (
    select shop_id, timezone from raw_shops
),

final as (
    select
        settlements.settlement_id,
        settlements.line_id,
        lines.order_id,
        lines.shop_id,
        lines.product_id,
        settlements.account_id,
        settlements.amount,
        settlements.settled_at,
        cast(timezone(shops.timezone, settlements.settled_at) as date) as stat_date,
        lines.paid_at,
        lines.stat_date as paid_stat_date,
        lines.creator_account_id as line_creator_account_id,
        lines.estimated_commission as line_estimated_commission
    from settlements
    inner join lines on settlements.line_id = lines.line_id
    inner join shops on lines.shop_id = shops.shop_id
)

select * from final
order by settled_at, settlement_id
