-- One row per customer existing on the as-of date: its lifecycle stage, the rule that decided it, and
-- the signals the rules read. The first matching rule wins (precedence, docs/lifecycle-rules.md):
--   1 churned     no active or trialing subscription (cancelled, trial expired, or none)
--   2 trial       in a free trial
--   3 at_risk     paying, and a failed payment not recovered, an open high/urgent ticket, a recent NPS
--                 detractor answer, no activity for `inactive_risk_days`, or a downgrade in the last
--                 `downgrade_risk_days`
--   4 onboarding  paying for at most `onboarding_window_days` without completing onboarding
--   5 expanding   upgraded or bought an add-on in the last `expansion_window_days`, nothing reduced since
--   6 active      any other paying customer
-- A view, computed inside its only reader (customers): it has no data tests of its own (they are on the
-- mart), and writing its 1M rows as a table cost more than computing them (docs/benchmarks.md).
{{ config(materialized='view') }}

with

customers as (

    select customer_id, created_at from {{ ref('stg_app__customers') }}
    where created_at < {{ as_of_cutoff() }}

),

subscription_state as (

    select * from {{ ref('int_subscription_state_as_of') }}

),

onboarding as (

    select customer_id, first_reached_at as onboarding_completed_at
    from {{ ref('int_usage_milestones') }}
    where milestone = 'onboarding_complete'
      and first_reached_at < {{ as_of_cutoff() }}

),

activity as (

    select * from {{ ref('int_customer_activity_as_of') }}

),

health as (

    select * from {{ ref('int_customer_health_as_of') }}

),

signals as (

    select
        customers.customer_id,
        subscription_state.subscription_status,
        subscription_state.trial_expired_at,
        subscription_state.last_cancelled_at,
        coalesce(subscription_state.has_failed_payment, false) as has_failed_payment,
        coalesce(health.open_tickets_high, 0) + coalesce(health.open_tickets_urgent, 0)
            as open_high_priority_tickets,
        coalesce(
            health.last_nps_score <= {{ var('nps_detractor_max_score') }}
            and health.last_nps_at >= {{ as_of_offset(-var('nps_recent_days')) }},
            false
        ) as is_nps_detractor,
        {{ dbt.datediff('activity.last_active_on', as_of_date(), 'day') }} as days_since_last_activity,
        -- never active: count from sign-up
        {{ dbt.datediff('coalesce(activity.last_active_on, cast(customers.created_at as date))', as_of_date(), 'day') }}
            as days_without_activity,
        coalesce(
            subscription_state.last_downgraded_at >= {{ as_of_offset(-var('downgrade_risk_days')) }},
            false
        ) as is_recent_downgrade,
        onboarding.onboarding_completed_at,
        {{ dbt.datediff('subscription_state.core_purchased_at', as_of_date(), 'day') }} as days_since_core_purchase,
        {{ later_of('subscription_state.last_upgraded_at', 'subscription_state.last_addon_purchased_at') }}
            as last_expansion_at,
        {{ later_of('subscription_state.last_downgraded_at', 'subscription_state.last_addon_removed_at') }}
            as last_contraction_at
    from customers
    left join subscription_state
        on customers.customer_id = subscription_state.customer_id
    left join onboarding
        on customers.customer_id = onboarding.customer_id
    left join activity
        on customers.customer_id = activity.customer_id
    left join health
        on customers.customer_id = health.customer_id

),

flagged as (

    select
        *,
        days_without_activity >= {{ var('inactive_risk_days') }} as is_inactive,
        coalesce(
            last_expansion_at >= {{ as_of_offset(-var('expansion_window_days')) }}
            and (last_contraction_at is null or last_contraction_at < last_expansion_at),
            false
        ) as is_recent_expansion
    from signals

),

staged as (

    select
        *,
        case
            when subscription_status is null or subscription_status not in ('active', 'trialing')
                then 'churned'
            when subscription_status = 'trialing'
                then 'trial'
            when has_failed_payment
                or open_high_priority_tickets > 0
                or is_nps_detractor
                or is_inactive
                or is_recent_downgrade
                then 'at_risk'
            when onboarding_completed_at is null
                and days_since_core_purchase <= {{ var('onboarding_window_days') }}
                then 'onboarding'
            when is_recent_expansion
                then 'expanding'
            else 'active'
        end as lifecycle_stage,
        case
            when subscription_status = 'cancelled' then 'cancelled'
            when subscription_status = 'expired' then 'trial_expired'
            when subscription_status is null or subscription_status not in ('active', 'trialing')
                then 'no_subscription'
            when subscription_status = 'trialing' then 'in_trial'
            when has_failed_payment then 'failed_payment'
            when open_high_priority_tickets > 0 then 'open_high_priority_ticket'
            when is_nps_detractor then 'nps_detractor'
            when is_inactive then 'inactive'
            when is_recent_downgrade then 'recent_downgrade'
            when onboarding_completed_at is null
                and days_since_core_purchase <= {{ var('onboarding_window_days') }}
                then 'onboarding_incomplete'
            when is_recent_expansion then 'recent_expansion'
            else 'paying'
        end as lifecycle_stage_reason
    from flagged

),

final as (

    select
        customer_id,
        lifecycle_stage,
        lifecycle_stage_reason,
        subscription_status,
        has_failed_payment,
        open_high_priority_tickets,
        is_nps_detractor,
        days_since_last_activity,
        is_inactive,
        is_recent_downgrade,
        is_recent_expansion,
        onboarding_completed_at,
        days_since_core_purchase,
        last_expansion_at,
        last_contraction_at
    from staged

)

select * from final
