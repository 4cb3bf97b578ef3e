{{ check_landing_contract('ops', 'delivery_events') }}

-- Incremental export parts overlap: an event exported twice is kept once.

with source as (

    select * from {{ source('ops', 'delivery_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by provider, provider_event_id
            order by received_at desc
        ) as recency
    from source

),

renamed as (

    select
        -- ids
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(provider_event_id as {{ dbt.type_string() }}) as provider_event_id,
        cast(message_key as {{ dbt.type_string() }}) as message_key,
        cast(provider_message_id as {{ dbt.type_string() }}) as provider_message_id,

        -- what happened
        cast(event_type as {{ dbt.type_string() }}) as event_type,

        -- dates
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at

    from ranked
    where recency = 1

)

select * from renamed
