{#-
  The first day an incremental run of the current model reprocesses, or none for a full build.

  `watermark_column` is a date column of the model saying how far it was built. The run restarts
  `var('usage_lookback_days')` days before the earlier of the as-of date and the day after the
  watermark: late events are picked up, a gap between runs is filled, and rebuilding a past day only
  touches the days up to it.
-#}
{% macro incremental_window_start(watermark_column) -%}
  {#- unit tests render models without a relation: they always test the full build -#}
  {%- if not execute or this is none or not is_incremental() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set watermark = run_query('select max(' ~ watermark_column ~ ') from ' ~ this).columns[0].values()[0] -%}
  {%- if watermark is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set as_of = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d').date() -%}
  {%- set loaded = modules.datetime.datetime.strptime((watermark | string)[:10], '%Y-%m-%d').date() -%}
  {%- set next_day = loaded + modules.datetime.timedelta(days=1) -%}
  {%- set anchor = as_of if as_of < next_day else next_day -%}
  {{ return(anchor - modules.datetime.timedelta(days=var('usage_lookback_days'))) }}
{%- endmacro %}

{#- A date literal for a Python date. -#}
{% macro date_literal(day) -%}
  cast('{{ day.isoformat() }}' as date)
{%- endmacro %}
