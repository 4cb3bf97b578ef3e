{#- A subquery listing every IANA time zone name the database knows (one column: name). -#}
{% macro time_zone_names() -%}
  {{ return(adapter.dispatch('time_zone_names', 'lifecycle')()) }}
{%- endmacro %}

{% macro default__time_zone_names() -%}
  (select name from pg_timezone_names)
{%- endmacro %}

{% macro duckdb__time_zone_names() -%}
  (select name from pg_timezone_names())
{%- endmacro %}
