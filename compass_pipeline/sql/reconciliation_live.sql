-- reconciliation_live: per LIVE-list refresh T (the partition),
--   R05, R06, R10: one row per check × LIVE × shop whose list shows the LIVE at
--                  T = window_close(L) (its final list refresh), in that partition only;
--   R13:           one row per LIVE × 5-minute bucket × shop whose list shows the LIVE at T,
--                  in the partition of the first list refresh at or after the LIVE's end.
-- FAQ 直播模块 Q1, Q10 (R05), Q4, Q6 (R06), 不同罗盘对比 (R10), 多模块数据对比 row 3 and
-- 直播模块 Q12 (R13); reconciliations.md, metrics.md §3–5, §10, §13.
-- Money sides are the published metrics computed from line_facts under the same filters as
-- the LIVE marts (attribution and its 30-day window come from line_facts as they are); each
-- component is its own filter, so a broken rule leaves a non-zero residual. Components carry
-- their sign. R13 counts are stored as decimals.
-- Relations provided by the caller from the published computations (never re-derived here):
--   _reconciliation_list_members: live_list_snapshot rows (snapshot_at, shop_id, live_id,
--       is_final) at the partitions' refreshes: which shops' lists show which LIVEs;
--   _reconciliation_online_trend: live_online_trend rows of the LIVEs that end in them.
-- Parameters: $instants, $previous_instants (TIMESTAMPTZ[], each refresh and the list
-- refresh before it, position by position), $informational (VARCHAR[]).

with

refreshes as (
    select
        unnest(cast($instants as timestamptz[])) as snapshot_at,
        unnest(cast($previous_instants as timestamptz[])) as previous_at
),

members as (
    select snapshot_at, shop_id, live_id, is_final
    from _reconciliation_list_members
    where snapshot_at in (select snapshot_at from refreshes)
),

lives as (
    select live_id, region, started_at, ended_at, window_close, dashboard_close
    from live_facts
),

shops as (
    select shop_id, region from raw_shops
),

-- the LIVEs at their final list refresh, for each shop whose list shows them
final_members as (
    select
        members.snapshot_at,
        members.shop_id,
        members.live_id,
        shops.region as shop_region,
        lives.region as live_region,
        lives.started_at,
        lives.ended_at,
        lives.dashboard_close
    from members
    inner join lives on members.live_id = lives.live_id
    inner join shops on members.shop_id = shops.shop_id
    where members.is_final and members.snapshot_at = lives.window_close
),

-- every shop's lines attributed to those LIVEs
live_lines as (
    select shop_id, live_id, buyer_country, paid_at, gmv
    from line_facts
    where live_id in (select live_id from final_members)
),

-- per shop S × LIVE L: the sums the LIVE list, the dashboard and Live Manager show at their
-- final refreshes, and the parts that tell them apart
live_sums as (
    select
        final_members.snapshot_at,
        final_members.shop_id,
        final_members.live_id,
        final_members.shop_region = final_members.live_region as regions_agree,
        -- LIVE list (seller view): S's local buyers, up to window_close = T
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.buyer_country = final_members.shop_region
            and live_lines.paid_at <= final_members.snapshot_at
        ) as list_final,
        -- LIVE dashboard: S's buyers of every country, up to dashboard_close
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.paid_at <= final_members.dashboard_close
        ) as dashboard_final,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.buyer_country = final_members.shop_region
            and live_lines.paid_at > final_members.dashboard_close
            and live_lines.paid_at <= final_members.snapshot_at
        ) as local_after_dashboard_close,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.buyer_country <> final_members.shop_region
            and live_lines.paid_at <= final_members.dashboard_close
        ) as foreign_until_dashboard_close,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.paid_at > final_members.ended_at
            and live_lines.paid_at <= final_members.dashboard_close
        ) as attributed_after_live,
        -- Live Manager (creator view): every shop, buyers of the LIVE's region, up to T
        sum(live_lines.gmv) filter (
            where live_lines.buyer_country = final_members.live_region
            and live_lines.paid_at <= final_members.snapshot_at
        ) as creator_view,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id <> final_members.shop_id
            and live_lines.buyer_country = final_members.live_region
            and live_lines.paid_at <= final_members.snapshot_at
        ) as other_shops,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.buyer_country = final_members.live_region
            and live_lines.paid_at <= final_members.snapshot_at
        ) as own_live_region,
        sum(live_lines.gmv) filter (
            where live_lines.shop_id = final_members.shop_id
            and live_lines.buyer_country = final_members.shop_region
            and live_lines.paid_at <= final_members.snapshot_at
        ) as own_shop_region
    from final_members
    left join live_lines on final_members.live_id = live_lines.live_id
    group by
        final_members.snapshot_at,
        final_members.shop_id,
        final_members.live_id,
        final_members.shop_region,
        final_members.live_region
),

-- order management's view of the LIVE: S's lines paid during [started_at, ended_at], any
-- channel and country; first narrowed to the partitions' air times (line_facts is sorted by
-- paid_at, so this reads a few row groups)
air_time as (
    select min(started_at) as first_start, max(ended_at) as last_end from final_members
),

lines_on_air as (
    select shop_id, live_id, paid_at, gmv
    from line_facts
    where
        paid_at >= (select first_start from air_time)
        and paid_at <= (select last_end from air_time)
),

during_live as (
    select
        final_members.snapshot_at,
        final_members.shop_id,
        final_members.live_id,
        sum(lines_on_air.gmv) as paid_during,
        sum(lines_on_air.gmv) filter (
            where lines_on_air.live_id is distinct from final_members.live_id
        ) as other_channels
    from final_members
    inner join lines_on_air
        on final_members.shop_id = lines_on_air.shop_id
        and lines_on_air.paid_at >= final_members.started_at
        and lines_on_air.paid_at <= final_members.ended_at
    group by final_members.snapshot_at, final_members.shop_id, final_members.live_id
),

-- R05 big_screen_vs_live_list — FAQ 直播模块 Q1, Q10. A: LIVE-list final GMV. B: dashboard
-- final GMV.
r05 as (
    select
        'R05_big_screen_vs_live_list' as check_id,
        snapshot_at,
        shop_id,
        live_id,
        cast(null as timestamptz) as bucket_start,
        coalesce(list_final, 0) as a_value,
        coalesce(dashboard_final, 0) as b_value,
        [
            {
                'name': 'local_gmv_paid_after_dashboard_close',
                'value': coalesce(local_after_dashboard_close, 0)
            },
            {
                'name': 'foreign_gmv_until_dashboard_close',
                'value': -coalesce(foreign_until_dashboard_close, 0)
            }
        ] as components
    from live_sums
),

-- R06 big_screen_vs_order_management — FAQ 直播模块 Q4, Q6. A: dashboard final GMV of the
-- LIVE. B: the shop's GMV paid during the LIVE, any channel.
r06 as (
    select
        'R06_big_screen_vs_order_management' as check_id,
        live_sums.snapshot_at,
        live_sums.shop_id,
        live_sums.live_id,
        cast(null as timestamptz) as bucket_start,
        coalesce(live_sums.dashboard_final, 0) as a_value,
        coalesce(during_live.paid_during, 0) as b_value,
        [
            {
                'name': 'live_gmv_paid_after_live_ended',
                'value': coalesce(live_sums.attributed_after_live, 0)
            },
            {
                'name': 'other_channel_gmv_paid_during_live',
                'value': -coalesce(during_live.other_channels, 0)
            }
        ] as components
    from live_sums
    left join during_live
        on live_sums.snapshot_at = during_live.snapshot_at
        and live_sums.shop_id = during_live.shop_id
        and live_sums.live_id = during_live.live_id
),

-- R10 creator_view_vs_seller_view — FAQ 不同罗盘对比. A: creator-view (Live Manager) GMV of
-- the LIVE. B: seller-view (LIVE list) GMV for the shop, both at the final list refresh.
r10 as (
    select
        'R10_creator_view_vs_seller_view' as check_id,
        snapshot_at,
        shop_id,
        live_id,
        cast(null as timestamptz) as bucket_start,
        coalesce(creator_view, 0) as a_value,
        coalesce(list_final, 0) as b_value,
        [
            {'name': 'other_shops_gmv', 'value': coalesce(other_shops, 0)},
            {
                'name': 'own_shop_region_difference',
                'value': case
                    when regions_agree then 0
                    else coalesce(own_live_region, 0) - coalesce(own_shop_region, 0)
                end
            }
        ] as components
    from live_sums
),

-- R13 online_5min_vs_in_room — 多模块数据对比 row 3, 直播模块 Q12. Informational. A: the
-- dashboard's 5-minute online sum. B: the in-room count at the bucket's end. Both, and the
-- last minute's window estimate, are the published trend's; the components split A − B by
-- their definitions.
ending_members as (
    select members.snapshot_at, members.shop_id, members.live_id
    from members
    inner join refreshes on members.snapshot_at = refreshes.snapshot_at
    inner join lives on members.live_id = lives.live_id
    where lives.ended_at > refreshes.previous_at and lives.ended_at <= refreshes.snapshot_at
),

r13 as (
    select
        'R13_online_5min_vs_in_room' as check_id,
        ending_members.snapshot_at,
        ending_members.shop_id,
        ending_members.live_id,
        trend.bucket_start,
        trend.online_users_5min_sum as a_value,
        trend.in_room_online_at_bucket_end as b_value,
        [
            {
                'name': 'window_estimate',
                'value': trend.online_users_last_minute - trend.in_room_online_at_bucket_end
            },
            {
                'name': 'five_fold_sum',
                'value': trend.online_users_5min_sum - trend.online_users_last_minute
            }
        ] as components
    from ending_members
    inner join _reconciliation_online_trend as trend
        on ending_members.live_id = trend.live_id
),

checks as (
    select * from r05
    union all by name
    select * from r06
    union all by name
    select * from r10
    union all by name
    select * from r13
),

typed as (
    select
        check_id,
        shop_id,
        live_id,
        snapshot_at,
        bucket_start,
        cast(a_value as decimal(18, 2)) as a_value,
        cast(b_value as decimal(18, 2)) as b_value,
        cast(components as struct(name varchar, value decimal(18, 2))[]) as components
    from checks
),

final as (
    select
        check_id,
        shop_id,
        live_id,
        snapshot_at,
        bucket_start,
        a_value,
        b_value,
        cast(a_value - b_value as decimal(18, 2)) as difference,
        components,
        cast(
            a_value - b_value - coalesce(list_sum([c.value for c in components]), 0)
            as decimal(18, 2)
        ) as residual,
        list_contains(cast($informational as varchar[]), check_id) as informational
    from typed
)

select * from final
order by snapshot_at, live_id, shop_id, check_id, bucket_start
