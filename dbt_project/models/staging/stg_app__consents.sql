{{ check_landing_contract('app', 'consents') }}

with source as (

    select * from {{ source('app', 'consents') }}

),

renamed as (

    select
        -- ids
        cast(consent_id as {{ dbt.type_string() }}) as consent_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,

        -- what was recorded
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(status as {{ dbt.type_string() }}) as consent_status,
        cast(source as {{ dbt.type_string() }}) as consent_source,
        cast(evidence as {{ dbt.type_string() }}) as evidence,

        -- dates
        cast(recorded_at as {{ dbt.type_timestamp() }}) as recorded_at

    from source

)

select * from renamed
