-- One row per customer and product owned at the end of the as-of day.
--   core:    the customer's subscription is active (paying) or trialing (ownership_status says which)
--   add-ons: the latest add-on event for that product is a purchase, made after the subscription's last
--            cancel, on a subscription that is active now (a cancel ends every add-on; a reactivation
--            does not bring them back unless they are bought again)

with

subscriptions as (

    select * from {{ ref('int_subscriptions_as_of') }}

),

subscription_state as (

    select * from {{ ref('int_subscription_state_as_of') }}

),

products as (

    select * from {{ ref('stg_app__products') }}

),

addon_events as (

    select
        subscription_id,
        customer_id,
        product_id,
        event_type,
        occurred_at,
        row_number() over (
            partition by subscription_id, product_id
            order by occurred_at desc, {{ subscription_event_precedence('event_type') }} desc, subscription_event_id desc
        ) as recency
    from {{ ref('stg_app__subscription_events') }}
    where occurred_at < {{ as_of_cutoff() }}
      and is_addon_event

),

core_owned as (

    select
        customer_id,
        subscription_id,
        case when subscription_status = 'trialing' then 'trial' else 'active' end as ownership_status,
        case when subscription_status = 'trialing' then trial_started_at else core_purchased_at end as owned_since
    from subscription_state
    where subscription_status in ('active', 'trialing')

),

core_with_product as (

    select
        core_owned.customer_id,
        products.product_id,
        core_owned.subscription_id,
        core_owned.ownership_status,
        core_owned.owned_since
    from core_owned
    inner join products
        on products.product_kind = 'core'

),

addons_owned as (

    select
        addon_events.customer_id,
        addon_events.product_id,
        addon_events.subscription_id,
        'active' as ownership_status,
        addon_events.occurred_at as owned_since
    from addon_events
    inner join subscriptions
        on addon_events.subscription_id = subscriptions.subscription_id
    where addon_events.recency = 1
      and addon_events.event_type = 'addon_purchased'
      and subscriptions.subscription_status = 'active'
      and (subscriptions.last_cancelled_at is null or addon_events.occurred_at > subscriptions.last_cancelled_at)

),

-- the same add-on on two active subscriptions is owned once, since the earliest purchase
addons_deduplicated as (

    select
        customer_id,
        product_id,
        min(subscription_id) as subscription_id,
        'active' as ownership_status,
        min(owned_since) as owned_since
    from addons_owned
    group by customer_id, product_id

),

owned as (

    select * from core_with_product
    union all
    select * from addons_deduplicated

),

final as (

    select
        -- ids
        owned.customer_id,
        owned.product_id,
        owned.subscription_id,

        -- product
        products.product_name,
        products.product_kind,
        products.monthly_price,

        -- ownership
        owned.ownership_status,
        owned.owned_since,
        {{ dbt.datediff('owned.owned_since', as_of_date(), 'day') }} as days_owned,
        {{ as_of_date() }} as as_of_date

    from owned
    inner join products
        on owned.product_id = products.product_id

)

select * from final
