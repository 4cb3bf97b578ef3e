-- Every send_after / send_before is inside its window: converted back to the recipient's time zone,
-- they are the channel's local window (vars email_window, sms_window) on the as-of date.
{%- set day = as_of_date_string() %}

with

planned as (

    select message_key, channel, time_zone, send_after, send_before from {{ ref('due_messages') }}
    union all
    select message_key, channel, time_zone, send_after, send_before from {{ ref('held_out_messages') }}

),

local_times as (

    select
        planned.*,
        {{ utc_to_local('planned.send_after', 'planned.time_zone') }} as local_send_after,
        {{ utc_to_local('planned.send_before', 'planned.time_zone') }} as local_send_before
    from planned

)

select *
from local_times
where send_after >= send_before
{%- for channel in ['email', 'sms'] %}
   or (channel = '{{ channel }}' and (
        local_send_after <> cast('{{ day }} {{ channel_window(channel)[0] }}:00' as {{ dbt.type_timestamp() }})
        or local_send_before <> cast('{{ day }} {{ channel_window(channel)[1] }}:00' as {{ dbt.type_timestamp() }})))
{%- endfor %}
