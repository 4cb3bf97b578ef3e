-- Renewal reminder: who may enter today, and why. Customers on an annual plan whose subscription renews
-- in the next 1 to 30 days. The steps are dated from the renewal date (anchor_date: 30, 7 and 1 days
-- before it, in segment_renewal_reminder.yml). Monthly plans renew every month and are left out on
-- purpose: three reminders a month would be noise (add `or billing_period = 'monthly'` to include them).

with

customers as (

    select * from {{ ref('customers') }}

),

plans as (

    select plan_id, list_price from {{ ref('stg_app__plans') }}

),

final as (

    select
        -- who
        customers.customer_id,
        customers.primary_contact_id as contact_id,
        'renewal_reminder' as sequence,

        -- why, in the words the message shows
        'Since your ' || customers.plan_name || ' subscription renews on '
            || cast(customers.renewal_date as {{ dbt.type_string() }}) as entry_reason,

        -- when
        {{ as_of_date() }} as entered_on,
        customers.renewal_date as anchor_date,

        -- personalization
        customers.plan_name,
        customers.billing_period,
        customers.renewal_date,
        plans.list_price as renewal_amount,
        customers.days_until_renewal

    from customers
    inner join plans
        on customers.plan_id = plans.plan_id
    where customers.subscription_status = 'active'
      and customers.billing_period = 'annual'
      and customers.days_until_renewal between 1 and 30
      and customers.primary_contact_id is not null

)

select * from final
