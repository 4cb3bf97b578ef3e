-- One row per customer with any usage by the as-of date: activity recency (logins, features used,
-- invitations; snapshots are not activity), activity in the last 28 days, and the latest seats and
-- storage in use (the peak of the latest day with a snapshot).

with

usage_daily as (

    select * from {{ ref('int_usage_daily') }}
    where usage_date <= {{ as_of_date() }}

),

-- one pass over the whole history
all_time as (

    select
        customer_id,
        min(case when event_type <> 'seats_snapshot' and event_type <> 'storage_snapshot'
            then first_occurred_at end) as first_active_at,
        max(case when event_type <> 'seats_snapshot' and event_type <> 'storage_snapshot'
            then usage_date end) as last_active_on,
        {{ latest_value('quantity_max', 'usage_date', "event_type = 'seats_snapshot'") }} as seats_in_use,
        max(case when event_type = 'seats_snapshot' then usage_date end) as seats_measured_on,
        {{ latest_value('quantity_max', 'usage_date', "event_type = 'storage_snapshot'") }} as storage_used_gb,
        max(case when event_type = 'storage_snapshot' then usage_date end) as storage_measured_on
    from usage_daily
    group by customer_id

),

-- the last 28 days (the as-of day and the 27 before it)
recent_activity as (

    select
        customer_id,
        count(distinct usage_date) as active_days_last_28d,
        count(distinct floor({{ dbt.datediff('usage_date', as_of_date(), 'day') }} / 7.0)) as active_weeks_last_4,
        sum(case when event_type = 'login' then quantity_sum else 0 end) as logins_last_28d,
        sum(case when event_type = 'feature_used' then quantity_sum else 0 end) as feature_uses_last_28d
    from usage_daily
    where usage_date > {{ as_of_offset(-28) }}
      and event_type in ('login', 'feature_used', 'invite_sent')
    group by customer_id

),

final as (

    select
        all_time.customer_id,
        all_time.first_active_at,
        all_time.last_active_on,
        coalesce(recent_activity.active_days_last_28d, 0) as active_days_last_28d,
        coalesce(recent_activity.active_weeks_last_4, 0) as active_weeks_last_4,
        coalesce(recent_activity.logins_last_28d, 0) as logins_last_28d,
        coalesce(recent_activity.feature_uses_last_28d, 0) as feature_uses_last_28d,
        all_time.seats_in_use,
        all_time.seats_measured_on,
        all_time.storage_used_gb,
        all_time.storage_measured_on
    from all_time
    left join recent_activity
        on all_time.customer_id = recent_activity.customer_id

)

select * from final
