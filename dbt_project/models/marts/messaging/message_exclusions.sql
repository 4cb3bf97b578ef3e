-- "Why not": one row per customer and sequence considered today that gets nothing from the sequence,
-- with the reason (held-out members included, they are also in held_out_messages). Answers "why didn't
-- this customer get the upsell?" (docs/sequences.md lists the reason codes).

select
    customer_id,
    sequence,
    step,
    reason_code,
    reason,
    as_of_date,
    contact_id,
    enrollment_id,
    message_key,
    channel,
    priority,
    due_on,
    capped_by
from {{ ref('int_sequence_decisions') }}
where decision <> 'due'
