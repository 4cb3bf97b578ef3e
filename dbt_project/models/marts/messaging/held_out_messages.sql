-- Holdout members whose step would be due today (read by the Python planner, which records them in the
-- ledger as held_out: never sent, counted for lift). Same columns as due_messages.

select
    message_key,
    enrollment_id,
    customer_id,
    contact_id,
    sequence,
    step,
    step_number,
    channel,
    template,
    recipient,
    time_zone,
    send_after,
    send_before,
    priority,
    entry_reason,
    personalization_json,
    enrolled_on,
    as_of_date
from {{ ref('int_sequence_decisions') }}
where decision = 'held_out'
