{#-
  dbt's `unique` test on DuckDB, found by sorting instead of hashing: the rows whose value equals the
  previous one in sort order are the duplicates. Same answer (each duplicated value and how many rows
  carry it); on the 67M usage event ids DuckDB sorts the keys about 4x cheaper than it hashes them.
  Other warehouses keep dbt's own test.
-#}
{% macro duckdb__test_unique(model, column_name) %}
select unique_field, count(*) + 1 as n_records
from (
    select
        {{ column_name }} as unique_field,
        lag({{ column_name }}) over (order by {{ column_name }}) as previous_field
    from {{ model }}
    where {{ column_name }} is not null
) as sorted_values
where unique_field = previous_field
group by unique_field
{% endmacro %}
