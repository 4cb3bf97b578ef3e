-- One row per customer that exists on the as-of date: lifecycle stage, plan and money, owned products,
-- usage and health signals, and the primary contact with consent per channel. Read by Python (contract).

with

customers as (

    select * from {{ ref('stg_app__customers') }}
    where created_at < {{ as_of_cutoff() }}

),

stages as (

    select * from {{ ref('int_customer_lifecycle_stages') }}

),

subscription_state as (

    select * from {{ ref('int_subscription_state_as_of') }}

),

activity as (

    select * from {{ ref('int_customer_activity_as_of') }}

),

health as (

    select * from {{ ref('int_customer_health_as_of') }}

),

primary_contacts as (

    select * from {{ ref('int_primary_contacts_as_of') }}

),

ownership as (

    select
        customer_id,
        count(*) as owned_product_count,
        sum(case when product_kind = 'addon' then 1 else 0 end) as owned_addon_count,
        {{ dbt.listagg('product_id', "', '", 'order by product_id') }} as owned_products
    from {{ ref('product_ownership') }}
    group by customer_id

),

final as (

    select
        -- ids
        customers.customer_id,
        subscription_state.subscription_id,
        primary_contacts.contact_id as primary_contact_id,

        -- account
        customers.company_name,
        customers.industry,
        customers.employee_band,
        customers.country_code,
        customers.acquisition_channel,

        -- lifecycle
        stages.lifecycle_stage,
        stages.lifecycle_stage_reason,
        subscription_state.subscription_status,

        -- plan
        subscription_state.plan_id,
        subscription_state.plan_name,
        subscription_state.tier,
        subscription_state.tier_rank,
        subscription_state.billing_period,
        subscription_state.previous_plan_id,
        subscription_state.plan_change_event_type,
        subscription_state.plan_changed_at,

        -- amounts
        cast(coalesce(subscription_state.mrr, 0) as {{ type_double() }}) as mrr,

        -- dates
        customers.created_at,
        customers.created_on,
        cast({{ dbt.datediff('customers.created_on', as_of_date(), 'day') }} as {{ dbt.type_int() }}) as tenure_days,
        subscription_state.trial_started_at,
        subscription_state.trial_ends_at,
        subscription_state.first_paid_at,
        subscription_state.core_purchased_at,
        subscription_state.renewal_date,
        cast(
            {{ dbt.datediff(as_of_date(), 'subscription_state.renewal_date', 'day') }} as {{ dbt.type_int() }}
        ) as days_until_renewal,
        subscription_state.last_upgraded_at,
        subscription_state.last_downgraded_at,
        subscription_state.last_addon_purchased_at,
        subscription_state.last_cancelled_at,
        subscription_state.last_reactivated_at,
        cast(coalesce(subscription_state.reactivation_count, 0) as {{ dbt.type_int() }}) as reactivation_count,

        -- products
        cast(coalesce(ownership.owned_product_count, 0) as {{ dbt.type_int() }}) as owned_product_count,
        cast(coalesce(ownership.owned_addon_count, 0) as {{ dbt.type_int() }}) as owned_addon_count,
        coalesce(ownership.owned_products, '') as owned_products,

        -- usage
        activity.last_active_on,
        cast(stages.days_since_last_activity as {{ dbt.type_int() }}) as days_since_last_activity,
        cast(coalesce(activity.active_days_last_28d, 0) as {{ dbt.type_int() }}) as active_days_last_28d,
        cast(coalesce(activity.active_weeks_last_4, 0) as {{ dbt.type_int() }}) as active_weeks_last_4,
        stages.onboarding_completed_at,
        cast(activity.seats_in_use as {{ type_double() }}) as seats_in_use,
        subscription_state.seat_quota,
        cast(activity.seats_in_use / nullif(subscription_state.seat_quota, 0) as {{ type_double() }})
            as seat_utilization,
        cast(activity.storage_used_gb as {{ type_double() }}) as storage_used_gb,
        subscription_state.storage_quota_gb,
        cast(activity.storage_used_gb / nullif(subscription_state.storage_quota_gb, 0) as {{ type_double() }})
            as storage_utilization,

        -- health
        cast(coalesce(health.open_tickets_low, 0) as {{ dbt.type_int() }}) as open_tickets_low,
        cast(coalesce(health.open_tickets_normal, 0) as {{ dbt.type_int() }}) as open_tickets_normal,
        cast(coalesce(health.open_tickets_high, 0) as {{ dbt.type_int() }}) as open_tickets_high,
        cast(coalesce(health.open_tickets_urgent, 0) as {{ dbt.type_int() }}) as open_tickets_urgent,
        cast(health.last_nps_score as {{ dbt.type_int() }}) as last_nps_score,
        health.last_nps_at,
        stages.has_failed_payment,
        subscription_state.last_payment_failed_at,
        stages.is_nps_detractor,
        stages.is_inactive,
        stages.is_recent_downgrade,
        -- a bad moment for any offer: an open high/urgent ticket, a recent detractor answer, a failed payment
        (stages.open_high_priority_tickets > 0 or stages.is_nps_detractor or stages.has_failed_payment)
            as is_bad_moment,

        -- primary contact
        primary_contacts.email,
        primary_contacts.first_name,
        primary_contacts.last_name,
        primary_contacts.phone,
        primary_contacts.time_zone,
        primary_contacts.time_zone_source,
        primary_contacts.locale,
        coalesce(primary_contacts.email_consent_status, 'unknown') as email_consent_status,
        primary_contacts.email_consent_recorded_at,
        coalesce(primary_contacts.sms_consent_status, 'unknown') as sms_consent_status,
        primary_contacts.sms_consent_recorded_at,

        -- as of
        {{ as_of_date() }} as as_of_date

    from customers
    inner join stages
        on customers.customer_id = stages.customer_id
    left join subscription_state
        on customers.customer_id = subscription_state.customer_id
    left join activity
        on customers.customer_id = activity.customer_id
    left join health
        on customers.customer_id = health.customer_id
    left join primary_contacts
        on customers.customer_id = primary_contacts.customer_id
    left join ownership
        on customers.customer_id = ownership.customer_id

)

select * from final
