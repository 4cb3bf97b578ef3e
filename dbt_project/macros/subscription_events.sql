{#-
  Order of subscription events that share a timestamp: what happens "later" in a customer's life wins
  when two events carry the same occurred_at (a trial starts before it converts, a cancel before a
  reactivation). Used as a tie-breaker after occurred_at.
-#}
{% macro subscription_event_precedence(event_type) -%}
  case {{ event_type }}
    when 'trial_started' then 1
    when 'new' then 2
    when 'trial_converted' then 2
    when 'upgrade' then 3
    when 'downgrade' then 3
    when 'renewal' then 4
    when 'addon_purchased' then 5
    when 'addon_removed' then 5
    when 'payment_failed' then 6
    when 'trial_expired' then 7
    when 'cancel' then 8
    when 'reactivate' then 9
    else 0
  end
{%- endmacro %}
