-- live_online_minutes: one row per LIVE × minute of its air time, from the minute holding
-- started_at to the one holding ended_at (UTC), with the minute-level counts of metrics.md
-- §13. FAQ 直播模块 Q12, 多模块数据对比 row 3:
--   in_room_online_at_minute_end   viewers whose latest event strictly before m + 1 min is an
--                    enter: the running sum of net_entries (enters − leaves of each minute);
--   online_users     viewers present at any instant of [m, m + 1 min): their latest event at
--                    or before m is an enter, or they enter during the minute (a window
--                    estimate, never below the in-room count at the minute's end).
-- A viewer's events alternate enter, leave, …, so a viewer with events in minute m was in the
-- room just before m exactly when the first of them is a leave. Hence
--   online_users(m) = in-room just before m
--                   + viewers whose events in m start with an enter (they come in)
--                   − viewers whose only event in m is a leave exactly at m (gone at m),
-- counted per LIVE × minute: a viewer's lone event in a minute counts by its type; only the
-- viewer-minutes holding several events are grouped and ordered (no per-viewer sort).
-- Parameters: $ended_after, $ended_until: the LIVEs that ended in (ended_after, ended_until].

with

-- minutes are counted in whole UTC minutes since the epoch: integer arithmetic throughout
lives as (
    select
        live_id,
        epoch_us(started_at) // 60000000 as first_minute,
        epoch_us(ended_at) // 60000000 as last_minute
    from live_session_facts
    where ended_at > $ended_after and ended_at <= $ended_until
),

-- read twice (all events, then the shared viewers' ones) rather than held in memory
events as not materialized (
    select
        live_id,
        viewer_id,
        event_id,
        event_type = 'enter' as is_enter,
        epoch_us(occurred_at) as occurred_us,
        epoch_us(occurred_at) // 60000000 as minute_no
    from raw_live_room_events
    where live_id in (select live_id from lives)
),

-- A viewer's events alternate, so a viewer with several events in a minute has both an enter
-- and a leave in it: those viewers (as a 64-bit hash) are found among both the minute's
-- enters and its leaves. Every other event is alone in its viewer-minute and counts by its
-- type. A hash collision only adds a viewer, whose events are then counted exactly.
minute_counts as (
    select
        live_id,
        minute_no,
        count(*) filter (where is_enter) as enters,
        count(*) filter (where not is_enter) as leaves,
        count(*) filter (
            where not is_enter and occurred_us = minute_no * 60000000
        ) as leaves_at_start,
        list_intersect(
            list(hash(viewer_id)) filter (where is_enter),
            list(hash(viewer_id)) filter (where not is_enter)
        ) as shared_viewers
    from events
    group by live_id, minute_no
),

shared_slots as (
    select live_id, minute_no, unnest(shared_viewers) as viewer_hash
    from minute_counts
),

shared_viewer_minutes as (
    select
        live_id,
        viewer_id,
        minute_no,
        count(*) filter (where is_enter) as enters,
        count(*) filter (
            where not is_enter and occurred_us = minute_no * 60000000
        ) as leaves_at_start,
        arg_min(is_enter, (occurred_us, event_id)) as starts_with_enter,
        min(occurred_us) as first_us
    from events
    semi join shared_slots
        on events.live_id = shared_slots.live_id
        and events.minute_no = shared_slots.minute_no
        and hash(events.viewer_id) = shared_slots.viewer_hash
    group by live_id, viewer_id, minute_no
),

shared_counts as (
    select
        live_id,
        minute_no,
        sum(enters) as enters,
        sum(leaves_at_start) as leaves_at_start,
        count(*) filter (where starts_with_enter) as arrivals,
        count(*) filter (
            where not starts_with_enter and enters = 0 and first_us = minute_no * 60000000
        ) as departures_at_start
    from shared_viewer_minutes
    group by live_id, minute_no
),

-- lone events: an enter is an arrival, a leave exactly at the minute's start a departure
minute_changes as (
    select
        minute_counts.live_id,
        minute_counts.minute_no,
        minute_counts.enters,
        minute_counts.leaves,
        minute_counts.enters - coalesce(shared_counts.enters, 0)
        + coalesce(shared_counts.arrivals, 0) as arrivals,
        minute_counts.leaves_at_start - coalesce(shared_counts.leaves_at_start, 0)
        + coalesce(shared_counts.departures_at_start, 0) as departures_at_start
    from minute_counts
    left join shared_counts
        on minute_counts.live_id = shared_counts.live_id
        and minute_counts.minute_no = shared_counts.minute_no
),

minutes as (
    select live_id, unnest(range(first_minute, last_minute + 1)) as minute_no
    from lives
),

per_minute as (
    select
        minutes.live_id,
        minutes.minute_no,
        coalesce(minute_changes.enters, 0) - coalesce(minute_changes.leaves, 0) as net_entries,
        coalesce(minute_changes.arrivals, 0) as arrivals,
        coalesce(minute_changes.departures_at_start, 0) as departures_at_start
    from minutes
    left join minute_changes
        on minutes.live_id = minute_changes.live_id
        and minutes.minute_no = minute_changes.minute_no
),

running as (
    select
        *,
        sum(net_entries) over (
            partition by live_id
            order by minute_no
            rows between unbounded preceding and current row
        ) as in_room_at_end
    from per_minute
),

final as (
    select
        live_id,
        make_timestamptz(minute_no * 60000000) as minute_start,
        cast(in_room_at_end - net_entries + arrivals - departures_at_start as bigint)
            as online_users,
        cast(in_room_at_end as bigint) as in_room_online_at_minute_end,
        cast(net_entries as bigint) as net_entries
    from running
)

select * from final
