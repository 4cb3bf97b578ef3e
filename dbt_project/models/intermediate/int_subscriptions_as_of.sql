-- One row per subscription that exists as of the date, with its status, plan, period and MRR, all
-- derived from subscription_events up to the end of the as-of day (so any past day can be rebuilt).
-- One aggregation pass over the events: "latest" values use latest_value() keyed by event_order_key()
-- (time, then lifecycle precedence for events at the same instant).

with

subscriptions as (

    select * from {{ ref('stg_app__subscriptions') }}
    where created_at < {{ as_of_cutoff() }}

),

events as (

    select
        *,
        {{ event_order_key('occurred_at', subscription_event_precedence('event_type')) }} as event_order
    from {{ ref('stg_app__subscription_events') }}
    where occurred_at < {{ as_of_cutoff() }}

),

event_facts as (

    select
        subscription_id,

        -- latest values
        {{ latest_value('event_type', 'event_order', 'is_status_event') }} as last_status_event_type,
        max(case when is_status_event then occurred_at end) as last_status_event_at,
        {{ latest_value('plan_id', 'event_order', 'not is_addon_event') }} as plan_id,
        {{ latest_value('period_end', 'event_order') }} as period_end,
        {{ latest_value('occurred_at', 'event_order', 'period_end is not null') }} as period_started_at,
        {{ latest_value('mrr_after', 'event_order') }} as last_mrr_after,

        -- milestones of the subscription
        min(case when event_type = 'trial_started' then occurred_at end) as trial_started_at,
        min(case when event_type in ('trial_converted', 'new') then occurred_at end) as first_paid_at,
        max(case when event_type = 'trial_converted' then occurred_at end) as trial_converted_at,
        max(case when event_type = 'trial_expired' then occurred_at end) as trial_expired_at,
        max(case when event_type = 'cancel' then occurred_at end) as last_cancelled_at,
        max(case when event_type = 'reactivate' then occurred_at end) as last_reactivated_at,
        sum(case when event_type = 'reactivate' then 1 else 0 end) as reactivation_count,
        max(case when event_type = 'upgrade' then occurred_at end) as last_upgraded_at,
        max(case when event_type = 'downgrade' then occurred_at end) as last_downgraded_at,
        max(case when event_type = 'renewal' then occurred_at end) as last_renewed_at,
        max(case when event_type = 'addon_purchased' then occurred_at end) as last_addon_purchased_at,
        max(case when event_type = 'addon_removed' then occurred_at end) as last_addon_removed_at,
        max(case when event_type = 'payment_failed' then occurred_at end) as last_payment_failed_at,
        max(case when is_period_start and amount > 0 then occurred_at end) as last_paid_at

    from events
    group by subscription_id

),

-- plan changes: only events that can set a plan (renewals, failures and add-ons keep it)
plan_setting_events as (

    select
        subscription_id,
        plan_id,
        event_type,
        occurred_at,
        event_order,
        lag(plan_id) over (partition by subscription_id order by event_order) as prior_plan_id
    from events
    where plan_id is not null
      and event_type in ('trial_started', 'trial_converted', 'new', 'upgrade', 'downgrade', 'reactivate')

),

-- the latest event that changed the plan (an upgrade, a downgrade, or a reactivation on another plan)
last_plan_change as (

    select
        subscription_id,
        {{ latest_value('prior_plan_id', 'event_order') }} as previous_plan_id,
        {{ latest_value('event_type', 'event_order') }} as plan_change_event_type,
        max(occurred_at) as plan_changed_at
    from plan_setting_events
    where prior_plan_id <> plan_id
    group by subscription_id

),

joined as (

    select
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.created_at,
        subscriptions.trial_ends_at,
        event_facts.last_status_event_type,
        event_facts.last_status_event_at,
        event_facts.plan_id,
        last_plan_change.previous_plan_id,
        last_plan_change.plan_change_event_type,
        last_plan_change.plan_changed_at,
        event_facts.period_end,
        event_facts.period_started_at,
        event_facts.last_mrr_after,
        event_facts.trial_started_at,
        event_facts.first_paid_at,
        event_facts.trial_converted_at,
        event_facts.trial_expired_at,
        event_facts.last_cancelled_at,
        event_facts.last_reactivated_at,
        coalesce(event_facts.reactivation_count, 0) as reactivation_count,
        event_facts.last_upgraded_at,
        event_facts.last_downgraded_at,
        event_facts.last_renewed_at,
        event_facts.last_addon_purchased_at,
        event_facts.last_addon_removed_at,
        event_facts.last_payment_failed_at,
        event_facts.last_paid_at
    from subscriptions
    left join event_facts
        on subscriptions.subscription_id = event_facts.subscription_id
    left join last_plan_change
        on subscriptions.subscription_id = last_plan_change.subscription_id

),

with_status as (

    select
        *,
        case
            when last_status_event_type is null then 'pending'
            when last_status_event_type = 'cancel' then 'cancelled'
            when last_status_event_type = 'trial_expired' then 'expired'
            -- a trial whose end passed before the as-of day without a conversion has expired
            when last_status_event_type = 'trial_started'
                and trial_ends_at < {{ as_of_date() }} then 'expired'
            when last_status_event_type = 'trial_started' then 'trialing'
            else 'active'
        end as subscription_status
    from joined

),

final as (

    select
        -- ids
        subscription_id,
        customer_id,
        plan_id,
        previous_plan_id,

        -- status
        subscription_status,
        last_status_event_type,
        plan_change_event_type,

        -- amounts
        case when subscription_status = 'active' then coalesce(last_mrr_after, 0) else 0 end as mrr,

        -- dates
        created_at,
        trial_started_at,
        trial_ends_at,
        trial_converted_at,
        trial_expired_at,
        first_paid_at,
        -- start of the current paid stretch: the first payment, or the latest reactivation after a cancel
        case
            when last_reactivated_at is not null
                and (first_paid_at is null or last_reactivated_at > first_paid_at) then last_reactivated_at
            else first_paid_at
        end as core_purchased_at,
        period_started_at,
        plan_changed_at,
        case when subscription_status = 'active' then period_end end as renewal_date,
        last_status_event_at,
        last_cancelled_at,
        last_reactivated_at,
        reactivation_count,
        last_upgraded_at,
        last_downgraded_at,
        last_renewed_at,
        last_addon_purchased_at,
        last_addon_removed_at,
        last_payment_failed_at,
        last_paid_at,

        -- flags
        (
            subscription_status = 'active'
            and last_payment_failed_at is not null
            and (last_paid_at is null or last_payment_failed_at > last_paid_at)
        ) as has_failed_payment

    from with_status

)

select * from final
