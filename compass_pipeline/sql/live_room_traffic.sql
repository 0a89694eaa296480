-- live_room_traffic: room-wide views (观看人次, enter events) and viewers (distinct viewers)
-- of each LIVE a dashboard refresh covers: one row per LIVE × viewer country, plus one per
-- LIVE for the whole room (is_room_total, viewer_country null). FAQ 直播模块 Q3 (traffic by
-- viewer country is global data), Q7, Q11; metrics.md §12, §13. Every viewer's first event
-- is an enter, so the enters hold every viewer. A LIVE's room events lie within its air
-- time, all before a dashboard refresh that covers it, so they need no as-of filter.

with

viewer_enters as (
    select live_id, viewer_id, viewer_country, count(*) as views
    from raw_live_room_events
    where
        event_type = 'enter'
        and live_id in (select live_id from live_refreshes)
    group by live_id, viewer_id, viewer_country
),

by_country as (
    select
        live_id,
        viewer_country,
        false as is_room_total,
        sum(views) as views,
        count(*) as viewers
    from viewer_enters
    group by live_id, viewer_country
),

-- a viewer seen from two countries is one viewer of the room
room as (
    select
        live_id,
        cast(null as varchar) as viewer_country,
        true as is_room_total,
        sum(views) as views,
        count(distinct viewer_id) as viewers
    from viewer_enters
    group by live_id
),

final as (
    select * from by_country
    union all
    select * from room
)

select * from final
