{{ check_landing_contract('app', 'nps_responses') }}

with source as (

    select * from {{ source('app', 'nps_responses') }}

),

renamed as (

    select
        -- ids
        cast(response_id as {{ dbt.type_string() }}) as nps_response_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,

        -- answer
        cast(score as {{ dbt.type_int() }}) as score,
        case
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_category,

        -- dates
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at

    from source

)

select * from renamed
