-- One row per message key planned for a run date on or before the as-of date, with its latest state in
-- the operational ledger export (stg_ops__messages keeps the latest version of each key).

with

messages as (

    select * from {{ ref('stg_ops__messages') }}
    where as_of_date <= {{ as_of_date() }}

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

    from messages

)

select * from final
