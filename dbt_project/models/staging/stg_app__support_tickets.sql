{{ check_landing_contract('app', 'support_tickets') }}

with source as (

    select * from {{ source('app', 'support_tickets') }}

),

renamed as (

    select
        -- ids
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,

        -- attributes
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(category as {{ dbt.type_string() }}) as category,

        -- dates
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,

        -- flags
        priority in ('high', 'urgent') as is_high_priority

    from source

)

select * from renamed
