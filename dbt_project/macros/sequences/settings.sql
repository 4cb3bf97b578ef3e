{#-
  The global defaults every sequence obeys, as dbt variables (dbt_project.yml, overridable with
  `--vars`; documented in docs/sequences.md). Checked with the definitions, before anything is built.
-#}

{#- The bad-moment rules an offer obeys (var bad_moment_rules lists the ones switched on). -#}
{% macro bad_moment_rule_names() -%}
  {{ return(['open_high_priority_ticket', 'nps_detractor', 'failed_payment']) }}
{%- endmacro %}

{#- A channel's local send window: var `<channel>_window`, ["HH:MM", "HH:MM"]. -#}
{% macro channel_window(channel) -%}
  {{ return(var(channel ~ '_window')) }}
{%- endmacro %}

{#- "HH:MM" -> minutes after midnight, or none when malformed. -#}
{% macro clock_minutes(text) -%}
  {%- set match = modules.re.match('^([01][0-9]|2[0-3]):([0-5][0-9])$', text | string) -%}
  {{ return((match.group(1) | int) * 60 + (match.group(2) | int) if match else none) }}
{%- endmacro %}

{% macro sequence_settings_problems() -%}
  {%- set problems = [] -%}
  {%- for name in ['frequency_cap_per_day', 'frequency_cap_per_week', 'sequence_grace_days'] -%}
    {%- set value = var(name) -%}
    {%- if not sequence_is_whole_number(value) or value < (0 if name == 'sequence_grace_days' else 1) -%}
      {%- do problems.append("dbt_project.yml, var " ~ name ~ ": " ~ (value | tojson) ~ " is not a whole number of " ~ ('0' if name == 'sequence_grace_days' else '1') ~ " or more. Fix: set it in dbt_project.yml or with --vars") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not problems and var('frequency_cap_per_week') < var('frequency_cap_per_day') -%}
    {%- do problems.append("dbt_project.yml, var frequency_cap_per_week: " ~ var('frequency_cap_per_week') ~ " is below frequency_cap_per_day " ~ var('frequency_cap_per_day') ~ ". Fix: allow at least as many messages a week as a day") -%}
  {%- endif -%}
  {%- for channel in ['email', 'sms'] -%}
    {%- set window = channel_window(channel) -%}
    {%- set valid = window is iterable and window is not string and window | length == 2 -%}
    {%- if not valid or clock_minutes(window[0]) is none or clock_minutes(window[1]) is none
          or clock_minutes(window[0]) >= clock_minutes(window[1]) -%}
      {%- do problems.append("dbt_project.yml, var " ~ channel ~ "_window: " ~ (window | tojson) ~ " is not a local window [\"HH:MM\", \"HH:MM\"] that starts before it ends. Fix: e.g. [\"09:00\", \"20:00\"]") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set salt = var('holdout_salt') -%}
  {%- if not salt or salt is not string -%}
    {%- do problems.append("dbt_project.yml, var holdout_salt: " ~ (salt | tojson) ~ " is not a text. Fix: set a fixed text; changing it reshuffles every holdout group") -%}
  {%- endif -%}
  {%- set share = var('default_holdout_share') -%}
  {%- if share is not number or share is boolean or share < 0 or share >= 1 -%}
    {%- do problems.append("dbt_project.yml, var default_holdout_share: " ~ (share | tojson) ~ " is outside [0, 1). Fix: e.g. 0.1") -%}
  {%- endif -%}
  {%- set rules = var('bad_moment_rules') -%}
  {%- if rules is string or rules is not iterable -%}
    {%- do problems.append("dbt_project.yml, var bad_moment_rules: not a list. Fix: list some of " ~ bad_moment_rule_names() | join(', ') ~ " (an empty list switches them off)") -%}
  {%- else -%}
    {%- for rule in rules if rule not in bad_moment_rule_names() -%}
      {%- do problems.append("dbt_project.yml, var bad_moment_rules: '" ~ rule ~ "' is unknown. Fix: use " ~ bad_moment_rule_names() | join(', ')) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set zone = var('fallback_time_zone') -%}
  {%- if not zone or zone is not string or not modules.re.match('^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$', zone) -%}
    {%- do problems.append("dbt_project.yml, var fallback_time_zone: " ~ (zone | tojson) ~ " is not an IANA time zone name. Fix: e.g. UTC or Europe/London") -%}
  {%- endif -%}
  {{ return(problems) }}
{%- endmacro %}
