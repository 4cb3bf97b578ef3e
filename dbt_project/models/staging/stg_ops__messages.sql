{{ check_landing_contract('ops', 'messages') }}

-- The ledger export holds incremental parts: a key changed between exports appears in several parts.
-- Keep its latest version (the greatest updated_at; on a tie, the state furthest along). A table, not a
-- view: the deduplication runs once, not in every model and test that reads the ledger.
{{ config(materialized='table') }}

with source as (

    select * from {{ source('ops', 'messages') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_key
            order by
                updated_at desc,
                case state
                    when 'sent' then 1
                    when 'failed' then 2
                    when 'skipped' then 3
                    when 'held_out' then 4
                    when 'unknown' then 5
                    when 'sending' then 6
                    else 7
                end
        ) as recency
    from source

),

renamed as (

    select
        -- ids
        cast(message_key as {{ dbt.type_string() }}) as message_key,
        cast(enrollment_id as {{ dbt.type_string() }}) as enrollment_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(provider_message_id as {{ dbt.type_string() }}) as provider_message_id,

        -- what was planned
        cast(sequence as {{ dbt.type_string() }}) as sequence,
        cast(step as {{ dbt.type_string() }}) as step,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(template as {{ dbt.type_string() }}) as template,
        cast(provider as {{ dbt.type_string() }}) as provider,

        -- outcome
        cast(state as {{ dbt.type_string() }}) as state,
        cast(attempts as {{ dbt.type_int() }}) as attempts,
        cast(error_code as {{ dbt.type_string() }}) as error_code,
        cast(error_reason as {{ dbt.type_string() }}) as error_reason,

        -- dates
        cast(as_of_date as date) as as_of_date,
        -- enrollment_id is '<sequence>:<customer_id>:<enrolled_on>'
        cast({{ dbt.right('enrollment_id', 10) }} as date) as enrolled_on,
        cast(planned_at as {{ dbt.type_timestamp() }}) as planned_at,
        cast(send_after as {{ dbt.type_timestamp() }}) as send_after,
        cast(sending_at as {{ dbt.type_timestamp() }}) as sending_at,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(failed_at as {{ dbt.type_timestamp() }}) as failed_at,
        cast(skipped_at as {{ dbt.type_timestamp() }}) as skipped_at,
        cast(unknown_at as {{ dbt.type_timestamp() }}) as unknown_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        -- flags
        -- counts toward the frequency cap: on its way to the recipient, or already there
        state in ('planned', 'sending', 'sent', 'unknown') as counts_toward_cap

    from ranked
    where recency = 1

)

select * from renamed
