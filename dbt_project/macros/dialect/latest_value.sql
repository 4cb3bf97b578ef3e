{#-
  "The value on the latest row" as an aggregate, without a window and a self-join:
  latest_value(value, order_key, filter) is the `value` of the row with the greatest `order_key` among
  the group's rows matching `filter` (and a non-null value). DuckDB: arg_max; elsewhere: ordered array_agg.
  `order_key` should be unique within a group (see event_order_key) so the answer is deterministic.
-#}
{% macro latest_value(value, order_key, filter=none) -%}
  {{ return(adapter.dispatch('latest_value', 'lifecycle')(value, order_key, filter)) }}
{%- endmacro %}

{% macro default__latest_value(value, order_key, filter=none) -%}
  (array_agg({{ value }} order by {{ order_key }} desc)
    filter (where {{ value }} is not null{% if filter %} and ({{ filter }}){% endif %}))[1]
{%- endmacro %}

{% macro duckdb__latest_value(value, order_key, filter=none) -%}
  arg_max({{ value }}, {{ order_key }})
    filter (where {{ value }} is not null{% if filter %} and ({{ filter }}){% endif %})
{%- endmacro %}

{#-
  A number that orders events by time, then by `precedence` (a small integer 0-15) for events at the
  same instant: microseconds since the epoch x 16 + precedence.
-#}
{% macro event_order_key(timestamp_expr, precedence_expr) -%}
  {{ return(adapter.dispatch('event_order_key', 'lifecycle')(timestamp_expr, precedence_expr)) }}
{%- endmacro %}

{% macro default__event_order_key(timestamp_expr, precedence_expr) -%}
  (cast(extract(epoch from {{ timestamp_expr }}) * 1000000 as bigint) * 16 + {{ precedence_expr }})
{%- endmacro %}

{% macro duckdb__event_order_key(timestamp_expr, precedence_expr) -%}
  (epoch_us({{ timestamp_expr }}) * 16 + {{ precedence_expr }})
{%- endmacro %}
