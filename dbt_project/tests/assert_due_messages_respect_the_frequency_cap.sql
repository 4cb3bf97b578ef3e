-- Nobody above the cap: today's due messages plus the ledger's messages planned or sent for today stay
-- within frequency_cap_per_day; plus those of the last 7 run dates within frequency_cap_per_week.
with

due as (

    select customer_id, count(*) as due_today
    from {{ ref('due_messages') }}
    group by customer_id

),

ledger as (

    select
        customer_id,
        sum(case when as_of_date = {{ as_of_date() }} then 1 else 0 end) as ledger_today,
        count(*) as ledger_this_week
    from {{ ref('stg_ops__messages') }}
    where as_of_date between {{ as_of_offset(-6) }} and {{ as_of_date() }}
      and state in ('planned', 'sending', 'sent', 'unknown')
    group by customer_id

)

select
    due.customer_id,
    due.due_today,
    coalesce(ledger.ledger_today, 0) as ledger_today,
    coalesce(ledger.ledger_this_week, 0) as ledger_this_week
from due
left join ledger
    on due.customer_id = ledger.customer_id
where due.due_today + coalesce(ledger.ledger_today, 0) > {{ var('frequency_cap_per_day') }}
   or due.due_today + coalesce(ledger.ledger_this_week, 0) > {{ var('frequency_cap_per_week') }}
