-- The messages to plan for sending today (read by the Python planner; contract enforced): every row has
-- passed the goal exits, suppressions, consent, bad-moment rules, the holdout and the frequency cap
-- (int_sequence_decisions). The planner inserts them into the ledger as planned; the dispatcher sends
-- them between send_after and send_before.

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
where decision = 'due'
