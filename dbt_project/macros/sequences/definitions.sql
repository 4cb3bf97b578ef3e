{#-
  The drip sequences, as marketers define them: `config.meta.sequence` in the YAML beside each segment
  model under models/segments/ (docs/sequences.md lists every key). sequence_definitions() reads and
  checks them all at compile time; the project's on-run-start hook calls it, so a bad definition stops
  `dbt build` before any model is built, with one message per problem naming the YAML file, the
  sequence, the step and the fix.
-#}

{#- Channels a step may use; sms_or_email sends SMS to a contact who can get one, else email. -#}
{% macro sequence_channels() -%}
  {{ return(['email', 'sms', 'sms_or_email']) }}
{%- endmacro %}

{#- Goals that end a sequence (int_sequence_goal_events implements each). -#}
{% macro sequence_goals() -%}
  {{ return({
      'onboarding_complete': 'reached the onboarding_complete usage milestone',
      'addon_purchased': 'bought an add-on',
      'switched_to_annual_or_higher_tier': 'switched to annual billing or a higher tier',
      'renewed_or_cancelled': 'renewed (or changed plan, which starts a new period) or cancelled',
  }) }}
{%- endmacro %}

{#- Kinds of sequence: offers obey the bad-moment rules; onboarding and service messages do not. -#}
{% macro sequence_kinds() -%}
  {{ return(['offer', 'onboarding', 'service']) }}
{%- endmacro %}

{#- Columns every segment model's contract must declare (personalization fields come on top). -#}
{% macro segment_contract_columns() -%}
  {{ return(['customer_id', 'contact_id', 'sequence', 'entry_reason', 'entered_on', 'anchor_date']) }}
{%- endmacro %}

{#- Added to every message's personalization_json by the messaging models, so not listed per sequence. -#}
{% macro common_personalization_fields() -%}
  {{ return(['first_name', 'company_name']) }}
{%- endmacro %}

{#- The YAML file that defines a model's sequence (its patch file), for error messages. -#}
{% macro sequence_definition_file(node) -%}
  {%- set patch = node.patch_path or '' -%}
  {{ return(patch.split('://')[-1] if patch else node.original_file_path) }}
{%- endmacro %}

{#- Is `value` a whole number (and not a boolean)? -#}
{% macro sequence_is_whole_number(value) -%}
  {{ return(value is number and value is not boolean and value == (value | int)) }}
{%- endmacro %}

{#- Problems with one sequence definition (a list of messages). -#}
{% macro sequence_definition_problems(node, definition) -%}
  {%- set file = sequence_definition_file(node) -%}
  {%- set problems = [] -%}
  {%- set name = definition.get('name') if definition is mapping else none -%}
  {%- set where = file ~ ", sequence '" ~ (name or '?') ~ "'" -%}
  {%- if definition is not mapping -%}
    {%- do problems.append(file ~ ": config.meta.sequence is not a mapping. Fix: write the keys name, kind, priority, goal and steps under `sequence:` (docs/sequences.md)") -%}
    {{ return(problems) }}
  {%- endif -%}

  {%- set allowed = ['name', 'description', 'kind', 'priority', 'holdout_share', 'goal', 'reentry', 'personalization', 'steps'] -%}
  {%- for key in definition.keys() if key not in allowed -%}
    {%- do problems.append(where ~ ": unknown key '" ~ key ~ "'. Fix: use only " ~ allowed | join(', ')) -%}
  {%- endfor -%}

  {%- if not name or name is not string or not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
    {%- do problems.append(where ~ ": name " ~ (name | tojson) ~ " is not a lower-case identifier. Fix: set `name:` to e.g. welcome (letters, digits, underscores)") -%}
  {%- endif -%}

  {%- if definition.get('kind') not in sequence_kinds() -%}
    {%- do problems.append(where ~ ": kind " ~ (definition.get('kind') | tojson) ~ " is unknown. Fix: use one of " ~ sequence_kinds() | join(', ') ~ " (offers obey the bad-moment rules)") -%}
  {%- endif -%}

  {%- set priority = definition.get('priority') -%}
  {%- if not sequence_is_whole_number(priority) or priority < 1 -%}
    {%- do problems.append(where ~ ": priority " ~ (priority | tojson) ~ " is not a whole number of 1 or more. Fix: set `priority:` (1 goes first when the frequency cap allows only some messages)") -%}
  {%- endif -%}

  {%- set share = definition.get('holdout_share', var('default_holdout_share')) -%}
  {%- if share is not number or share is boolean or share < 0 or share >= 1 -%}
    {%- do problems.append(where ~ ": holdout_share " ~ (share | tojson) ~ " is outside [0, 1). Fix: use a share such as 0.1 (10% held out), or 0 for a service message nobody may miss") -%}
  {%- endif -%}

  {%- if definition.get('goal') not in sequence_goals() -%}
    {%- do problems.append(where ~ ": goal " ~ (definition.get('goal') | tojson) ~ " is unknown. Fix: use one of " ~ sequence_goals().keys() | list | join(', ')) -%}
  {%- endif -%}

  {%- set reentry = definition.get('reentry', 'never') -%}
  {%- if reentry != 'never' and not (reentry is mapping and reentry.keys() | list == ['after_days'] and sequence_is_whole_number(reentry.after_days) and reentry.after_days >= 1) -%}
    {%- do problems.append(where ~ ": reentry " ~ (reentry | tojson) ~ " is not understood. Fix: write `reentry: never` or `reentry: {after_days: 90}` (days after the previous enrollment started, 1 or more)") -%}
  {%- endif -%}

  {#- the segment model's contract -#}
  {%- set columns = node.columns.keys() | map('lower') | list -%}
  {%- if not (node.config.get('contract') or {}).get('enforced') -%}
    {%- do problems.append(where ~ ": the segment model " ~ node.name ~ " has no enforced contract. Fix: add `contract: {enforced: true}` under its `config:` and declare every column with its data_type") -%}
  {%- endif -%}
  {%- for column in segment_contract_columns() if column not in columns -%}
    {%- do problems.append(where ~ ": the segment model " ~ node.name ~ " does not declare the contract column '" ~ column ~ "'. Fix: add it under `columns:` with its data_type (docs/sequences.md lists the contract)") -%}
  {%- endfor -%}
  {%- set personalization = definition.get('personalization', []) -%}
  {%- if personalization is string or personalization is not iterable -%}
    {%- do problems.append(where ~ ": personalization is not a list. Fix: list the segment columns the templates use, e.g. `personalization: [plan_name, is_trial]`") -%}
  {%- else -%}
    {%- for field in personalization -%}
      {%- if field in common_personalization_fields() -%}
        {%- do problems.append(where ~ ": personalization lists '" ~ field ~ "', which every message gets anyway. Fix: remove it from the list") -%}
      {%- elif field not in columns -%}
        {%- do problems.append(where ~ ": personalization field '" ~ field ~ "' is not a column of the segment model " ~ node.name ~ ". Fix: add the column to the model and its contract, or remove it from the list") -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}

  {#- steps -#}
  {%- set steps = definition.get('steps') -%}
  {%- if steps is string or steps is mapping or steps is not iterable or steps | length == 0 -%}
    {%- do problems.append(where ~ ": no steps. Fix: list the steps under `steps:`, each with name, delay_days, channel and template") -%}
    {{ return(problems) }}
  {%- endif -%}
  {%- set step_keys = ['name', 'description', 'delay_days', 'relative_to', 'channel', 'template'] -%}
  {%- set seen = [] -%}
  {%- set previous = {'offset': none} -%}
  {%- for step in steps -%}
    {%- set step_name = step.get('name') if step is mapping else none -%}
    {%- set at = where ~ ", step '" ~ (step_name or ('#' ~ loop.index)) ~ "'" -%}
    {%- if step is not mapping -%}
      {%- do problems.append(at ~ ": not a mapping. Fix: write each step as {name: ..., delay_days: ..., channel: ..., template: ...}") -%}
    {%- else -%}
      {%- for key in step.keys() if key not in step_keys -%}
        {%- do problems.append(at ~ ": unknown key '" ~ key ~ "'. Fix: use only " ~ step_keys | join(', ')) -%}
      {%- endfor -%}
      {%- if not step_name or step_name is not string or not modules.re.match('^[a-z0-9][a-z0-9_]*$', step_name) -%}
        {%- do problems.append(at ~ ": name " ~ (step_name | tojson) ~ " is not a lower-case identifier. Fix: name the step e.g. day_2") -%}
      {%- elif step_name in seen -%}
        {%- do problems.append(at ~ ": duplicate step name. Fix: give each step of the sequence its own name (message keys include it)") -%}
      {%- else -%}
        {%- do seen.append(step_name) -%}
      {%- endif -%}
      {%- set relative_to = step.get('relative_to', 'entry') -%}
      {%- set delay = step.get('delay_days') -%}
      {%- if relative_to not in ['entry', 'anchor'] -%}
        {%- do problems.append(at ~ ": relative_to " ~ (relative_to | tojson) ~ " is unknown. Fix: use entry (days after the customer entered, the default) or anchor (days from the segment's anchor_date, e.g. the renewal date)") -%}
      {%- elif not sequence_is_whole_number(delay) -%}
        {%- do problems.append(at ~ ": delay_days " ~ (delay | tojson) ~ " is not a whole number of days. Fix: set e.g. `delay_days: 2`") -%}
      {%- elif relative_to == 'entry' and delay < 0 -%}
        {%- do problems.append(at ~ ": delay_days is " ~ delay ~ ", but a step cannot go out before the customer enters. Fix: use 0 or more days after entry, or `relative_to: anchor` for a step before a date such as the renewal date") -%}
      {%- else -%}
        {%- if previous.offset is not none and relative_to == previous.relative_to and delay <= previous.offset -%}
          {%- do problems.append(at ~ ": delay_days " ~ delay ~ " is not after the previous step's " ~ previous.offset ~ ". Fix: list the steps in the order they go out, each on a later day") -%}
        {%- elif previous.offset is not none and relative_to != previous.relative_to -%}
          {%- do problems.append(at ~ ": mixes relative_to " ~ previous.relative_to ~ " and " ~ relative_to ~ " in one sequence. Fix: count every step from the entry, or every step from the anchor date") -%}
        {%- endif -%}
        {%- do previous.update({'offset': delay, 'relative_to': relative_to}) -%}
      {%- endif -%}
      {%- if step.get('channel') not in sequence_channels() -%}
        {%- do problems.append(at ~ ": channel " ~ (step.get('channel') | tojson) ~ " is unknown. Fix: use one of " ~ sequence_channels() | join(', ')) -%}
      {%- endif -%}
      {%- set template = step.get('template') -%}
      {%- if not template or template is not string -%}
        {%- do problems.append(at ~ ": no template. Fix: set `template:` to the template's name, e.g. " ~ (name or 'sequence') ~ "_" ~ (step_name or 'step') ~ " (include/templates/email/<template>/ and include/templates/sms/<template>.txt.j2)") -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(problems) }}
{%- endmacro %}

{#-
  Every sequence definition, checked and normalized (defaults filled in), ordered by priority; raises a
  compiler error listing every problem. Empty at parse time (the graph is only known when executing).
-#}
{% macro sequence_definitions() -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set problems = [] -%}
  {%- set definitions = [] -%}
  {%- set names = {} -%}
  {%- set priorities = {} -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name
        and node.original_file_path.startswith('models/segments/') -%}
    {%- set definition = (node.config.get('meta') or {}).get('sequence') -%}
    {%- if definition is none -%}
      {%- do problems.append(sequence_definition_file(node) ~ ": the segment model " ~ node.name ~ " defines no sequence. Fix: add `sequence:` under `config: meta:` in its YAML (docs/sequences.md), or move the model out of models/segments/") -%}
    {%- else -%}
      {%- set found = sequence_definition_problems(node, definition) -%}
      {%- do problems.extend(found) -%}
      {%- if not found -%}
        {%- set file = sequence_definition_file(node) -%}
        {%- if definition.name in names -%}
          {%- do problems.append(file ~ ", sequence '" ~ definition.name ~ "': also defined in " ~ names[definition.name] ~ ". Fix: give each sequence one segment model") -%}
        {%- endif -%}
        {%- if definition.priority in priorities -%}
          {%- do problems.append(file ~ ", sequence '" ~ definition.name ~ "': priority " ~ definition.priority ~ " is also the priority of '" ~ priorities[definition.priority] ~ "'. Fix: give each sequence its own priority, so the order under the frequency cap is stated") -%}
        {%- endif -%}
        {%- do names.update({definition.name: file}) -%}
        {%- do priorities.update({definition.priority: definition.name}) -%}
        {%- set reentry = definition.get('reentry', 'never') -%}
        {%- set steps = [] -%}
        {%- for step in definition.steps -%}
          {%- do steps.append({
              'name': step.name,
              'step_number': loop.index,
              'delay_days': step.delay_days | int,
              'relative_to': step.get('relative_to', 'entry'),
              'channel': step.channel,
              'template': step.template,
          }) -%}
        {%- endfor -%}
        {%- do definitions.append({
            'name': definition.name,
            'segment_model': node.name,
            'file': file,
            'kind': definition.kind,
            'priority': definition.priority | int,
            'holdout_share': definition.get('holdout_share', var('default_holdout_share')) | float,
            'goal': definition.goal,
            'reentry_after_days': none if reentry == 'never' else reentry.after_days | int,
            'personalization': definition.get('personalization', []) | list,
            'steps': steps,
        }) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do problems.extend(sequence_settings_problems()) -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error(
        problems | length ~ " problem(s) in the sequence definitions (config.meta.sequence beside the segment models under models/segments/; every key is described in docs/sequences.md):\n- "
        ~ problems | join("\n- ")) }}
  {%- endif -%}
  {{ return(definitions | sort(attribute='priority')) }}
{%- endmacro %}

{#- The on-run-start hook: checks every definition before anything is built (renders no SQL). -#}
{% macro validate_sequence_definitions() -%}
  {%- do sequence_definitions() -%}
{%- endmacro %}
