-- Pairs of products owned together by paying customers as of the date (association rules):
--   support    share of paying customers owning both
--   confidence share of owners of product_id who also own related_product_id, P(related | product)
--   lift       confidence / share of paying customers owning related_product_id (> 1: bought together
--              more often than chance)

with

owned as (

    select customer_id, product_id
    from {{ ref('product_ownership') }}
    where ownership_status = 'active'

),

paying_customers as (

    select count(distinct customer_id) as n_customers from owned

),

product_owners as (

    select product_id, count(*) as n_owners
    from owned
    group by product_id

),

pairs as (

    select
        owned.product_id,
        related.product_id as related_product_id,
        count(*) as n_both
    from owned
    inner join owned as related
        on owned.customer_id = related.customer_id
        and owned.product_id <> related.product_id
    group by owned.product_id, related.product_id

),

final as (

    select
        pairs.product_id,
        pairs.related_product_id,
        pairs.n_both as customers_with_both,
        product_owners.n_owners as customers_with_product,
        related_owners.n_owners as customers_with_related,
        paying_customers.n_customers as paying_customers,
        cast(pairs.n_both as {{ type_double() }}) / paying_customers.n_customers as support,
        cast(pairs.n_both as {{ type_double() }}) / product_owners.n_owners as confidence,
        (cast(pairs.n_both as {{ type_double() }}) / product_owners.n_owners)
            / (cast(related_owners.n_owners as {{ type_double() }}) / paying_customers.n_customers) as lift,
        {{ as_of_date() }} as as_of_date
    from pairs
    inner join product_owners
        on pairs.product_id = product_owners.product_id
    inner join product_owners as related_owners
        on pairs.related_product_id = related_owners.product_id
    cross join paying_customers

)

select * from final
