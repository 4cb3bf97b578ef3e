-- Holdout members whose step would be due today (read by the Python planner, which records them in the
-- ledger as held_out: never sent, counted for lift). Same columns as due_messages.

{{ planner_messages('held_out') }}
