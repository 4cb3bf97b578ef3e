-- A converted customer gets nothing more: no due message belongs to an enrollment whose goal was
-- reached at or after its enrollment day (or, for a state goal, at any time). And no offer is due to a
-- customer in a bad moment (the rules switched on in var bad_moment_rules).
{%- set rules = var('bad_moment_rules') %}

with

due as (

    select * from {{ ref('due_messages') }}

),

sequences as (

    select distinct sequence, kind, goal from {{ ref('sequence_steps') }}

)

select due.message_key, 'goal reached: ' || goal_events.detail as problem
from due
inner join sequences
    on due.sequence = sequences.sequence
inner join {{ ref('int_sequence_goal_events') }} as goal_events
    on due.customer_id = goal_events.customer_id
    and sequences.goal = goal_events.goal
where goal_events.counts_before_entry
   or goal_events.reached_at >= cast(due.enrolled_on as {{ dbt.type_timestamp() }})

{%- if rules %}

union all

select due.message_key, 'an offer in a bad moment' as problem
from due
inner join sequences
    on due.sequence = sequences.sequence
inner join {{ ref('customers') }} as customers
    on due.customer_id = customers.customer_id
where sequences.kind = 'offer'
  and (
    false
    {%- if 'open_high_priority_ticket' in rules %}
    or customers.open_tickets_high + customers.open_tickets_urgent > 0
    {%- endif %}
    {%- if 'nps_detractor' in rules %}
    or customers.is_nps_detractor
    {%- endif %}
    {%- if 'failed_payment' in rules %}
    or customers.has_failed_payment
    {%- endif %}
  )
{%- endif %}
