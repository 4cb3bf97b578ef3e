{{ check_landing_contract('app', 'contacts') }}

with source as (

    select * from {{ source('app', 'contacts') }}

),

renamed as (

    select
        -- ids
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,

        -- person
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(email as {{ dbt.type_string() }}) as email,
        lower(trim(cast(email as {{ dbt.type_string() }}))) as email_normalized,
        cast(phone as {{ dbt.type_string() }}) as phone,
        cast(time_zone as {{ dbt.type_string() }}) as time_zone,
        cast(locale as {{ dbt.type_string() }}) as locale,

        -- flags
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,

        -- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from renamed
