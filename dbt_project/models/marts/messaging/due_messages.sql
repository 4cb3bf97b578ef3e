-- The messages to plan for sending today (read by the Python planner; contract enforced): every row has
-- passed the goal exits, suppressions, consent, bad-moment rules, the holdout and the frequency cap
-- (int_sequence_decisions). The planner inserts them into the ledger as planned; the dispatcher sends
-- them between send_after and send_before.

{{ planner_messages('due') }}
