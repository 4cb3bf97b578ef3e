{{ check_landing_contract('ops', 'suppressions') }}

with source as (

    select * from {{ source('ops', 'suppressions') }}

),

renamed as (

    select
        -- who
        cast(channel as {{ dbt.type_string() }}) as channel,
        -- the export stores addresses normalized (emails lower-cased and trimmed, phones in E.164)
        cast(address as {{ dbt.type_string() }}) as address,

        -- why
        cast(reason as {{ dbt.type_string() }}) as suppression_reason,
        cast(source as {{ dbt.type_string() }}) as suppression_source,
        reason in ('unsubscribe', 'group_unsubscribe', 'spamreport') as is_email_opt_out,

        -- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from renamed
