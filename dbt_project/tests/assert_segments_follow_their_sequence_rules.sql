-- The segment rules data engineers rely on, whatever a marketer edits: messages go to the customer's
-- primary contact; the annual upsell only reaches onboarded customers on a monthly plan; the renewal
-- reminder only customers whose subscription renews within 30 days.
select audience.sequence, audience.customer_id, 'contact is not the primary contact' as problem
from {{ ref('int_sequence_audience') }} as audience
inner join {{ ref('customers') }} as customers
    on audience.customer_id = customers.customer_id
where audience.contact_id <> customers.primary_contact_id

union all

select due.sequence, due.customer_id, 'upsell before onboarding or not on a monthly plan' as problem
from {{ ref('due_messages') }} as due
inner join {{ ref('customers') }} as customers
    on due.customer_id = customers.customer_id
where due.sequence = 'annual_upsell'
  and (customers.onboarding_completed_at is null or customers.billing_period <> 'monthly')

union all

select due.sequence, due.customer_id, 'renewal reminder without a renewal in the next 30 days' as problem
from {{ ref('due_messages') }} as due
inner join {{ ref('customers') }} as customers
    on due.customer_id = customers.customer_id
where due.sequence = 'renewal_reminder'
  and not coalesce(customers.days_until_renewal between 0 and 30, false)
