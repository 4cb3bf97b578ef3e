-- The welcome segment holds exactly the customers created on the as-of date that have a primary contact
-- with an email address and email consent granted: nobody else, nobody missing.
with segment as (

    select customer_id from {{ ref('segment_welcome_new_customers') }}

),

eligible as (

    select customer_id
    from {{ ref('customers') }}
    where created_on = {{ as_of_date() }}
      and primary_contact_id is not null
      and email is not null
      and email_consent_status = 'granted'

)

select coalesce(segment.customer_id, eligible.customer_id) as customer_id,
       case when eligible.customer_id is null then 'in segment, not eligible' else 'eligible, missing' end as problem
from segment
full outer join eligible
    on segment.customer_id = eligible.customer_id
where segment.customer_id is null or eligible.customer_id is null
