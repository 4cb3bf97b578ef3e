{{ check_landing_contract('app', 'usage_events') }}

with source as (

    select * from {{ source('app', 'usage_events') }}

),

renamed as (

    select
        -- ids
        cast(event_id as {{ dbt.type_bigint() }}) as usage_event_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,

        -- what happened
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(feature as {{ dbt.type_string() }}) as feature,
        cast(quantity as {{ type_double() }}) as quantity,

        -- dates
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(occurred_at as date) as usage_date

    from source

)

select * from renamed
