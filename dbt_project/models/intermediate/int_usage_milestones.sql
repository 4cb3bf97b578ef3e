{#-
  One row per customer and usage milestone, with the moment it was first reached. Rules
  (docs/lifecycle-rules.md):
    first_login           first login
    onboarding_complete   first use of the onboarding checklist feature
    teammates_invited     first invitation that invited someone (quantity > 0)
    core_feature_adopted  a core feature used in N distinct calendar weeks (var core_feature_adoption_weeks):
                          reached at the first core-feature use of the Nth such week
    seat_quota_80pct      first seats snapshot at or above 80% of the seat quota of the plan held then
    storage_quota_80pct   the same for storage
    steady_active_use     activity in each of N consecutive calendar weeks (var steady_active_weeks):
                          reached at the first activity of the Nth week

  First occurrences and quotas read the usage events (a per-customer pass); the weekly milestones read
  int_usage_weekly, one row per customer and active week, in one window pass.

  When a milestone was first reached depends only on what happened up to then, never on the as-of
  date, so the model is incremental: a full build computes every milestone from all usage up to the
  as-of day; a later run recomputes only the (customer, milestone) pairs still open (not reached, or
  reached inside the reprocessed window) for customers with relevant usage in that window, and
  replaces them (delete+insert). First occurrences and quotas need only the window's events; weekly
  milestones read the weekly history of the customers concerned. Readers keep
  `first_reached_at < as_of_cutoff()`, so a past day can be rebuilt. `computed_through` records the
  as-of date of the run that wrote the row (the watermark).
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

-- weeks after the as-of date's week may hold a later run's usage; the as-of week holds none after it
usage_weekly as (

    select * from {{ ref('int_usage_weekly') }}
    where week_start <= {{ as_of_date() }}

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
    where first_reached_at < {{ day_start_literal(window_start) }}

),
{% endif %}

-- the events that can be a first occurrence (in the window, on incremental runs: there they can only be
-- the first ever when not settled before it)
first_occurrence_events as (

    select customer_id, event_type, occurred_at
    from {{ ref('stg_app__usage_events') }}
    where occurred_at < {{ as_of_cutoff() }}
    {%- if incremental_run %}
      and occurred_at >= {{ day_start_literal(window_start) }}
    {%- endif %}
      and (
          event_type = 'login'
          or (event_type = 'feature_used' and feature = 'onboarding_checklist')
          or (event_type = 'invite_sent' and quantity > 0)
      )

),

first_occurrences as (

    select
        customer_id,
        min(case when event_type = 'login' then occurred_at end) as first_login_at,
        min(case when event_type = 'feature_used' then occurred_at end) as onboarding_complete_at,
        min(case when event_type = 'invite_sent' then occurred_at end) as teammates_invited_at
    from first_occurrence_events
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

-- every snapshot event (in the window, on incremental runs), with the quotas of the plan held then
snapshots as (

    select
        snapshot_events.customer_id,
        snapshot_events.event_type,
        snapshot_events.occurred_at,
        snapshot_events.quantity,
        plan_history.seat_quota,
        plan_history.storage_quota_gb
    from {{ ref('stg_app__usage_events') }} as snapshot_events
    inner join plan_history
        on snapshot_events.customer_id = plan_history.customer_id
        and snapshot_events.occurred_at >= plan_history.valid_from
        and (plan_history.valid_to is null or snapshot_events.occurred_at < plan_history.valid_to)
    where snapshot_events.event_type in ('seats_snapshot', 'storage_snapshot')
      and snapshot_events.occurred_at < {{ as_of_cutoff() }}
    {%- if incremental_run %}
      and snapshot_events.occurred_at >= {{ day_start_literal(window_start) }}
    {%- endif %}

),

quota_milestones as (

    select
        customer_id,
        case when event_type = 'seats_snapshot' then 'seat_quota_80pct' else 'storage_quota_80pct' end
            as milestone,
        min(occurred_at) as first_reached_at
    from snapshots
    where (event_type = 'seats_snapshot' and quantity >= {{ share }} * seat_quota)
       or (event_type = 'storage_snapshot' and quantity >= {{ share }} * storage_quota_gb)
    group by customer_id, event_type

),

{% if incremental_run %}
-- customers active in the weeks this run rebuilt whose weekly milestones are still open: only the weeks
-- just before the window can complete a streak inside it; core-feature weeks are recounted from the start
weekly_candidates as (

    select distinct customer_id
    from usage_weekly
    where week_start >= {{ date_literal(week_start_of(window_start)) }}
      and customer_id not in (
          select customer_id from settled where milestone = 'steady_active_use'
          intersect
          select customer_id from settled where milestone = 'core_feature_adopted'
      )

),
{% endif %}

-- one row per customer and calendar week (Monday to Sunday) with any activity
active_weeks as (

    select customer_id, week_start, first_active_at, first_core_feature_at
    from usage_weekly
    {%- if incremental_run %}
    where customer_id in (select customer_id from weekly_candidates)
    {%- endif %}

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
