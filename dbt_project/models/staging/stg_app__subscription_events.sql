{{ check_landing_contract('app', 'subscription_events') }}

with source as (

    select * from {{ source('app', 'subscription_events') }}

),

renamed as (

    select
        -- ids
        cast(event_id as {{ dbt.type_string() }}) as subscription_event_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,

        -- what happened
        cast(event_type as {{ dbt.type_string() }}) as event_type,

        -- amounts
        cast(amount as {{ type_double() }}) as amount,
        cast(mrr_after as {{ type_double() }}) as mrr_after,

        -- dates
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(period_end as date) as period_end,

        -- flags
        event_type in ('addon_purchased', 'addon_removed') as is_addon_event,
        event_type in (
            'trial_started', 'trial_converted', 'trial_expired', 'new', 'upgrade',
            'downgrade', 'renewal', 'cancel', 'reactivate'
        ) as is_status_event,
        event_type in (
            'trial_converted', 'new', 'upgrade', 'downgrade', 'renewal', 'reactivate'
        ) as is_period_start

    from source

)

select * from renamed
