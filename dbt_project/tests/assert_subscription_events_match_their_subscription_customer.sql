-- A subscription event's customer_id must be its subscription's customer: otherwise MRR and plan state
-- would be attributed to the wrong account.
select
    events.subscription_event_id,
    events.subscription_id,
    events.customer_id as event_customer_id,
    subscriptions.customer_id as subscription_customer_id
from {{ ref('stg_app__subscription_events') }} as events
inner join {{ ref('stg_app__subscriptions') }} as subscriptions
    on events.subscription_id = subscriptions.subscription_id
where events.customer_id <> subscriptions.customer_id
