{#-
  One row per customer with a seats or storage snapshot by the as-of date: the latest of each, i.e. the
  peak of the latest day with such a snapshot (the account's size; a dormant account keeps its last).

  A state model: a full build reads every snapshot event up to the end of the as-of day. A run for the
  same or a later day reads only the events from incremental_window_start() on (late events within
  `usage_lookback_days` are picked up) and replaces the rows of the customers it saw (delete+insert on
  customer_id); a measure the window holds no snapshot of keeps its earlier value, which is older than
  every event of the window. A run for an earlier day empties the table and rebuilds it
  (state_window_start). `computed_through` is the as-of date of the run that wrote the row. With usage
  events landed in time order (docs/data-contract.md), a daily run reads a few days of row groups
  instead of every snapshot in history.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        pre_hook="{{ delete_state_built_later('computed_through') }}",
        on_schema_change='fail'
    )
}}

{%- set window_start = state_window_start('computed_through') %}

with

snapshot_events as (

    select customer_id, event_type, usage_date, quantity
    from {{ ref('stg_app__usage_events') }}
    where event_type in ('seats_snapshot', 'storage_snapshot')
      and occurred_at < {{ as_of_cutoff() }}
    {%- if window_start is not none %}
      and occurred_at >= {{ day_start_literal(window_start) }}
    {%- endif %}

),

latest as (

    select
        customer_id,
        {{ latest_value('quantity', '(usage_date, quantity)', "event_type = 'seats_snapshot'") }} as seats_in_use,
        max(case when event_type = 'seats_snapshot' then usage_date end) as seats_measured_on,
        {{ latest_value('quantity', '(usage_date, quantity)', "event_type = 'storage_snapshot'") }}
            as storage_used_gb,
        max(case when event_type = 'storage_snapshot' then usage_date end) as storage_measured_on
    from snapshot_events
    group by customer_id

),

{% if window_start is not none %}
-- a measure without a snapshot in the window keeps the value the state held
merged as (

    select
        latest.customer_id,
        case when latest.seats_measured_on is not null then latest.seats_in_use else previous.seats_in_use end
            as seats_in_use,
        coalesce(latest.seats_measured_on, previous.seats_measured_on) as seats_measured_on,
        case
            when latest.storage_measured_on is not null then latest.storage_used_gb else previous.storage_used_gb
        end as storage_used_gb,
        coalesce(latest.storage_measured_on, previous.storage_measured_on) as storage_measured_on
    from latest
    left join {{ this }} as previous
        on latest.customer_id = previous.customer_id

),
{% endif %}

final as (

    select
        customer_id,
        seats_in_use,
        seats_measured_on,
        storage_used_gb,
        storage_measured_on,
        {{ as_of_date() }} as computed_through
    from {{ 'merged' if window_start is not none else 'latest' }}

)

select * from final
