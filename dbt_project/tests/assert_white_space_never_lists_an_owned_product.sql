-- A cross-sell offer for something the customer already owns is the worst kind of message.
select
    white_space.customer_id,
    white_space.product_id
from {{ ref('addon_white_space') }} as white_space
inner join {{ ref('product_ownership') }} as ownership
    on white_space.customer_id = ownership.customer_id
    and white_space.product_id = ownership.product_id
