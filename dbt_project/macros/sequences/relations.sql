{#- SQL built from the sequence definitions (macros/sequences/definitions.sql). -#}

{#- A text literal (quotes doubled). -#}
{% macro sql_text(value) -%}
  {{ "null" if value is none else "'" ~ (value | string | replace("'", "''")) ~ "'" }}
{%- endmacro %}

{#- One row per sequence step, from the definitions (an empty relation with the same columns at parse time). -#}
{% macro sequence_steps_sql() -%}
  {%- set rows = [] -%}
  {%- for sequence in sequence_definitions() -%}
    {%- for step in sequence.steps -%}
      {%- do rows.append([
          sql_text(sequence.name), sql_text(sequence.segment_model), sql_text(sequence.file),
          sql_text(sequence.kind), sequence.priority, sequence.holdout_share, sql_text(sequence.goal),
          'null' if sequence.reentry_after_days is none else sequence.reentry_after_days,
          sequence.steps | length,
          sql_text(step.name), step.step_number, step.delay_days, sql_text(step.relative_to),
          sql_text(step.channel), sql_text(step.template),
      ]) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if not rows -%}
    {%- do rows.append(['null', 'null', 'null', 'null', 'null', 'null', 'null', 'null', 'null', 'null',
                        'null', 'null', 'null', 'null', 'null']) -%}
  {%- endif -%}
  {%- for row in rows %}
    select
        cast({{ row[0] }} as {{ dbt.type_string() }}) as sequence,
        cast({{ row[1] }} as {{ dbt.type_string() }}) as segment_model,
        cast({{ row[2] }} as {{ dbt.type_string() }}) as definition_file,
        cast({{ row[3] }} as {{ dbt.type_string() }}) as kind,
        cast({{ row[4] }} as {{ dbt.type_int() }}) as priority,
        cast({{ row[5] }} as {{ type_double() }}) as holdout_share,
        cast({{ row[6] }} as {{ dbt.type_string() }}) as goal,
        cast({{ row[7] }} as {{ dbt.type_int() }}) as reentry_after_days,
        cast({{ row[8] }} as {{ dbt.type_int() }}) as step_count,
        cast({{ row[9] }} as {{ dbt.type_string() }}) as step,
        cast({{ row[10] }} as {{ dbt.type_int() }}) as step_number,
        cast({{ row[11] }} as {{ dbt.type_int() }}) as delay_days,
        cast({{ row[12] }} as {{ dbt.type_string() }}) as relative_to,
        cast({{ row[13] }} as {{ dbt.type_string() }}) as channel,
        cast({{ row[14] }} as {{ dbt.type_string() }}) as template
    {%- if row[0] == 'null' %}
    where 1 = 0
    {%- endif %}
    {{ 'union all' if not loop.last }}
  {%- endfor %}
{%- endmacro %}

{#-
  The audience of every sequence: the rows of its segment model in one shape (sequence, customer,
  contact, entry reason, dates) with the personalization fields the definition lists, plus first_name
  and company_name, as one JSON object. `segments` are ref()s of every segment model; a segment model
  with a sequence definition that is not among them is an error naming the file to add it to.
-#}
{% macro union_segments(segments) -%}
  {%- set definitions = sequence_definitions() -%}
  {%- set by_model = {} -%}
  {%- for definition in definitions -%}
    {%- do by_model.update({definition.segment_model: definition}) -%}
  {%- endfor -%}
  {%- set read = segments | map(attribute='identifier') | list -%}
  {%- for definition in definitions if definition.segment_model not in read -%}
    {{ exceptions.raise_compiler_error(
        "Sequence '" ~ definition.name ~ "' (" ~ definition.file ~ ") is not read by " ~ this.identifier
        ~ ". Fix: add ref('" ~ definition.segment_model ~ "') to the list in " ~ model.original_file_path) }}
  {%- endfor -%}
  {%- for segment in segments %}
    {%- set fields = by_model.get(segment.identifier, {}).get('personalization', []) %}
    {%- set pairs = [('first_name', 'customers.first_name'), ('company_name', 'customers.company_name')] %}
    {%- for field in fields %}{% do pairs.append((field, 'segment.' ~ field)) %}{% endfor %}
    select
        cast(segment.sequence as {{ dbt.type_string() }}) as sequence,
        cast(segment.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(segment.contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(segment.entry_reason as {{ dbt.type_string() }}) as entry_reason,
        cast(segment.entered_on as date) as entered_on,
        cast(segment.anchor_date as date) as anchor_date,
        {{ json_object_text(pairs) }} as personalization_json
    from {{ segment }} as segment
    left join {{ ref('customers') }} as customers
        on segment.customer_id = customers.customer_id
    {{ 'union all' if not loop.last }}
  {%- endfor %}
{%- endmacro %}

{#- The day a step is due: days after the enrollment, or days from the segment's anchor date. -#}
{% macro step_due_on(steps, enrolled_on, anchor_date) -%}
  cast(
    case
      when {{ steps }}.relative_to = 'anchor' then {{ dbt.dateadd('day', steps ~ '.delay_days', anchor_date) }}
      else {{ dbt.dateadd('day', steps ~ '.delay_days', enrolled_on) }}
    end
    as date)
{%- endmacro %}

{#-
  The messages of one decision ('due' or 'held_out') of int_sequence_decisions, with the columns the Python
  planner reads (lifecycle.planning.planner.CONTRACT_COLUMNS): due_messages and held_out_messages.
-#}
{% macro planner_messages(decision) -%}
select
    message_key,
    enrollment_id,
    customer_id,
    contact_id,
    sequence,
    step,
    step_number,
    channel,
    template,
    recipient,
    time_zone,
    send_after,
    send_before,
    priority,
    entry_reason,
    personalization_json,
    enrolled_on,
    as_of_date
from {{ ref('int_sequence_decisions') }}
where decision = {{ sql_text(decision) }}
{%- endmacro %}
