-- big_screen_traffic: one row per dashboard refresh × shop × LIVE × viewer country, for the
-- global-view LIVEs of big_screen_snapshot: room-wide views and viewers split by viewer
-- country. FAQ 直播模块 Q3 (the dashboard's traffic is global, so it shows countries other
-- than the LIVE's), Q7 (only a global-view LIVE has traffic analysis). metrics.md §12, §13.

with

members as (
    select snapshot_at, shop_id, live_id from live_membership
),

lives as (
    select live_id, global_view from live_session_facts
),

countries as (
    select live_id, viewer_country, views, viewers
    from live_room_traffic
    where not is_room_total
),

final as (
    select
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        countries.viewer_country,
        cast(countries.views as bigint) as views,
        cast(countries.viewers as bigint) as viewers
    from members
    inner join lives on members.live_id = lives.live_id
    inner join countries on members.live_id = countries.live_id
    where lives.global_view
)

select * from final
