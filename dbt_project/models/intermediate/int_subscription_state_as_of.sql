-- One row per customer with a subscription as of the date: the subscription that describes the
-- customer (an active one first, then a trial, then the most recent), its plan from the price list,
-- and MRR summed over all of the customer's active subscriptions.

with

subscriptions as (

    select * from {{ ref('int_subscriptions_as_of') }}

),

plans as (

    select * from {{ ref('stg_app__plans') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                case subscription_status
                    when 'active' then 1
                    when 'trialing' then 2
                    when 'pending' then 4
                    else 3
                end,
                last_status_event_at desc,
                created_at desc,
                subscription_id desc
        ) as subscription_rank
    from subscriptions

),

per_customer as (

    select
        customer_id,
        count(*) as subscription_count,
        sum(case when subscription_status = 'active' then 1 else 0 end) as active_subscription_count,
        sum(mrr) as mrr
    from subscriptions
    group by customer_id

),

final as (

    select
        -- ids
        ranked.customer_id,
        ranked.subscription_id,
        ranked.plan_id,
        ranked.previous_plan_id,

        -- status
        ranked.subscription_status,
        ranked.plan_change_event_type,

        -- plan
        plans.plan_name,
        plans.tier,
        plans.tier_rank,
        plans.billing_period,
        plans.seat_quota,
        plans.storage_quota_gb,
        plans.list_price,
        previous_plans.tier_rank as previous_tier_rank,
        previous_plans.billing_period as previous_billing_period,

        -- amounts
        per_customer.mrr,

        -- dates
        ranked.created_at as subscription_created_at,
        ranked.trial_started_at,
        ranked.trial_ends_at,
        ranked.trial_converted_at,
        ranked.trial_expired_at,
        ranked.first_paid_at,
        ranked.core_purchased_at,
        ranked.period_started_at,
        ranked.plan_changed_at,
        ranked.renewal_date,
        ranked.last_status_event_at,
        ranked.last_cancelled_at,
        ranked.last_reactivated_at,
        ranked.reactivation_count,
        ranked.last_upgraded_at,
        ranked.last_downgraded_at,
        ranked.last_renewed_at,
        ranked.last_addon_purchased_at,
        ranked.last_addon_removed_at,
        ranked.last_payment_failed_at,
        ranked.last_paid_at,

        -- counts and flags
        per_customer.subscription_count,
        per_customer.active_subscription_count,
        ranked.has_failed_payment

    from ranked
    inner join per_customer
        on ranked.customer_id = per_customer.customer_id
    left join plans
        on ranked.plan_id = plans.plan_id
    left join plans as previous_plans
        on ranked.previous_plan_id = previous_plans.plan_id
    where ranked.subscription_rank = 1

)

select * from final
