-- Annual upsell: who may enter today, and why. Customers on a monthly plan whose value is proven (a
-- usage milestone that still holds: 80% of the seat or storage quota, or steady use, still active in at
-- least 3 of the last 4 weeks), who have completed onboarding and are not at risk (lifecycle stage active
-- or expanding). The offer is the annual plan of the same tier and what it saves.

with

customers as (

    select * from {{ ref('customers') }}

),

plans as (

    select * from {{ ref('stg_app__plans') }}

),

milestones as (

    select
        customer_id,
        max(case when milestone = 'seat_quota_80pct' then 1 else 0 end) as reached_seat_quota,
        max(case when milestone = 'storage_quota_80pct' then 1 else 0 end) as reached_storage_quota,
        max(case when milestone = 'steady_active_use' then 1 else 0 end) as reached_steady_use
    from {{ ref('usage_milestones') }}
    where milestone in ('seat_quota_80pct', 'storage_quota_80pct', 'steady_active_use')
    group by customer_id

),

-- the proof of value to show: a milestone reached that is still true today
value_proven as (

    select
        customers.customer_id,
        customers.primary_contact_id,
        customers.plan_id,
        customers.plan_name,
        customers.tier,
        case
            when milestones.reached_seat_quota = 1
                and customers.seat_utilization >= {{ var('quota_milestone_share') }}
                then 'seat_quota_80pct'
            when milestones.reached_storage_quota = 1
                and customers.storage_utilization >= {{ var('quota_milestone_share') }}
                then 'storage_quota_80pct'
            when milestones.reached_steady_use = 1 and customers.active_weeks_last_4 >= 3
                then 'steady_active_use'
        end as milestone,
        customers.seats_in_use,
        customers.seat_quota,
        customers.storage_used_gb,
        customers.storage_quota_gb,
        customers.active_weeks_last_4
    from customers
    inner join milestones
        on customers.customer_id = milestones.customer_id
    where customers.subscription_status = 'active'
      and customers.billing_period = 'monthly'
      and customers.onboarding_completed_at is not null
      and customers.lifecycle_stage in ('active', 'expanding')
      and customers.primary_contact_id is not null

),

priced as (

    select
        value_proven.*,
        case
            when value_proven.milestone = 'seat_quota_80pct'
                then 'your team is using '
                    || cast(cast(value_proven.seats_in_use as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                    || case
                        when value_proven.seats_in_use > value_proven.seat_quota
                            then ' seats on a plan that includes '
                                || cast(value_proven.seat_quota as {{ dbt.type_string() }})
                        else ' of ' || cast(value_proven.seat_quota as {{ dbt.type_string() }}) || ' seats'
                    end
            when value_proven.milestone = 'storage_quota_80pct'
                then 'your team is using '
                    || cast(cast(value_proven.storage_used_gb as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                    || ' GB of your ' || cast(value_proven.storage_quota_gb as {{ dbt.type_string() }}) || ' GB'
            when value_proven.active_weeks_last_4 = 4
                then 'your team has been active every week for the last 4 weeks'
            else 'your team has been active in 3 of the last 4 weeks'
        end as milestone_text,
        monthly_plans.list_price as monthly_price,
        annual_plans.list_price as annual_price
    from value_proven
    inner join plans as monthly_plans
        on value_proven.plan_id = monthly_plans.plan_id
    inner join plans as annual_plans
        on value_proven.tier = annual_plans.tier
        and annual_plans.billing_period = 'annual'
    where value_proven.milestone is not null
      and monthly_plans.list_price > 0

),

final as (

    select
        -- who
        customer_id,
        primary_contact_id as contact_id,
        'annual_upsell' as sequence,

        -- why, in the words the message shows
        'Since ' || milestone_text as entry_reason,

        -- when
        {{ as_of_date() }} as entered_on,
        {{ as_of_date() }} as anchor_date,

        -- personalization
        plan_name,
        monthly_price,
        annual_price,
        cast(12 * monthly_price - annual_price as {{ type_double() }}) as annual_savings,
        milestone,
        milestone_text

    from priced

)

select * from final
