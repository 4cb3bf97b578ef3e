{{ check_landing_contract('app', 'customers') }}

with source as (

    select * from {{ source('app', 'customers') }}

),

renamed as (

    select
        -- ids
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,

        -- attributes
        cast(company_name as {{ dbt.type_string() }}) as company_name,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(employee_band as {{ dbt.type_string() }}) as employee_band,
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,

        -- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(created_at as date) as created_on

    from source

)

select * from renamed
