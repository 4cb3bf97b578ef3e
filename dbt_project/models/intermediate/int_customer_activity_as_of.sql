-- One row per customer with any usage by the as-of date: activity recency (logins, features used,
-- invitations; snapshots are not activity), activity in the last 28 days, and the latest seats and
-- storage in use (the peak of the latest day with a snapshot).

with

-- weeks after the as-of date's week may hold a later run's usage; the as-of week holds none after it
activity_history as (

    select
        customer_id,
        min(first_active_at) as first_active_at,
        max(last_active_on) as last_active_on
    from {{ ref('int_usage_weekly') }}
    where week_start <= {{ as_of_date() }}
    group by customer_id

),

-- the latest seats and storage snapshots (a state model kept up to date run by run)
snapshots as (

    select * from {{ ref('int_usage_latest_snapshots') }}

),

-- the last 28 days (the as-of day and the 27 before it)
recent_activity as (

    select
        customer_id,
        count(distinct usage_date) as active_days_last_28d,
        count(distinct floor({{ dbt.datediff('usage_date', as_of_date(), 'day') }} / 7.0)) as active_weeks_last_4,
        sum(case when event_type = 'login' then quantity_sum else 0 end) as logins_last_28d,
        sum(case when event_type = 'feature_used' then quantity_sum else 0 end) as feature_uses_last_28d
    from {{ ref('int_usage_recent_days') }}
    where usage_date > {{ as_of_offset(-28) }}
    group by customer_id

),

final as (

    select
        coalesce(activity_history.customer_id, snapshots.customer_id) as customer_id,
        activity_history.first_active_at,
        activity_history.last_active_on,
        coalesce(recent_activity.active_days_last_28d, 0) as active_days_last_28d,
        coalesce(recent_activity.active_weeks_last_4, 0) as active_weeks_last_4,
        coalesce(recent_activity.logins_last_28d, 0) as logins_last_28d,
        coalesce(recent_activity.feature_uses_last_28d, 0) as feature_uses_last_28d,
        snapshots.seats_in_use,
        snapshots.seats_measured_on,
        snapshots.storage_used_gb,
        snapshots.storage_measured_on
    from activity_history
    full outer join snapshots
        on activity_history.customer_id = snapshots.customer_id
    left join recent_activity
        on activity_history.customer_id = recent_activity.customer_id

)

select * from final
