-- The consent state of each contact and channel at the end of the as-of day: the latest grant or
-- withdrawal recorded by then. A withdrawal wins over a grant recorded at the same instant.
-- A view, computed inside its only reader (int_primary_contacts_as_of, itself a view inside customers):
-- it has no data tests of its own, and writing its 2M rows as a table cost more than computing them.
{{ config(materialized='view') }}

with

consents as (

    select * from {{ ref('stg_app__consents') }}
    where recorded_at < {{ as_of_cutoff() }}

),

ranked as (

    select
        contact_id,
        channel,
        consent_status,
        consent_source,
        recorded_at,
        row_number() over (
            partition by contact_id, channel
            order by
                recorded_at desc,
                case when consent_status = 'revoked' then 0 else 1 end,
                consent_id desc
        ) as recency
    from consents

),

final as (

    select
        contact_id,
        channel,
        consent_status,
        consent_source,
        recorded_at
    from ranked
    where recency = 1

)

select * from final
