{#- The later of two values, ignoring nulls (portable: `greatest` treats nulls differently per database). -#}
{% macro later_of(a, b) -%}
  case
    when {{ a }} is null then {{ b }}
    when {{ b }} is null then {{ a }}
    when {{ a }} >= {{ b }} then {{ a }}
    else {{ b }}
  end
{%- endmacro %}
