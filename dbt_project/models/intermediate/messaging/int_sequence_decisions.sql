-- The day's decision for every candidate of int_sequence_candidates: due, held_out or excluded, with
-- the reason. For a step due today, the checks run in this order and the first that fails decides:
--   1 the channel: sms_or_email becomes sms when the contact can get an SMS, else email
--   2 no_address / no_consent / suppressed_by: the channel cannot reach the contact (an unsubscribe,
--     a bounce, a spam report, a STOP, consent withdrawn or never given)
--   3 bad_moment: an offer (kind offer) to a customer in a bad moment (var bad_moment_rules)
--   4 held_out: the customer is in the sequence's holdout group, md5(customer:sequence:holdout_salt)
--     (recorded in held_out_messages, never sent, never counted by the cap)
--   5 capped_by: the frequency cap (vars frequency_cap_per_day / _per_week) counts the ledger's
--     planned or sent messages of the last 7 run dates and today's picks in priority order (renewal
--     first); the reason names the message that took the last slot.
-- send_after / send_before: the channel's window on the as-of date in the recipient's time zone (UTC).

{%- set cap_day = var('frequency_cap_per_day') %}
{%- set cap_week = var('frequency_cap_per_week') %}

with

candidates as (

    select * from {{ ref('int_sequence_candidates') }}

),

recipients as (

    select * from {{ ref('int_messaging_recipients') }}

),

windows as (

    select * from {{ ref('int_send_windows') }}

),

ledger_counts as (

    select
        customer_id,
        sum(case when as_of_date = {{ as_of_date() }} then 1 else 0 end) as planned_today,
        count(*) as planned_this_week,
        max(case when as_of_date = {{ as_of_date() }} then message_key end) as last_key_today,
        max(message_key) as last_key_this_week
    from {{ ref('stg_ops__messages') }}
    where as_of_date between {{ as_of_offset(-6) }} and {{ as_of_date() }}
      and counts_toward_cap
    group by customer_id

),

due_today as (

    select
        candidates.*,
        recipients.contact_id as recipient_contact_id,
        recipients.email,
        recipients.phone,
        recipients.time_zone,
        recipients.email_block_code,
        recipients.email_block_reason,
        recipients.sms_block_code,
        recipients.sms_block_reason,
        recipients.bad_moment,
        case
            when candidates.step_channel = 'sms_or_email'
                then case when recipients.sms_block_code is null then 'sms' else 'email' end
            else candidates.step_channel
        end as channel,
        {{ unit_interval_hash("candidates.customer_id || ':' || candidates.sequence || ':' || '" ~ var('holdout_salt') ~ "'") }}
            as holdout_position
    from candidates
    left join recipients
        on candidates.customer_id = recipients.customer_id
    where candidates.status_code is null

),

checked as (

    select
        due_today.*,
        case
            when recipient_contact_id is null or recipient_contact_id <> contact_id then 'no_address'
            when channel = 'email' and email_block_code is not null then email_block_code
            when channel = 'sms' and sms_block_code is not null then sms_block_code
            when kind = 'offer' and bad_moment is not null then 'bad_moment'
            when holdout_position < holdout_share then 'held_out'
        end as check_code,
        case
            when recipient_contact_id is null then 'the customer has no primary contact'
            when recipient_contact_id <> contact_id
                then 'contact ' || contact_id || ' is not the primary contact (messages go to primary contacts)'
            when channel = 'email' and email_block_code is not null then email_block_reason
            when channel = 'sms' and sms_block_code is not null then sms_block_reason
            when kind = 'offer' and bad_moment is not null
                then 'bad moment for an offer: ' || bad_moment
            when holdout_position < holdout_share
                then 'in the holdout group of ' || sequence || ' (recorded as held out, never sent: it measures lift)'
        end as check_reason
    from due_today

),

-- what passed every check, in the order the cap lets through (lower priority number first)
picks as (

    select
        checked.*,
        checked.sequence || ':' || checked.customer_id || ':' || cast(checked.enrolled_on as {{ dbt.type_string() }})
            || ':' || checked.step as message_key,
        row_number() over (
            partition by checked.customer_id
            order by checked.priority, checked.step_number, checked.sequence
        ) as pick_rank,
        {{ cap_day }} - coalesce(ledger_counts.planned_today, 0) as slots_today,
        {{ cap_week }} - coalesce(ledger_counts.planned_this_week, 0) as slots_this_week,
        ledger_counts.last_key_today,
        ledger_counts.last_key_this_week
    from checked
    left join ledger_counts
        on checked.customer_id = ledger_counts.customer_id
    where checked.check_code is null

),

capped as (

    select
        picks.customer_id,
        picks.sequence,
        -- the tighter of the two limits decides
        case
            when picks.pick_rank <= least(picks.slots_today, picks.slots_this_week) then null
            when picks.slots_today <= picks.slots_this_week then 'at most {{ cap_day }} message(s) a day'
            else 'at most {{ cap_week }} message(s) in 7 days'
        end as cap_rule,
        -- the message holding the last slot: the last of today's picks that fit, else the ledger's latest
        case
            when picks.slots_today <= picks.slots_this_week
                then coalesce(last_pick.message_key, picks.last_key_today)
            else coalesce(last_pick.message_key, picks.last_key_this_week)
        end as capped_by
    from picks
    left join picks as last_pick
        on picks.customer_id = last_pick.customer_id
        and last_pick.pick_rank = least(picks.slots_today, picks.slots_this_week)

),

decided as (

    select
        checked.*,
        checked.sequence || ':' || checked.customer_id || ':' || cast(checked.enrolled_on as {{ dbt.type_string() }})
            || ':' || checked.step as message_key,
        case
            when checked.check_code = 'held_out' then 'held_out'
            when checked.check_code is not null or capped.cap_rule is not null then 'excluded'
            else 'due'
        end as decision,
        coalesce(checked.check_code, case when capped.cap_rule is not null then 'capped_by' end) as reason_code,
        coalesce(
            checked.check_reason,
            'capped by ' || coalesce(capped.capped_by, 'earlier messages') || ': ' || capped.cap_rule
        ) as reason,
        capped.capped_by
    from checked
    left join capped
        on checked.customer_id = capped.customer_id
        and checked.sequence = capped.sequence

),

final as (

    select
        -- ids
        decided.message_key,
        decided.enrollment_id,
        decided.customer_id,
        decided.contact_id,
        decided.sequence,
        decided.step,
        cast(decided.step_number as {{ dbt.type_int() }}) as step_number,

        -- the message
        decided.channel,
        decided.template,
        case decided.channel when 'sms' then decided.phone else decided.email end as recipient,
        decided.time_zone,
        windows.send_after,
        windows.send_before,
        cast(decided.priority as {{ dbt.type_int() }}) as priority,
        decided.entry_reason,
        decided.personalization_json,
        decided.enrolled_on,
        decided.due_on,
        decided.is_new_enrollment,

        -- the decision
        decided.decision,
        decided.reason_code,
        decided.reason,
        decided.capped_by,
        {{ as_of_date() }} as as_of_date
    from decided
    left join windows
        on decided.time_zone = windows.time_zone
        and decided.channel = windows.channel

    union all

    -- nothing of the sequence is due today (exited, waiting, out of the window)
    select
        cast(null as {{ dbt.type_string() }}) as message_key,
        candidates.enrollment_id,
        candidates.customer_id,
        candidates.contact_id,
        candidates.sequence,
        candidates.step,
        cast(candidates.step_number as {{ dbt.type_int() }}) as step_number,
        cast(null as {{ dbt.type_string() }}) as channel,
        candidates.template,
        cast(null as {{ dbt.type_string() }}) as recipient,
        cast(null as {{ dbt.type_string() }}) as time_zone,
        cast(null as {{ dbt.type_timestamp() }}) as send_after,
        cast(null as {{ dbt.type_timestamp() }}) as send_before,
        cast(candidates.priority as {{ dbt.type_int() }}) as priority,
        candidates.entry_reason,
        candidates.personalization_json,
        candidates.enrolled_on,
        candidates.due_on,
        candidates.is_new_enrollment,
        'excluded' as decision,
        candidates.status_code as reason_code,
        candidates.status_reason as reason,
        cast(null as {{ dbt.type_string() }}) as capped_by,
        {{ as_of_date() }} as as_of_date
    from candidates
    where candidates.status_code is not null

)

select * from final
