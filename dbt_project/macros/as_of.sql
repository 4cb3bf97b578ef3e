{#-
  The as-of date every model is computed for.
  Order: var `as_of_date` (`--vars '{as_of_date: 2026-11-20}'`), else env LIFECYCLE_AS_OF, else today.
  Scheduled runs use the environment variable: a var that changes makes dbt parse the whole project
  again, the environment variable does not (it is read only when models compile, see below).
  Events count when they happened on or before the end of that day (UTC): `occurred_at < as_of_cutoff()`.
-#}

{% macro as_of_date_string() -%}
  {%- set raw = var('as_of_date', none) -%}
  {%- if raw is none or (raw | string | trim) == '' -%}
    {#- read when models run, never while dbt parses: dbt re-parses what read an env var at parse time
        once its value changes, and this one changes every day (a var makes dbt parse it all again) -#}
    {%- set raw = env_var('LIFECYCLE_AS_OF', '') if execute else '' -%}
  {%- endif -%}
  {%- if raw is none or (raw | string | trim) == '' -%}
    {%- set raw = modules.datetime.date.today().isoformat() -%}
  {%- endif -%}
  {%- set text = raw | string | trim -%}
  {#- the whole value is checked: a day, or a day and a time (a YAML timestamp, an ISO logical date);
      cutting it to ten characters first would read 2026-11-201 as 2026-11-20 -#}
  {%- set shape = '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
      ~ '([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$' -%}
  {%- set problem = none -%}
  {%- if not modules.re.match(shape, text) -%}
    {%- set problem = 'must be a date written YYYY-MM-DD' -%}
  {%- else -%}
    {%- set year, month, day = text[0:4] | int, text[5:7] | int, text[8:10] | int -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 -%}
      {%- set problem = 'is not a day of the calendar' -%}
    {%- else -%}
      {%- set next_month = modules.datetime.date(year + month // 12, month % 12 + 1, 1) -%}
      {%- if day > (next_month - modules.datetime.timedelta(days=1)).day -%}
        {%- set problem = 'is not a day of the calendar' -%}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {%- if problem -%}
    {{ exceptions.raise_compiler_error(
        "as_of_date " ~ problem ~ " (var as_of_date or env LIFECYCLE_AS_OF), got '" ~ raw ~ "'") }}
  {%- endif -%}
  {{- text[0:10] -}}
{%- endmacro %}

{#- The as-of date as a Python date, for date arithmetic in Jinja. -#}
{% macro as_of_day() -%}
  {{ return(modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d').date()) }}
{%- endmacro %}

{% macro as_of_date() -%}
  cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{#- The first instant after the as-of day: the exclusive upper bound for event timestamps. -#}
{% macro as_of_cutoff() -%}
  {%- set day = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d') -%}
  cast('{{ (day + modules.datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A date literal `days` days before (negative) or after the as-of date, computed in Jinja so it is a constant. -#}
{% macro as_of_offset(days) -%}
  {%- set day = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d') -%}
  cast('{{ (day + modules.datetime.timedelta(days=days)).strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}
