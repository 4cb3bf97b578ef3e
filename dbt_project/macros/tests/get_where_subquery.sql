{#-
  Overrides dbt's get_where_subquery (what every generic test reads) to add one option: with the
  variable `recent_test_days` set (e.g. `--vars '{as_of_date: ..., recent_test_days: 7}'` on a daily
  incremental run), tests on a model that declares `meta: {recent_rows_column: <column>}` only check the
  rows of the last `recent_test_days` days before the as-of date: the rows that run added. Full builds
  (the default, variable unset) check every row. The test's own `where` config still applies.
-#}
{% macro get_where_subquery(relation) -%}
  {%- set conditions = [] -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}
    {%- do conditions.append('(' ~ where ~ ')') -%}
  {%- endif -%}
  {%- set recent_days = var('recent_test_days', none) -%}
  {%- if recent_days is not none and execute -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type == 'model' and (node.alias or node.name) == relation.identifier -%}
        {%- set column = (node.config.meta or {}).get('recent_rows_column') or (node.meta or {}).get('recent_rows_column') -%}
        {%- if column -%}
          {%- do conditions.append(column ~ ' >= ' ~ lifecycle.as_of_offset(-(recent_days | int))) -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if conditions -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
