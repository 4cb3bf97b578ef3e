{#- True when the whole of `expr` matches the regular expression `pattern` (a Python string, no quotes). -#}
{% macro regex_full_match(expr, pattern) -%}
  {{ return(adapter.dispatch('regex_full_match', 'lifecycle')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
  ({{ expr }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(expr, pattern) -%}
  regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}
