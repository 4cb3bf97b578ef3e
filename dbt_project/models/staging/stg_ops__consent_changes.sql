{{ check_landing_contract('ops', 'consent_changes') }}

-- Incremental export parts overlap: a change exported twice is kept once.

with source as (

    select * from {{ source('ops', 'consent_changes') }}

),

ranked as (

    select
        *,
        row_number() over (partition by change_id order by recorded_at desc) as recency
    from source

),

renamed as (

    select
        -- ids
        cast(change_id as {{ dbt.type_bigint() }}) as consent_change_id,

        -- who and what
        cast(channel as {{ dbt.type_string() }}) as channel,
        -- the export stores addresses normalized (emails lower-cased and trimmed, phones in E.164)
        cast(address as {{ dbt.type_string() }}) as address,
        cast(status as {{ dbt.type_string() }}) as consent_status,
        cast(source as {{ dbt.type_string() }}) as consent_source,
        cast(evidence as {{ dbt.type_string() }}) as evidence,

        -- dates
        cast(recorded_at as {{ dbt.type_timestamp() }}) as recorded_at

    from ranked
    where recency = 1

)

select * from renamed
