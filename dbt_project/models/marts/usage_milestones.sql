-- One row per customer and usage milestone reached on or before the as-of date (rules in
-- int_usage_milestones and docs/lifecycle-rules.md). Read by Python (contract).

with

milestones as (

    select * from {{ ref('int_usage_milestones') }}
    -- the incremental model may hold milestones a later run found; as of this date they are not reached
    where first_reached_at < {{ as_of_cutoff() }}

),

final as (

    select
        customer_id,
        milestone,
        first_reached_at,
        cast(first_reached_at as date) as first_reached_on,
        cast(days_from_signup as {{ dbt.type_int() }}) as days_from_signup,
        {{ as_of_date() }} as as_of_date
    from milestones

)

select * from final
