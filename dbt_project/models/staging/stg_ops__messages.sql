{{ check_landing_contract('ops', 'messages') }}

with source as (

    select * from {{ source('ops', 'messages') }}

),

renamed as (

    select
        -- ids
        cast(message_key as {{ dbt.type_string() }}) as message_key,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(provider_message_id as {{ dbt.type_string() }}) as provider_message_id,

        -- what was sent
        cast(sequence as {{ dbt.type_string() }}) as sequence,
        cast(step as {{ dbt.type_string() }}) as step,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(template as {{ dbt.type_string() }}) as template,
        cast(provider as {{ dbt.type_string() }}) as provider,

        -- outcome
        cast(state as {{ dbt.type_string() }}) as state,
        cast(error_code as {{ dbt.type_string() }}) as error_code,
        cast(error_reason as {{ dbt.type_string() }}) as error_reason,

        -- dates
        cast(as_of_date as date) as as_of_date,
        cast(planned_at as {{ dbt.type_timestamp() }}) as planned_at,
        cast(send_after as {{ dbt.type_timestamp() }}) as send_after,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from source

)

select * from renamed
