{#-
  Customer x day x event type x feature activity (logins, feature use, invitations) of the last N days
  up to the as-of day, N the longer of 28 days and `need_signal_window_days`: what the rules that count
  recent days read (active days and weeks of the last 28 days, need signals). Rebuilt every run from
  those days' events only, so it stays small whatever the history.
-#}

{%- set days = [28, var('need_signal_window_days')] | max %}

with

events as (

    select * from {{ ref('stg_app__usage_events') }}
    where occurred_at >= {{ day_start_literal(as_of_day() - modules.datetime.timedelta(days=days - 1)) }}
      and occurred_at < {{ as_of_cutoff() }}
      and event_type in ('login', 'feature_used', 'invite_sent')

),

daily as (

    select
        -- grain
        usage_date,
        customer_id,
        event_type,
        feature,

        -- measures
        sum(quantity) as quantity_sum

    from events
    group by usage_date, customer_id, event_type, feature

)

select * from daily
