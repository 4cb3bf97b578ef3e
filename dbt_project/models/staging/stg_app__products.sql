{{ check_landing_contract('app', 'products') }}

with source as (

    select * from {{ source('app', 'products') }}

),

renamed as (

    select
        -- ids
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(complements_product_id as {{ dbt.type_string() }}) as complements_product_id,

        -- attributes
        cast(product_name as {{ dbt.type_string() }}) as product_name,
        cast(product_kind as {{ dbt.type_string() }}) as product_kind,
        cast(need_signal_feature as {{ dbt.type_string() }}) as need_signal_feature,
        cast(need_reason as {{ dbt.type_string() }}) as need_reason,

        -- amounts
        cast(monthly_price as {{ type_double() }}) as monthly_price,

        -- flags
        product_kind = 'addon' as is_addon

    from source

)

select * from renamed
