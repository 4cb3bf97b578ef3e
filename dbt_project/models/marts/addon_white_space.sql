-- One row per paying customer and complementary add-on they do not own, with why it is offered:
--   complement:  they own a product whose complements_product_id is this add-on
--   need signal: they used the add-on's need_signal_feature at least `need_signal_min_uses` times in the
--                last `need_signal_window_days` days
-- Read by Python for the cross-sell sequence (contract). Never lists a product the customer owns.

with

products as (

    select * from {{ ref('stg_app__products') }}

),

ownership as (

    select * from {{ ref('product_ownership') }}

),

subscription_state as (

    select * from {{ ref('int_subscription_state_as_of') }}
    where subscription_status = 'active'

),

paying_owned as (

    select ownership.*
    from ownership
    inner join subscription_state
        on ownership.customer_id = subscription_state.customer_id
    where ownership.ownership_status = 'active'

),

complement_candidates as (

    select
        paying_owned.customer_id,
        owned_products.complements_product_id as product_id,
        min(paying_owned.product_id) as complements_owned_product_id
    from paying_owned
    inner join products as owned_products
        on paying_owned.product_id = owned_products.product_id
    where owned_products.complements_product_id is not null
    group by paying_owned.customer_id, owned_products.complements_product_id

),

feature_use as (

    select
        customer_id,
        feature,
        sum(quantity_sum) as uses_in_window
    from {{ ref('int_usage_recent_days') }}
    where event_type = 'feature_used'
      and usage_date > {{ as_of_offset(-var('need_signal_window_days')) }}
    group by customer_id, feature

),

need_candidates as (

    select
        subscription_state.customer_id,
        products.product_id,
        products.need_signal_feature,
        feature_use.uses_in_window as need_signal_uses
    from subscription_state
    inner join feature_use
        on subscription_state.customer_id = feature_use.customer_id
    inner join products
        on feature_use.feature = products.need_signal_feature
    where products.is_addon
      and feature_use.uses_in_window >= {{ var('need_signal_min_uses') }}

),

candidates as (

    select customer_id, product_id from complement_candidates
    union
    select customer_id, product_id from need_candidates

),

not_owned as (

    select candidates.*
    from candidates
    inner join products
        on candidates.product_id = products.product_id
        and products.is_addon
    left join ownership
        on candidates.customer_id = ownership.customer_id
        and candidates.product_id = ownership.product_id
    where ownership.product_id is null

),

final as (

    select
        -- ids
        not_owned.customer_id,
        not_owned.product_id,

        -- the offer
        products.product_name,
        cast(products.monthly_price as {{ type_double() }}) as monthly_price,
        case
            when complement.product_id is not null and need.product_id is not null then 'complement_and_need_signal'
            when complement.product_id is not null then 'complement'
            else 'need_signal'
        end as reason_code,
        case
            when complement.product_id is not null and need.product_id is not null
                then products.need_reason || ', and it pairs with ' || owned_products.product_name
                    || ', which you already have'
            when complement.product_id is not null
                then 'it pairs with ' || owned_products.product_name || ', which you already have'
            else products.need_reason
        end as reason,

        -- the evidence
        complement.complements_owned_product_id,
        owned_products.product_name as complements_owned_product_name,
        need.need_signal_feature,
        cast(need.need_signal_uses as {{ type_double() }}) as need_signal_uses,

        -- timing (the cross-sell window is measured from the latest purchase)
        subscription_state.core_purchased_at,
        cast({{ dbt.datediff('subscription_state.core_purchased_at', as_of_date(), 'day') }} as {{ dbt.type_int() }})
            as days_since_core_purchase,
        {{ later_of('subscription_state.core_purchased_at', 'subscription_state.last_addon_purchased_at') }}
            as last_purchase_at,
        cast(
            {{ dbt.datediff(later_of('subscription_state.core_purchased_at', 'subscription_state.last_addon_purchased_at'),
                            as_of_date(), 'day') }}
            as {{ dbt.type_int() }}
        ) as days_since_last_purchase,
        {{ as_of_date() }} as as_of_date

    from not_owned
    inner join products
        on not_owned.product_id = products.product_id
    inner join subscription_state
        on not_owned.customer_id = subscription_state.customer_id
    left join complement_candidates as complement
        on not_owned.customer_id = complement.customer_id
        and not_owned.product_id = complement.product_id
    left join products as owned_products
        on complement.complements_owned_product_id = owned_products.product_id
    left join need_candidates as need
        on not_owned.customer_id = need.customer_id
        and not_owned.product_id = need.product_id

)

select * from final
