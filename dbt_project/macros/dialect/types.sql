{#-
  A double-precision float. dbt.type_float() is `float`, which is double precision on PostgreSQL but
  a 4-byte REAL on DuckDB: money and ratios need 8 bytes everywhere.
-#}
{% macro type_double() -%}
  {{ return(adapter.dispatch('type_double', 'lifecycle')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
  double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
  double
{%- endmacro %}
