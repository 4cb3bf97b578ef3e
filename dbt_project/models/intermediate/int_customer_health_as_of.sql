-- One row per customer with a support ticket or an NPS answer: tickets open at the end of the as-of day
-- by priority, and the latest NPS answer given by then.

with

tickets as (

    select * from {{ ref('stg_app__support_tickets') }}
    where opened_at < {{ as_of_cutoff() }}

),

nps as (

    select * from {{ ref('stg_app__nps_responses') }}
    where responded_at < {{ as_of_cutoff() }}

),

open_tickets as (

    select
        customer_id,
        sum(case when priority = 'low' then 1 else 0 end) as open_tickets_low,
        sum(case when priority = 'normal' then 1 else 0 end) as open_tickets_normal,
        sum(case when priority = 'high' then 1 else 0 end) as open_tickets_high,
        sum(case when priority = 'urgent' then 1 else 0 end) as open_tickets_urgent,
        min(case when is_high_priority then opened_at end) as oldest_high_priority_opened_at
    from tickets
    where closed_at is null or closed_at >= {{ as_of_cutoff() }}
    group by customer_id

),

nps_ranked as (

    select
        customer_id,
        score,
        responded_at,
        row_number() over (
            partition by customer_id
            order by responded_at desc, nps_response_id desc
        ) as recency
    from nps

),

customers as (

    select customer_id from open_tickets
    union
    select customer_id from nps_ranked

),

final as (

    select
        customers.customer_id,
        coalesce(open_tickets.open_tickets_low, 0) as open_tickets_low,
        coalesce(open_tickets.open_tickets_normal, 0) as open_tickets_normal,
        coalesce(open_tickets.open_tickets_high, 0) as open_tickets_high,
        coalesce(open_tickets.open_tickets_urgent, 0) as open_tickets_urgent,
        open_tickets.oldest_high_priority_opened_at,
        last_nps.score as last_nps_score,
        last_nps.responded_at as last_nps_at
    from customers
    left join open_tickets
        on customers.customer_id = open_tickets.customer_id
    left join nps_ranked as last_nps
        on customers.customer_id = last_nps.customer_id
        and last_nps.recency = 1

)

select * from final
