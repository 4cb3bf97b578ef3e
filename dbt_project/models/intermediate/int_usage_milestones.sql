{#-
  One row per customer and usage milestone, with the moment it was first reached. Rules
  (docs/lifecycle-rules.md):
    first_login           first login
    onboarding_complete   first use of the onboarding checklist feature
    teammates_invited     first day with invitations sent
    core_feature_adopted  a core feature used in N distinct calendar weeks (var core_feature_adoption_weeks):
                          reached at the first core-feature use of the Nth such week
    seat_quota_80pct      first seats snapshot at or above 80% of the seat quota of the plan held then
    storage_quota_80pct   the same for storage
    steady_active_use     activity in each of N consecutive calendar weeks (var steady_active_weeks):
                          reached at the first activity of the Nth week

  When a milestone was first reached depends only on what happened up to then, never on the as-of
  date, so the model is incremental: a full build computes every milestone from all usage up to the
  as-of day; a later run recomputes only the (customer, milestone) pairs still open (not reached, or
  reached inside the reprocessed window) for customers with relevant usage in that window, and
  replaces them (delete+insert). First occurrences need only the window; weekly milestones read the
  history of the customers concerned. Readers keep `first_reached_at < as_of_cutoff()`, so a past day can be
  rebuilt. `computed_through` records the as-of date of the run that wrote the row (the watermark).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['customer_id', 'milestone'],
        on_schema_change='fail'
    )
}}

{%- set share = var('quota_milestone_share') %}
{%- set weeks = var('steady_active_weeks') %}
{%- set window_start = incremental_window_start('computed_through') %}
{%- set incremental_run = window_start is not none %}

with

usage_daily as (

    select * from {{ ref('int_usage_daily') }}
    where usage_date <= {{ as_of_date() }}

),

plan_history as (

    select * from {{ ref('int_plan_history') }}

),

customers as (

    select customer_id, created_at from {{ ref('stg_app__customers') }}
    where created_at < {{ as_of_cutoff() }}

),

{% if incremental_run %}
-- (customer, milestone) pairs reached before the window: final, never recomputed
settled as (

    select customer_id, milestone
    from {{ this }}
    where first_reached_at < cast('{{ window_start.isoformat() }} 00:00:00' as {{ dbt.type_timestamp() }})

),

window_usage as (

    select * from usage_daily
    where usage_date >= {{ date_literal(window_start) }}

),
{% endif %}

-- first occurrences: within the window they can only be the first ever when not settled before it
first_occurrences as (

    select
        customer_id,
        min(case when event_type = 'login' then first_occurred_at end) as first_login_at,
        min(case
            when event_type = 'feature_used' and feature = 'onboarding_checklist' then first_occurred_at
        end) as onboarding_complete_at,
        min(case
            when event_type = 'invite_sent' and quantity_sum > 0 then first_occurred_at
        end) as teammates_invited_at
    from {{ 'window_usage' if incremental_run else 'usage_daily' }}
    where event_type in ('login', 'feature_used', 'invite_sent')
    group by customer_id

),

first_occurrence_milestones as (

    select customer_id, 'first_login' as milestone, first_login_at as first_reached_at
    from first_occurrences where first_login_at is not null
    union all
    select customer_id, 'onboarding_complete', onboarding_complete_at
    from first_occurrences where onboarding_complete_at is not null
    union all
    select customer_id, 'teammates_invited', teammates_invited_at
    from first_occurrences where teammates_invited_at is not null

),

snapshots as (

    select
        snapshot_usage.customer_id,
        snapshot_usage.event_type,
        snapshot_usage.first_occurred_at,
        snapshot_usage.quantity_max,
        plan_history.seat_quota,
        plan_history.storage_quota_gb
    from {{ 'window_usage' if incremental_run else 'usage_daily' }} as snapshot_usage
    inner join plan_history
        on snapshot_usage.customer_id = plan_history.customer_id
        and snapshot_usage.first_occurred_at >= plan_history.valid_from
        and (plan_history.valid_to is null or snapshot_usage.first_occurred_at < plan_history.valid_to)
    where snapshot_usage.event_type in ('seats_snapshot', 'storage_snapshot')

),

quota_milestones as (

    select
        customer_id,
        case when event_type = 'seats_snapshot' then 'seat_quota_80pct' else 'storage_quota_80pct' end
            as milestone,
        min(first_occurred_at) as first_reached_at
    from snapshots
    where (event_type = 'seats_snapshot' and quantity_max >= {{ share }} * seat_quota)
       or (event_type = 'storage_snapshot' and quantity_max >= {{ share }} * storage_quota_gb)
    group by customer_id, event_type

),

{% if incremental_run %}
-- customers with activity in the window whose weekly milestones are still open: only the weeks just
-- before the window can complete a streak inside it; core-feature weeks are recounted from the start
weekly_candidates as (

    select distinct customer_id
    from window_usage
    where event_type in ('login', 'feature_used', 'invite_sent')
      and customer_id not in (
          select customer_id from settled where milestone = 'steady_active_use'
          intersect
          select customer_id from settled where milestone = 'core_feature_adopted'
      )

),
{% endif %}

activity as (

    select customer_id, usage_date, event_type, feature, first_occurred_at
    from usage_daily
    where event_type in ('login', 'feature_used', 'invite_sent')
    {%- if incremental_run %}
      and customer_id in (select customer_id from weekly_candidates)
    {%- endif %}

),

-- one row per customer and calendar week (Monday to Sunday) with any activity
active_weeks as (

    select
        customer_id,
        {{ dbt.date_trunc('week', 'usage_date') }} as week_start,
        min(first_occurred_at) as first_active_at,
        min(case
            when event_type = 'feature_used' and feature in ('{{ var("core_features") | join("', '") }}')
                then first_occurred_at
        end) as first_core_feature_at
    from activity
    group by customer_id, {{ dbt.date_trunc('week', 'usage_date') }}

),

-- one window pass for both weekly milestones
active_weeks_windowed as (

    select
        customer_id,
        week_start,
        first_active_at,
        first_core_feature_at,
        lag(week_start, {{ weeks - 1 }}) over customer_weeks as earlier_week_start,
        sum(case when first_core_feature_at is not null then 1 else 0 end) over (
            customer_weeks rows between unbounded preceding and current row
        ) as core_feature_weeks
    from active_weeks
    window customer_weeks as (partition by customer_id order by week_start)

),

steady_milestones as (

    select customer_id, 'steady_active_use' as milestone, min(first_active_at) as first_reached_at
    from active_weeks_windowed
    -- only active weeks are rows, so N rows spanning exactly N-1 weeks are N consecutive weeks
    where earlier_week_start = {{ dbt.dateadd('day', -7 * (weeks - 1), 'week_start') }}
    group by customer_id

),

core_feature_milestones as (

    select customer_id, 'core_feature_adopted' as milestone, min(first_core_feature_at) as first_reached_at
    from active_weeks_windowed
    where core_feature_weeks = {{ var('core_feature_adoption_weeks') }}
      and first_core_feature_at is not null
    group by customer_id

),

all_milestones as (

    select * from first_occurrence_milestones
    union all select * from quota_milestones
    union all select * from core_feature_milestones
    union all select * from steady_milestones

),

final as (

    select
        all_milestones.customer_id,
        all_milestones.milestone,
        all_milestones.first_reached_at,
        cast(
            {{ dbt.datediff('customers.created_at', 'all_milestones.first_reached_at', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_from_signup,
        {{ as_of_date() }} as computed_through
    from all_milestones
    -- usage recorded for a customer not (yet) in the customer list is not a milestone of anyone
    inner join customers
        on all_milestones.customer_id = customers.customer_id
    {%- if incremental_run %}
    left join settled
        on all_milestones.customer_id = settled.customer_id
        and all_milestones.milestone = settled.milestone
    where settled.customer_id is null
    {%- endif %}

)

select * from final
