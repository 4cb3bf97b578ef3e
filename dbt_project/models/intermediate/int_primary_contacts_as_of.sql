-- One row per customer: its primary contact as of the date, with the time zone to use (the contact's,
-- else the country's main zone, else UTC) and the consent state per channel (granted, revoked or unknown).
-- A view, computed inside its only reader (customers): it has no data tests of its own, and writing its
-- 1M rows as a table cost more than computing them (docs/benchmarks.md).
{{ config(materialized='view') }}

with

contacts as (

    select * from {{ ref('stg_app__contacts') }}
    where is_primary
      and created_at < {{ as_of_cutoff() }}

),

customers as (

    select customer_id, country_code from {{ ref('stg_app__customers') }}

),

country_time_zones as (

    select * from {{ ref('country_time_zones') }}

),

consents as (

    select * from {{ ref('int_contact_consents_as_of') }}

),

final as (

    select
        -- ids
        contacts.customer_id,
        contacts.contact_id,

        -- person
        contacts.first_name,
        contacts.last_name,
        contacts.email,
        contacts.email_normalized,
        contacts.phone,
        contacts.locale,
        coalesce(contacts.time_zone, country_time_zones.time_zone, 'UTC') as time_zone,
        case
            when contacts.time_zone is not null then 'contact'
            when country_time_zones.time_zone is not null then 'country'
            else 'default'
        end as time_zone_source,

        -- consent
        coalesce(email_consent.consent_status, 'unknown') as email_consent_status,
        email_consent.recorded_at as email_consent_recorded_at,
        coalesce(sms_consent.consent_status, 'unknown') as sms_consent_status,
        sms_consent.recorded_at as sms_consent_recorded_at,

        -- dates
        contacts.created_at

    from contacts
    left join customers
        on contacts.customer_id = customers.customer_id
    left join country_time_zones
        on customers.country_code = country_time_zones.country_code
    left join consents as email_consent
        on contacts.contact_id = email_consent.contact_id
        and email_consent.channel = 'email'
    left join consents as sms_consent
        on contacts.contact_id = sms_consent.contact_id
        and sms_consent.channel = 'sms'

)

select * from final
