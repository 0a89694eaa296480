-- live_refreshes: one row per refresh instant × LIVE that the refresh covers, with the LIVE
-- as it stood at that instant (ended or still on the air).
-- FAQ 直播模块 Q1, Q9, Q10: the LIVE list covers a LIVE from its start to window_close(L),
-- three times a day; the dashboard from its end to 00:00 UTC of date_utc(ended_at) + 30, once
-- a day. A LIVE that has not ended at T shows no end and the status 'live', else 'ended'
-- (metrics.md §5, §14; outputs.md).
-- Parameters: $instants (TIMESTAMPTZ[], the refresh instants), $cadence ('list' | 'dashboard').

with

instants as (
    select distinct unnest(cast($instants as timestamptz [])) as snapshot_at
),

coverage as (
    select
        live_id,
        ended_at,
        case when $cadence = 'dashboard' then ended_at else started_at end as covered_from,
        -- null: still on the air, so the list has no window close yet
        case when $cadence = 'dashboard' then dashboard_close else window_close end
            as covered_until
    from live_session_facts
),

final as (
    select
        instants.snapshot_at,
        coverage.live_id,
        case when coverage.ended_at <= instants.snapshot_at then coverage.ended_at end
            as ended_at,
        case when coverage.ended_at <= instants.snapshot_at then 'ended' else 'live' end
            as status,
        coalesce(instants.snapshot_at = coverage.covered_until, false) as is_final
    from coverage
    inner join instants
        on coverage.covered_from <= instants.snapshot_at
        and (coverage.covered_until is null or instants.snapshot_at <= coverage.covered_until)
)

select * from final
