-- Nobody suppressed is due (or held out): no message goes to an address on the ops suppression list
-- (unsubscribed, bounced, spam report, STOP) or to a contact whose latest consent record for the
-- channel, landing or ops by time, is a withdrawal.
{{ latest_consent_of_planned_messages() }}

select
    latest_consent.message_key,
    latest_consent.channel,
    'suppressed: ' || suppressions.suppression_reason || ' via ' || suppressions.suppression_source as problem
from latest_consent
inner join {{ ref('stg_ops__suppressions') }} as suppressions
    on latest_consent.channel = suppressions.channel
    and suppressions.address = case latest_consent.channel
        when 'email' then lower(trim(latest_consent.recipient)) else latest_consent.recipient end
where suppressions.created_at < {{ as_of_cutoff() }}

union all

select
    message_key,
    channel,
    'consent withdrawn (' || latest_source || ')' as problem
from latest_consent
where latest_status = 'revoked'
