{#-
  Customer x calendar week (Monday to Sunday) activity (logins, feature use, invitations; snapshots are
  not activity): the history the weekly rules read (steady use, core-feature adoption) and activity
  recency. One row per customer and week with any activity, a quarter of the rows of a daily
  aggregate of the same events (at 1M customers 16M rather than 67M), so the full build and every
  reader are cheaper; rules that need days or single events read the events themselves (the last 28
  days: int_usage_recent_days; first occurrences and snapshots: per customer, in their models).

  Incremental: a full build aggregates every event up to the end of the as-of day. Later runs rebuild
  the weeks from weekly_window_start() through the as-of date's week: the week holding the day
  `usage_lookback_days` before the earlier of the as-of date and the day after the last run, or an
  earlier week a rebuild of a past day left incomplete. A pre-hook deletes those weeks and the run
  appends them again from the events, so late events are picked up, a gap between runs is filled, and
  the as-of week holds only events up to the as-of day. Later weeks that a run for a later day built
  are kept: every reader takes `week_start <= as_of`.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_weeks('computed_through', 'week_start') }}",
        on_schema_change='fail'
    )
}}

{%- set first_week = weekly_window_start('computed_through', 'week_start') %}

with

activity as (

    select * from {{ ref('stg_app__usage_events') }}
    where event_type in ('login', 'feature_used', 'invite_sent')
      and occurred_at < {{ as_of_cutoff() }}
    {%- if first_week is not none %}
      and occurred_at >= {{ day_start_literal(first_week) }}
    {%- endif %}

),

weekly as (

    select
        -- grain
        customer_id,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_start,

        -- activity
        min(occurred_at) as first_active_at,
        max(usage_date) as last_active_on,
        min(case
            when event_type = 'feature_used' and feature in ('{{ var("core_features") | join("', '") }}')
                then occurred_at
        end) as first_core_feature_at,

        -- the as-of date of the run that wrote the row (its maximum is the watermark)
        {{ as_of_date() }} as computed_through

    from activity
    group by customer_id, cast({{ dbt.date_trunc('week', 'usage_date') }} as date)

)

select * from weekly
