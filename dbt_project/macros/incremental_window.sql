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
  {%- set as_of = as_of_day() -%}
  {%- set loaded = modules.datetime.datetime.strptime((watermark | string)[:10], '%Y-%m-%d').date() -%}
  {%- set next_day = loaded + modules.datetime.timedelta(days=1) -%}
  {%- set anchor = as_of if as_of < next_day else next_day -%}
  {{ return(anchor - modules.datetime.timedelta(days=var('usage_lookback_days'))) }}
{%- endmacro %}

{#- The Monday of a Python date's calendar week (weeks run Monday to Sunday, as dbt.date_trunc('week')). -#}
{% macro week_start_of(day) -%}
  {{ return(day - modules.datetime.timedelta(days=day.weekday())) }}
{%- endmacro %}

{#-
  The first week (its Monday) an incremental run of a weekly model rebuilds, or none for a full build:
  the week of incremental_window_start(), or an earlier week that is not complete, i.e. built only up
  to a day before its Sunday (`watermark_column` < Sunday). The as-of week of every run is incomplete;
  the next run rebuilds it anyway. But rebuilding a past day leaves its week incomplete while later
  weeks keep the rows a later day's run wrote, so the next run must start again from that week.
-#}
{% macro weekly_window_start(watermark_column, week_column) -%}
  {%- set window_start = incremental_window_start(watermark_column) -%}
  {%- if window_start is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set start = week_start_of(window_start) -%}
  {%- set incomplete = run_query(
      'select min(' ~ week_column ~ ') from ' ~ this ~ ' where ' ~ watermark_column ~ ' < '
      ~ dbt.dateadd('day', 6, week_column)).columns[0].values()[0] -%}
  {%- if incomplete is not none -%}
    {%- set incomplete = modules.datetime.datetime.strptime((incomplete | string)[:10], '%Y-%m-%d').date() -%}
    {%- if incomplete < start -%}
      {%- set start = incomplete -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(start) }}
{%- endmacro %}

{#-
  Pre-hook of a weekly incremental model: on incremental runs, delete the weeks the run rebuilds, from
  weekly_window_start() through the as-of date's week, whatever rows the rebuild produces (a week with
  no events left must not keep rows a later day's run wrote). Later weeks, which a run for a later day
  built, are kept, as the watermark assumes.
-#}
{% macro delete_rebuilt_weeks(watermark_column, week_column) -%}
  {%- set start = weekly_window_start(watermark_column, week_column) -%}
  {%- if start is not none -%}
    delete from {{ this }}
    where {{ week_column }} >= {{ date_literal(start) }}
      and {{ week_column }} <= {{ as_of_date() }}
  {%- endif -%}
{%- endmacro %}

{#- A date literal for a Python date. -#}
{% macro date_literal(day) -%}
  cast('{{ day.isoformat() }}' as date)
{%- endmacro %}

{#- A timestamp literal for the first instant of a Python date (a constant, so Parquet scans can skip by it). -#}
{% macro day_start_literal(day) -%}
  cast('{{ day.isoformat() }} 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
  The first day an incremental run of a state model reprocesses, or none when the run rebuilds it whole.
  A state model keeps one row per entity as of the latest day it was built for (its watermark): a run
  for that day or a later one folds in the events from incremental_window_start() on; a run for an
  earlier day cannot take later events back out, so it rebuilds from all events up to its as-of date,
  after delete_state_built_later() emptied the table.
-#}
{% macro state_window_start(watermark_column) -%}
  {%- set window_start = incremental_window_start(watermark_column) -%}
  {%- if window_start is none or state_built_later(watermark_column) -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(window_start) }}
{%- endmacro %}

{#- Whether the state model was last built for a day after the as-of date (a past day is rebuilt). -#}
{% macro state_built_later(watermark_column) -%}
  {%- set later = run_query(
      'select count(*) from ' ~ this ~ ' where ' ~ watermark_column ~ ' > ' ~ as_of_date()).columns[0].values()[0] -%}
  {{ return(later > 0) }}
{%- endmacro %}

{#- Pre-hook of a state model: empty it when a past day is rebuilt (see state_window_start). -#}
{% macro delete_state_built_later(watermark_column) -%}
  {%- if execute and this is not none and is_incremental() and state_built_later(watermark_column) -%}
    delete from {{ this }}
  {%- endif -%}
{%- endmacro %}
