{#-
  The columns a landing relation actually has, as a list of {name, type} (type upper-cased).
  DuckDB reads Parquet through a table function, so it asks DESCRIBE; elsewhere the landing tables are
  real tables and the adapter's catalog answers.
-#}
{% macro landing_columns(relation) -%}
  {{ return(adapter.dispatch('landing_columns', 'lifecycle')(relation)) }}
{%- endmacro %}

{% macro default__landing_columns(relation) -%}
  {%- set found = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do found.append({'name': column.name | lower, 'type': column.data_type | upper}) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}

{% macro duckdb__landing_columns(relation) -%}
  {%- set found = [] -%}
  {%- set described = run_query('describe select * from ' ~ relation) -%}
  {%- for row in described.rows -%}
    {%- do found.append({'name': row['column_name'] | lower, 'type': row['column_type'] | upper}) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}
