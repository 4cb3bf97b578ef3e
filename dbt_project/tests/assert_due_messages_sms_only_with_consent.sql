-- No SMS without consent: every SMS due (or held out) goes to a contact whose latest SMS consent record
-- (landing or ops, by time) is a grant. Unknown consent is no consent.
{{ latest_consent_of_planned_messages() }}

select message_key, latest_status, latest_source
from latest_consent
where channel = 'sms'
  and (latest_status is null or latest_status <> 'granted')
