{{ check_landing_contract('app', 'plans') }}

with source as (

    select * from {{ source('app', 'plans') }}

),

renamed as (

    select
        -- ids
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,

        -- attributes
        cast(plan_name as {{ dbt.type_string() }}) as plan_name,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(tier_rank as {{ dbt.type_int() }}) as tier_rank,
        cast(billing_period as {{ dbt.type_string() }}) as billing_period,

        -- amounts
        cast(list_price as {{ type_double() }}) as list_price,
        cast(
            case when billing_period = 'annual' then list_price / 12.0 else list_price end
            as {{ type_double() }}
        ) as monthly_list_price,
        cast(seat_quota as {{ dbt.type_int() }}) as seat_quota,
        cast(storage_quota_gb as {{ dbt.type_int() }}) as storage_quota_gb

    from source

)

select * from renamed
