-- Welcome: who may enter today, and why. Every new customer (a direct purchase or a free-trial start)
-- during their first two weeks, while the trial or subscription is live.
--
-- entered_on is the sign-up date, so the steps (day 0, day 2, day 5 in segment_welcome.yml) count from
-- it; a customer who leaves this segment (the two weeks are over, the trial expired) leaves the
-- sequence. Consent, suppressions, the frequency cap, quiet hours and holdouts are applied afterwards by
-- the messaging models: this query only says who qualifies.

with

customers as (

    select * from {{ ref('customers') }}

),

final as (

    select
        -- who
        customer_id,
        primary_contact_id as contact_id,
        'welcome' as sequence,

        -- why, in the words the message shows
        case
            when subscription_status = 'trialing'
                then 'Since your team started a free trial on ' || cast(created_on as {{ dbt.type_string() }})
            else 'Since your team joined on the ' || plan_name || ' plan on '
                || cast(created_on as {{ dbt.type_string() }})
        end as entry_reason,

        -- when
        created_on as entered_on,
        created_on as anchor_date,

        -- personalization
        plan_name,
        subscription_status = 'trialing' as is_trial,
        case when subscription_status = 'trialing' then cast(trial_ends_at as date) end as trial_ends_on

    from customers
    where created_on > {{ as_of_offset(-14) }}
      and subscription_status in ('active', 'trialing')
      and primary_contact_id is not null

)

select * from final
