-- Message keys are unique across due and held-out messages, never already in the ledger (a step
-- planned on an earlier run is never due again), and built as '<sequence>:<customer_id>:<enrolled_on>'
-- (enrollment_id) ':<step>'.
with

planned as (

    select message_key, enrollment_id, customer_id, sequence, step, enrolled_on from {{ ref('due_messages') }}
    union all
    select message_key, enrollment_id, customer_id, sequence, step, enrolled_on from {{ ref('held_out_messages') }}

),

ledger as (

    select message_key, state from {{ ref('stg_ops__messages') }}
    where as_of_date <= {{ as_of_date() }}

)

select planned.message_key, 'already in the ledger as ' || ledger.state as problem
from planned
inner join ledger
    on planned.message_key = ledger.message_key

union all

select message_key, 'appears ' || cast(count(*) as {{ dbt.type_string() }}) || ' times' as problem
from planned
group by message_key
having count(*) > 1

union all

select message_key, 'malformed key or enrollment_id' as problem
from planned
where enrollment_id <> sequence || ':' || customer_id || ':' || cast(enrolled_on as {{ dbt.type_string() }})
   or message_key <> enrollment_id || ':' || step
