{#-
  Cross-database pieces of the messaging models. The defaults are standard SQL that PostgreSQL and
  DuckDB both run; an adapter that differs (Snowflake's convert_timezone, BigQuery's DATETIME) adds its
  own `<adapter>__` version.
-#}

{#-
  A wall-clock time in a zone -> the same instant as a UTC timestamp without time zone. Daylight
  saving is the database's (IANA rules): 09:00 in London is 08:00 UTC in summer and 09:00 in winter.
-#}
{% macro local_to_utc(local_timestamp, zone) -%}
  {{ return(adapter.dispatch('local_to_utc', 'lifecycle')(local_timestamp, zone)) }}
{%- endmacro %}

{% macro default__local_to_utc(local_timestamp, zone) -%}
  cast((({{ local_timestamp }}) at time zone ({{ zone }})) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A UTC timestamp without time zone -> the wall-clock time in a zone (the inverse of local_to_utc). -#}
{% macro utc_to_local(utc_timestamp, zone) -%}
  {{ return(adapter.dispatch('utc_to_local', 'lifecycle')(utc_timestamp, zone)) }}
{%- endmacro %}

{% macro default__utc_to_local(utc_timestamp, zone) -%}
  cast((({{ utc_timestamp }}) at time zone 'UTC') at time zone ({{ zone }}) as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
  A stable number in [0, 1) from a text: the first 32 bits of its MD5 over 2^32. The same text gives
  the same number on every run and every database, so holdout groups never reshuffle.
-#}
{% macro unit_interval_hash(text_expr) -%}
  {{ return(adapter.dispatch('unit_interval_hash', 'lifecycle')(text_expr)) }}
{%- endmacro %}

{% macro default__unit_interval_hash(text_expr) -%}
  {#- bit(32) -> bigint reads the 32 bits as an unsigned number -#}
  (cast(cast(('x' || substr(md5({{ text_expr }}), 1, 8)) as bit(32)) as bigint) / 4294967296.0)
{%- endmacro %}

{% macro duckdb__unit_interval_hash(text_expr) -%}
  (cast(('0x' || substr(md5({{ text_expr }}), 1, 8)) as bigint) / 4294967296.0)
{%- endmacro %}

{#- A JSON object as text from (key, SQL expression) pairs; dates become ISO strings, nulls null. -#}
{% macro json_object_text(pairs) -%}
  {{ return(adapter.dispatch('json_object_text', 'lifecycle')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_text(pairs) -%}
  cast(json_build_object(
    {%- for key, expr in pairs %}'{{ key }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor -%}
  ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
  cast(json_object(
    {%- for key, expr in pairs %}'{{ key }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor -%}
  ) as {{ dbt.type_string() }})
{%- endmacro %}
