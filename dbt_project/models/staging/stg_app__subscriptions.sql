{{ check_landing_contract('app', 'subscriptions') }}

with source as (

    select * from {{ source('app', 'subscriptions') }}

),

renamed as (

    select
        -- ids
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,

        -- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(trial_ends_at as {{ dbt.type_timestamp() }}) as trial_ends_at,

        -- flags
        trial_ends_at is not null as started_with_trial

    from source

)

select * from renamed
