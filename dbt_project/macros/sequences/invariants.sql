{#-
  Shared by the invariant tests (tests/assert_due_*.sql): the latest consent record by the end of the
  as-of day for each due or held-out message's contact and channel, from both sources (the landing
  consents, as the customers mart reports them, and the ops store's consent changes by address),
  recomputed independently of the messaging models. Columns: message_key, channel, latest_status
  (granted, revoked, or null when nothing was recorded), latest_source.
-#}
{% macro latest_consent_of_planned_messages() -%}
with

planned as (

    select message_key, customer_id, channel, recipient from {{ ref('due_messages') }}
    union all
    select message_key, customer_id, channel, recipient from {{ ref('held_out_messages') }}

),

records as (

    select
        planned.message_key,
        planned.channel,
        case planned.channel
            when 'email' then customers.email_consent_status
            else customers.sms_consent_status
        end as consent_status,
        case planned.channel
            when 'email' then customers.email_consent_recorded_at
            else customers.sms_consent_recorded_at
        end as recorded_at,
        'landing consents' as consent_source
    from planned
    inner join {{ ref('customers') }} as customers
        on planned.customer_id = customers.customer_id

    union all

    select
        planned.message_key,
        planned.channel,
        changes.consent_status,
        changes.recorded_at,
        'ops consent_changes' as consent_source
    from planned
    inner join {{ ref('stg_ops__consent_changes') }} as changes
        on planned.channel = changes.channel
        and changes.address = case planned.channel when 'email' then lower(trim(planned.recipient)) else planned.recipient end
    where changes.recorded_at < {{ as_of_cutoff() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_key
            order by recorded_at desc nulls last, case when consent_status = 'revoked' then 0 else 1 end
        ) as recency
    from records
    where recorded_at is not null

),

latest_consent as (

    select
        planned.message_key,
        planned.customer_id,
        planned.channel,
        planned.recipient,
        ranked.consent_status as latest_status,
        ranked.consent_source as latest_source
    from planned
    left join ranked
        on planned.message_key = ranked.message_key
        and ranked.recency = 1

)
{%- endmacro %}
