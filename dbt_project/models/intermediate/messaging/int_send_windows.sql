-- The send windows of the as-of date, per recipient time zone and channel: the UTC instants at which
-- the channel's local window (vars email_window, sms_window) opens and closes on that day in that zone.
-- Daylight saving is the database's IANA rules, so 09:00 in London is 08:00 UTC in summer, 09:00 in
-- winter (macros/sequences/dialect.sql).

{%- set day = as_of_date_string() %}

with

zones as (

    select distinct time_zone from {{ ref('int_messaging_recipients') }}

),

channels as (

    {%- for channel in ['email', 'sms'] %}
    select
        '{{ channel }}' as channel,
        cast('{{ day }} {{ channel_window(channel)[0] }}:00' as {{ dbt.type_timestamp() }}) as opens_local,
        cast('{{ day }} {{ channel_window(channel)[1] }}:00' as {{ dbt.type_timestamp() }}) as closes_local
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        zones.time_zone,
        channels.channel,
        {{ as_of_date() }} as local_date,
        channels.opens_local,
        channels.closes_local,
        {{ local_to_utc('channels.opens_local', 'zones.time_zone') }} as send_after,
        {{ local_to_utc('channels.closes_local', 'zones.time_zone') }} as send_before
    from zones
    cross join channels

)

select * from final
