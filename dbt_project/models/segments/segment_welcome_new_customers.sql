-- Welcome sequence, day 0: the primary contact of every customer who signed up on the as-of date, when
-- that contact has an email address and email consent granted as of the date.

with

customers as (

    select * from {{ ref('customers') }}

),

final as (

    select
        customer_id,
        primary_contact_id as contact_id,
        'welcome' as sequence,
        'day_0' as step,
        email,
        first_name,
        time_zone,
        locale,
        plan_name,
        coalesce(company_name, customer_id) || ' signed up on ' || cast(created_on as {{ dbt.type_string() }})
            || case
                when subscription_status = 'trialing'
                    then ' and started a free trial of ' || coalesce(plan_name, 'the product')
                when plan_name is not null
                    then ' and bought ' || plan_name
                else ''
            end
            || '.' as entry_reason
    from customers
    where created_on = {{ as_of_date() }}
      and primary_contact_id is not null
      and email is not null
      and email_consent_status = 'granted'

)

select * from final
