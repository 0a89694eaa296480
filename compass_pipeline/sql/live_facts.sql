-- live_facts: one row per LIVE, with its host and the instants at which its numbers freeze.
-- FAQ 直播模块 Q1, Q9, Q10: a LIVE keeps collecting cart sales for 30 days after it ends;
-- the LIVE list refreshes it three times more on that last day, the dashboard only at its
-- 00:00 UTC. metrics.md §3, §5: window_close(L) is the last LIVE-list refresh on UTC day
-- date_utc(ended_at) + 30; a LIVE still on the air has no close yet.
-- This is the only place the window is computed. Grain: one row per live_id.
-- Parameter: $last_refresh_hour, the last LIVE-list refresh hour of a UTC day.

with

live_sessions as (
    select live_id, account_id, region, started_at, ended_at from raw_live_sessions
),

accounts as (
    select account_id, account_type from raw_accounts
),

final_days as (
    select
        *,
        cast(timezone('UTC', ended_at) as date) + 30 as final_utc_date
    from live_sessions
),

final as (
    select
        final_days.live_id,
        final_days.account_id,
        accounts.account_type,
        final_days.region,
        final_days.started_at,
        final_days.ended_at,
        final_days.final_utc_date,
        timezone(
            'UTC',
            cast(final_days.final_utc_date as timestamp)
            + to_hours(cast($last_refresh_hour as bigint))
        ) as window_close,
        timezone('UTC', cast(final_days.final_utc_date as timestamp)) as dashboard_close
    from final_days
    left join accounts on final_days.account_id = accounts.account_id
)

select * from final
order by started_at, live_id
