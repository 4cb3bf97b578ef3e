{#- Generic data tests used across the project. Each returns the offending rows. -#}

{#- A phone number in E.164: '+', a non-zero country digit, up to 15 digits in all. -#}
{% test valid_e164(model, column_name) %}
select {{ column_name }} as invalid_phone
from {{ model }}
where {{ column_name }} is not null
  and not {{ lifecycle.regex_full_match(column_name, '[+][1-9][0-9]{6,14}') }}
{% endtest %}

{#- An IANA time zone name the database knows (Europe/London, America/New_York, UTC). -#}
{% test valid_time_zone(model, column_name) %}
select {{ column_name }} as unknown_time_zone
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in {{ lifecycle.time_zone_names() }}
{% endtest %}

{#- A BCP 47 language tag: a 2-3 letter language, then subtags (en, en-US, zh-Hant-TW). -#}
{% test valid_locale(model, column_name) %}
select {{ column_name }} as invalid_locale
from {{ model }}
where {{ column_name }} is not null
  and not {{ lifecycle.regex_full_match(column_name, '[a-z]{2,3}(-[A-Za-z0-9]{1,8})*') }}
{% endtest %}

{#- Looks like an email address (name@domain.tld); full validation happens at dispatch. -#}
{% test valid_email(model, column_name) %}
select {{ column_name }} as invalid_email
from {{ model }}
where {{ column_name }} is not null
  and not {{ lifecycle.regex_full_match(column_name, '[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+') }}
{% endtest %}

{#- Upper-case ISO 3166-1 alpha-2. -#}
{% test valid_country_code(model, column_name) %}
select {{ column_name }} as invalid_country_code
from {{ model }}
where {{ column_name }} is not null
  and not {{ lifecycle.regex_full_match(column_name, '[A-Z]{2}') }}
{% endtest %}

{#-
  The columns together identify a row (nulls count as a value). With `recent_days_column` and
  `recent_days`, only rows of the last `recent_days` days before the as-of date are checked: the part
  of an incremental model the current run rebuilt.
-#}
{% test unique_combination_of_columns(model, combination_of_columns, recent_days_column=none, recent_days=none) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
{%- if recent_days_column %}
where {{ recent_days_column }} >= {{ lifecycle.as_of_offset(-recent_days) }}
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies a boolean SQL expression. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}

{#- Values lie within [min_value, max_value] (either bound optional). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }} as out_of_range
from {{ model }}
where {{ column_name }} is not null
  and (
    {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% else %} false{% endif %}
    or {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% else %} false{% endif %}
  )
{% endtest %}

{#- A timestamp is not after the end of the as-of day: the marts never see the future. -#}
{% test not_after_as_of(model, column_name) %}
select {{ column_name }} as after_as_of
from {{ model }}
where {{ column_name }} >= {{ lifecycle.as_of_cutoff() }}
{% endtest %}
