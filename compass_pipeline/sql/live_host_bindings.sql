-- live_host_bindings: one row per refresh × LIVE × binding of the LIVE's host to a shop, with
-- where that binding stands at the refresh.
-- metrics.md §5, §12; outputs.md "LIVE list": a binding is in force at T when bound_at <= T
-- and (unbound_at is null or unbound_at > T); bound_at/unbound_at are its validity, updated_at
-- only orders its versions. This is the only place the LIVE modules test it: the list rule
-- (live_membership: a host bound to the shop links its LIVEs), gmv_own_shops
-- (creator_live_snapshot) and the dashboard entry (big_screen_snapshot, FAQ 直播模块 Q2, Q5:
-- which also needs to know whether the binding has ended or has not started yet).
-- Grain: snapshot_at × live_id × shop_id × binding_type (a host has at most one binding per
-- shop, raw-contract.md).

with

refreshes as (
    select snapshot_at, live_id from live_refreshes
),

lives as (
    select live_id, account_id from live_session_facts
),

bindings as (
    select shop_id, account_id, binding_type, bound_at, unbound_at from raw_account_bindings
),

final as (
    select
        refreshes.snapshot_at,
        refreshes.live_id,
        bindings.shop_id,
        bindings.binding_type,
        bindings.bound_at <= refreshes.snapshot_at
        and (bindings.unbound_at is null or bindings.unbound_at > refreshes.snapshot_at)
            as in_force,
        coalesce(bindings.unbound_at <= refreshes.snapshot_at, false) as ended,
        bindings.bound_at > refreshes.snapshot_at as not_yet_in_force
    from refreshes
    inner join lives on refreshes.live_id = lives.live_id
    inner join bindings on lives.account_id = bindings.account_id
)

select * from final
