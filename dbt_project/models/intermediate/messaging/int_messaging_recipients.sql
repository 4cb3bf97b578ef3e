-- One row per customer in a sequence audience: where a message can reach their primary contact and
-- why not, per channel, in the recipient's time zone, and whether now is a bad moment for an offer.
--
-- Consent: the latest record by time wins, whether it comes from the landing consents (customers mart)
-- or from the messages themselves (ops consent_changes: unsubscribe links, STOP / START replies); a
-- withdrawal wins a tie. Email needs consent granted and the address not suppressed (unsubscribed,
-- bounced, spam report); SMS needs consent granted, a number, and no suppression (STOP).
-- Time zone: the contact's, else the country's main zone, else var fallback_time_zone; a name the
-- database does not know also falls back.

with

audience_customers as (

    select distinct customer_id from {{ ref('int_sequence_audience') }}

),

customers as (

    select customers.*
    from {{ ref('customers') }} as customers
    inner join audience_customers
        on customers.customer_id = audience_customers.customer_id
    where customers.primary_contact_id is not null

),

known_zones as (

    select name from {{ time_zone_names() }} as zone_names

),

suppressions as (

    select * from {{ ref('stg_ops__suppressions') }}
    where created_at < {{ as_of_cutoff() }}

),

consent_changes as (

    select
        *,
        row_number() over (
            partition by channel, address
            order by recorded_at desc, case when consent_status = 'revoked' then 0 else 1 end, consent_change_id desc
        ) as recency
    from {{ ref('stg_ops__consent_changes') }}
    where recorded_at < {{ as_of_cutoff() }}

),

contacts as (

    select
        customers.customer_id,
        customers.primary_contact_id as contact_id,
        customers.first_name,
        customers.company_name,
        customers.email,
        lower(trim(customers.email)) as email_address,
        customers.phone,
        customers.phone as sms_address,
        case when known_zones.name is not null then customers.time_zone else '{{ var("fallback_time_zone") }}' end
            as time_zone,
        case when known_zones.name is not null then customers.time_zone_source else 'fallback' end
            as time_zone_source,
        customers.email_consent_status,
        customers.email_consent_recorded_at,
        customers.sms_consent_status,
        customers.sms_consent_recorded_at,
        -- a bad moment for an offer: the first rule of var bad_moment_rules that applies
        {%- set rules = var('bad_moment_rules') %}
        {%- if rules %}
        case
            {%- if 'open_high_priority_ticket' in rules %}
            when customers.open_tickets_high + customers.open_tickets_urgent > 0
                then 'an open high-priority support ticket'
            {%- endif %}
            {%- if 'nps_detractor' in rules %}
            when customers.is_nps_detractor
                then 'a recent NPS score of ' || cast(customers.last_nps_score as {{ dbt.type_string() }})
                    || ' (' || cast(cast(customers.last_nps_at as date) as {{ dbt.type_string() }}) || ')'
            {%- endif %}
            {%- if 'failed_payment' in rules %}
            when customers.has_failed_payment
                then 'a failed payment on '
                    || cast(cast(customers.last_payment_failed_at as date) as {{ dbt.type_string() }})
                    || ', not yet recovered'
            {%- endif %}
        end as bad_moment
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as bad_moment
        {%- endif %}
    from customers
    left join known_zones
        on customers.time_zone = known_zones.name

),

channels as (

    select
        contacts.*,
        {%- for channel in ['email', 'sms'] %}
        -- {{ channel }}: the effective consent (the latest record of the landing data and the ops store)
        case
            when {{ channel }}_change.recorded_at is null then contacts.{{ channel }}_consent_status
            when contacts.{{ channel }}_consent_recorded_at is null
                or {{ channel }}_change.recorded_at > contacts.{{ channel }}_consent_recorded_at
                then {{ channel }}_change.consent_status
            when {{ channel }}_change.recorded_at < contacts.{{ channel }}_consent_recorded_at
                then contacts.{{ channel }}_consent_status
            when 'revoked' in ({{ channel }}_change.consent_status, contacts.{{ channel }}_consent_status) then 'revoked'
            else 'granted'
        end as {{ channel }}_consent,
        case
            when {{ channel }}_change.recorded_at is not null
                and (contacts.{{ channel }}_consent_recorded_at is null
                     or {{ channel }}_change.recorded_at >= contacts.{{ channel }}_consent_recorded_at)
                then {{ channel }}_change.consent_source || ' on '
                    || cast(cast({{ channel }}_change.recorded_at as date) as {{ dbt.type_string() }})
                    || coalesce(' (' || {{ channel }}_change.evidence || ')', '')
            else 'the consent records on '
                || coalesce(cast(cast(contacts.{{ channel }}_consent_recorded_at as date) as {{ dbt.type_string() }}), '?')
        end as {{ channel }}_consent_via,
        {{ channel }}_suppression.suppression_reason as {{ channel }}_suppression_reason,
        {{ channel }}_suppression.suppression_reason || ' (via ' || {{ channel }}_suppression.suppression_source
            || ') since ' || cast(cast({{ channel }}_suppression.created_at as date) as {{ dbt.type_string() }})
            as {{ channel }}_suppression,
        {%- endfor %}
        coalesce(email_suppression.is_email_opt_out, false) as email_suppression_is_opt_out
    from contacts
    {%- for channel in ['email', 'sms'] %}
    left join consent_changes as {{ channel }}_change
        on {{ channel }}_change.channel = '{{ channel }}'
        and {{ channel }}_change.address = contacts.{{ channel }}_address
        and {{ channel }}_change.recency = 1
    left join suppressions as {{ channel }}_suppression
        on {{ channel }}_suppression.channel = '{{ channel }}'
        and {{ channel }}_suppression.address = contacts.{{ channel }}_address
    {%- endfor %}

),

final as (

    select
        -- ids
        customer_id,
        contact_id,

        -- person
        first_name,
        company_name,
        email,
        phone,
        time_zone,
        time_zone_source,

        -- reachability per channel: null block code = a message can go
        {%- for channel, label in [('email', 'email address'), ('sms', 'mobile number')] %}
        case
            when {{ channel }}_address is null or {{ channel }}_address = '' then 'no_address'
            when {{ channel }}_suppression is not null then 'suppressed_by'
            when {{ channel }}_consent = 'revoked' then 'suppressed_by'
            when {{ channel }}_consent = 'granted' then null
            else 'no_consent'
        end as {{ channel }}_block_code,
        case
            when {{ channel }}_address is null or {{ channel }}_address = '' then 'no {{ label }} on file'
            when {{ channel }}_suppression is not null then 'suppressed by the {{ channel }} suppression list: ' || {{ channel }}_suppression
            when {{ channel }}_consent = 'revoked' then 'suppressed by {{ channel }} consent withdrawn via ' || {{ channel }}_consent_via
            when {{ channel }}_consent = 'granted' then null
            else 'no recorded {{ channel }} consent'
        end as {{ channel }}_block_reason,
        {{ channel }}_consent as {{ channel }}_consent_status,
        {%- endfor %}
        (email_suppression_is_opt_out or email_consent = 'revoked') as email_opted_out,

        -- offers
        bad_moment

    from channels

)

select * from final
