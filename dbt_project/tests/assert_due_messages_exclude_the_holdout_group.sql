-- No holdout member is due, and every held-out message is a holdout member: the stable hash of
-- customer, sequence and salt, recomputed here, against the sequence's holdout share.
with

shares as (

    select distinct sequence, holdout_share from {{ ref('sequence_steps') }}

),

planned as (

    select message_key, customer_id, sequence, 'due' as decision from {{ ref('due_messages') }}
    union all
    select message_key, customer_id, sequence, 'held_out' as decision from {{ ref('held_out_messages') }}

),

positioned as (

    select
        planned.*,
        shares.holdout_share,
        {{ unit_interval_hash("planned.customer_id || ':' || planned.sequence || ':' || '" ~ var('holdout_salt') ~ "'") }}
            as holdout_position
    from planned
    inner join shares
        on planned.sequence = shares.sequence

)

select *
from positioned
where (decision = 'due' and holdout_position < holdout_share)
   or (decision = 'held_out' and holdout_position >= holdout_share)
