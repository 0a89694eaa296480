-- live_online_trend: one row per LIVE × 5-minute bucket (aligned to :00, :05, … UTC), in the
-- dashboard refresh T whose day holds the LIVE's end (ended_at in (T − 1 day, T]): its room
-- events do not change after it ends.
-- FAQ 多模块数据对比 row 3 (the dashboard's online trend is the sum of five per-minute
-- values, so it differs from the phone's in-room counter), 直播模块 Q12 (online users are a
-- window estimate, not enters − leaves), Q13 (every minute is computed after the fact, so no
-- bucket shows a sync-delay zero). metrics.md §13. A bucket only partly inside the LIVE
-- sums only its minutes inside the LIVE; its in-room count is at the end of the last of
-- them, which equals the count at the bucket's end (no event follows the LIVE's end).
-- Parameter: $instants (TIMESTAMPTZ[], dashboard refreshes at 00:00 UTC).

with

instants as (
    select distinct unnest(cast($instants as timestamptz [])) as snapshot_at
),

-- the first 00:00 UTC at or after the LIVE's end: whole UTC days since the epoch, rounded up
partitioned_lives as (
    select
        live_id,
        make_timestamptz(
            (epoch_us(ended_at) + 86399999999) // 86400000000 * 86400000000
        ) as snapshot_at
    from live_session_facts
    where ended_at is not null
),

minutes as (
    select
        partitioned_lives.snapshot_at,
        live_online_minutes.*,
        -- epoch microseconds floored to 5 minutes: buckets on the UTC clock
        make_timestamptz(
            epoch_us(live_online_minutes.minute_start) // 300000000 * 300000000
        ) as bucket_start
    from live_online_minutes
    inner join partitioned_lives on live_online_minutes.live_id = partitioned_lives.live_id
    where partitioned_lives.snapshot_at in (select snapshot_at from instants)
),

final as (
    select
        snapshot_at,
        live_id,
        bucket_start,
        count(*) as minutes_in_live,
        cast(sum(online_users) as bigint) as online_users_5min_sum,
        arg_max(in_room_online_at_minute_end, minute_start) as in_room_online_at_bucket_end,
        cast(sum(net_entries) as bigint) as net_entries,
        max(online_users) as max_online_users_minute,
        arg_max(online_users, minute_start) as online_users_last_minute
    from minutes
    group by snapshot_at, live_id, bucket_start
)

select * from final
