-- Cross-sell: who may enter today, and why. Paying customers with white space (an add-on they do not
-- own that complements what they have, or that their usage needs: addon_white_space), either in the
-- post-purchase window (3 to 6 weeks after their latest purchase) or showing the usage signal for the
-- add-on's need. One add-on per customer: the one their usage asks for most, else the complement of
-- what they own.

with

white_space as (

    select * from {{ ref('addon_white_space') }}

),

customers as (

    select customer_id, primary_contact_id from {{ ref('customers') }}

),

eligible as (

    select
        *,
        need_signal_feature is not null as has_need_signal,
        -- how the feature reads in a sentence ("used the API 4907 times")
        case need_signal_feature
            when 'api' then 'the API'
            when 'sso' then 'single sign-on'
            else need_signal_feature
        end as need_signal_feature_text
    from white_space
    where need_signal_feature is not null
       or days_since_last_purchase between 21 and 42

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                case when has_need_signal then 0 else 1 end,
                need_signal_uses desc,
                product_id
        ) as preference
    from eligible

),

final as (

    select
        -- who
        ranked.customer_id,
        customers.primary_contact_id as contact_id,
        'cross_sell' as sequence,

        -- why, in the words the message shows
        case
            when ranked.has_need_signal
                then 'Since your team used ' || ranked.need_signal_feature_text || ' '
                    || cast(cast(ranked.need_signal_uses as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                    || ' times in the last {{ var("need_signal_window_days") }} days'
            else 'Since your team already has ' || ranked.complements_owned_product_name
        end as entry_reason,

        -- when
        {{ as_of_date() }} as entered_on,
        {{ as_of_date() }} as anchor_date,

        -- personalization
        ranked.product_id as recommended_addon_id,
        ranked.product_name as recommended_addon_name,
        ranked.monthly_price as addon_monthly_price,
        case
            when ranked.has_need_signal
                then 'used ' || ranked.need_signal_feature_text || ' '
                    || cast(cast(ranked.need_signal_uses as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                    || ' times in the last {{ var("need_signal_window_days") }} days'
        end as need_signal

    from ranked
    inner join customers
        on ranked.customer_id = customers.customer_id
    where ranked.preference = 1
      and customers.primary_contact_id is not null

)

select * from final
