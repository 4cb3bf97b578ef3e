-- Every event that reaches a sequence goal, for the customers in a sequence audience or in the ledger,
-- up to the end of the as-of day (goals: macros/sequences/definitions.sql, sequence_goals()):
--   onboarding_complete                the onboarding_complete usage milestone (reached at any time
--                                      counts: it is a state, not something the sequence must cause)
--   addon_purchased                    an add-on bought
--   switched_to_annual_or_higher_tier  an upgrade (a higher tier, or monthly to annual billing)
--   renewed_or_cancelled               a renewal, a plan change (it starts a new period) or a cancel
-- An enrollment reaches its goal with the first such event at or after its enrollment day.

with

customers as (

    select customer_id from {{ ref('int_sequence_audience') }}
    union
    select customer_id from {{ ref('stg_ops__messages') }}
    where as_of_date <= {{ as_of_date() }}

),

events as (

    select events.*
    from {{ ref('stg_app__subscription_events') }} as events
    inner join customers
        on events.customer_id = customers.customer_id
    where events.occurred_at < {{ as_of_cutoff() }}
      and events.event_type in ('addon_purchased', 'upgrade', 'downgrade', 'renewal', 'cancel')

),

products as (

    select product_id, product_name from {{ ref('stg_app__products') }}

),

plans as (

    select plan_id, plan_name from {{ ref('stg_app__plans') }}

),

onboarding as (

    select
        milestones.customer_id,
        'onboarding_complete' as goal,
        milestones.first_reached_at as reached_at,
        'completed onboarding on ' || cast(milestones.first_reached_on as {{ dbt.type_string() }}) as detail,
        true as counts_before_entry
    from {{ ref('usage_milestones') }} as milestones
    inner join customers
        on milestones.customer_id = customers.customer_id
    where milestones.milestone = 'onboarding_complete'

),

subscription_goals as (

    select
        events.customer_id,
        case
            when events.event_type = 'addon_purchased' then 'addon_purchased'
            else 'renewed_or_cancelled'
        end as goal,
        events.occurred_at as reached_at,
        case events.event_type
            when 'addon_purchased' then 'bought ' || coalesce(products.product_name, events.product_id)
            when 'renewal' then 'renewed'
            when 'cancel' then 'cancelled'
            else 'changed plan to ' || coalesce(plans.plan_name, events.plan_id)
        end || ' on ' || cast(cast(events.occurred_at as date) as {{ dbt.type_string() }}) as detail,
        false as counts_before_entry
    from events
    left join products
        on events.product_id = products.product_id
    left join plans
        on events.plan_id = plans.plan_id

    union all

    select
        events.customer_id,
        'switched_to_annual_or_higher_tier' as goal,
        events.occurred_at as reached_at,
        'switched to ' || coalesce(plans.plan_name, events.plan_id) || ' on '
            || cast(cast(events.occurred_at as date) as {{ dbt.type_string() }}) as detail,
        false as counts_before_entry
    from events
    left join plans
        on events.plan_id = plans.plan_id
    where events.event_type = 'upgrade'

),

final as (

    select * from onboarding
    union all
    select * from subscription_goals

)

select * from final
