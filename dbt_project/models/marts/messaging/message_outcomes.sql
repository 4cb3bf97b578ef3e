-- One row per message key planned for a run date on or before the as-of date, with its latest state in
-- the operational ledger export (the latest updated_at wins when a folder of exports repeats a key).

with

messages as (

    select * from {{ ref('stg_ops__messages') }}
    where as_of_date <= {{ as_of_date() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_key
            order by updated_at desc, state desc
        ) as recency
    from messages

),

final as (

    select
        -- ids
        message_key,
        customer_id,
        contact_id,
        provider_message_id,

        -- the message
        sequence,
        step,
        channel,
        template,
        provider,

        -- outcome
        state,
        state = 'sent' as is_sent,
        state = 'held_out' as is_held_out,
        state in ('failed', 'unknown') as needs_attention,
        error_code,
        error_reason,

        -- dates
        as_of_date,
        planned_at,
        send_after,
        sent_at,
        updated_at

    from ranked
    where recency = 1

)

select * from final
