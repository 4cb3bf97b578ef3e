{#-
  Fails the calling staging model, before anything reads the data, when a landing table does not match
  the data contract declared in models/staging/__sources.yml (column names and `data_type`, which mirror
  docs/data-contract.md). One message lists every missing column and every wrong type, and says what to fix.
  Extra columns are allowed and ignored.
-#}

{#- The family of a physical type name, so that e.g. TIMESTAMP_NS satisfies `timestamp`. -#}
{% macro landing_type_family(type_name) -%}
  {%- set families = {
      'varchar': ['VARCHAR', 'TEXT', 'STRING', 'CHAR', 'BPCHAR', 'CHARACTER VARYING', 'CHARACTER'],
      'timestamp': ['TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP_US', 'DATETIME',
                    'TIMESTAMP WITHOUT TIME ZONE'],
      'timestamptz': ['TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ'],
      'date': ['DATE'],
      'integer': ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'INT',
                  'INT2', 'INT4', 'INT8'],
      'double': ['DOUBLE', 'FLOAT', 'REAL', 'DOUBLE PRECISION', 'DECIMAL', 'NUMERIC', 'FLOAT4', 'FLOAT8'],
      'boolean': ['BOOLEAN', 'BOOL'],
      'null': ['NULL', '"NULL"'],
  } -%}
  {%- set base = (type_name | upper | trim).split('(')[0] | trim -%}
  {%- for family, names in families.items() -%}
    {%- if base in names -%}{{ return(family) }}{%- endif -%}
  {%- endfor -%}
  {{ return(base | lower) }}
{%- endmacro %}

{#- Does a column of physical family `actual` satisfy contract type `expected`? -#}
{% macro landing_type_accepts(expected, actual) -%}
  {%- set want = landing_type_family(expected) -%}
  {%- if actual == want or actual == 'null' -%}
    {{ return(true) }}
  {%- elif want == 'double' and actual == 'integer' -%}
    {{ return(true) }}
  {%- else -%}
    {{ return(false) }}
  {%- endif -%}
{%- endmacro %}

{% macro check_landing_contract(source_name, table_name) -%}
  {%- if execute -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                   | selectattr('name', 'equalto', table_name) | first -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set location = node.meta.get('landing_file', relation | string) -%}
    {%- set actual = {} -%}
    {%- for column in lifecycle.landing_columns(relation) -%}
      {%- do actual.update({column.name: column.type}) -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- set found_any = [] -%}
    {%- for name, column in node.columns.items() -%}
      {%- set expected = column.data_type -%}
      {%- if name | lower not in actual -%}
        {%- do problems.append("column `" ~ name ~ "` (" ~ expected ~ ") is missing") -%}
      {%- else -%}
        {%- do found_any.append(name) -%}
        {%- set family = landing_type_family(actual[name | lower]) -%}
        {%- if expected and not landing_type_accepts(expected, family) -%}
          {%- do problems.append("column `" ~ name ~ "` has type " ~ actual[name | lower] ~ ", expected " ~ expected) -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
      {%- set hint = "" if found_any else " No landing data was found (or it has none of the contract's columns): write it as <landing>/" ~ table_name ~ ".parquet or <landing>/" ~ table_name ~ "/*.parquet." -%}
      {{ exceptions.raise_compiler_error(
          "Landing table `" ~ table_name ~ "` (" ~ location ~ ") does not match the data contract in docs/data-contract.md: "
          ~ problems | join('; ') ~ "." ~ hint
          ~ " Fix the export that writes it; dbt stops here so no mart is built from it.") }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
