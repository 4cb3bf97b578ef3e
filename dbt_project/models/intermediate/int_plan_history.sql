-- The core plan in force on each subscription over time, as validity intervals [valid_from, valid_to),
-- up to the end of the as-of day. Used to judge usage against the quota of the plan held at the time.
-- Only events that can set a plan open an interval (renewals, payment failures and add-ons keep it).

with

plan_events as (

    select
        subscription_id,
        customer_id,
        plan_id,
        occurred_at,
        {{ event_order_key('occurred_at', subscription_event_precedence('event_type')) }} as event_order
    from {{ ref('stg_app__subscription_events') }}
    where occurred_at < {{ as_of_cutoff() }}
      and plan_id is not null
      and event_type in ('trial_started', 'trial_converted', 'new', 'upgrade', 'downgrade', 'reactivate')

),

intervals as (

    select
        subscription_id,
        customer_id,
        plan_id,
        occurred_at as valid_from,
        lead(occurred_at) over (partition by subscription_id order by event_order) as valid_to
    from plan_events

),

final as (

    select
        intervals.subscription_id,
        intervals.customer_id,
        intervals.plan_id,
        plans.seat_quota,
        plans.storage_quota_gb,
        intervals.valid_from,
        intervals.valid_to
    from intervals
    left join {{ ref('stg_app__plans') }} as plans
        on intervals.plan_id = plans.plan_id
    -- a plan event at the same instant as the next one never held
    where intervals.valid_to is null or intervals.valid_to > intervals.valid_from

)

select * from final
