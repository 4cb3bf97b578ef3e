-- One row per step of every drip sequence, as defined in `config.meta.sequence` beside the segment
-- models (models/segments/*.yml). Built from the definitions at compile time, after they were checked
-- (macros/sequences/definitions.sql): this table is what the messaging models and the preview read.

{{ sequence_steps_sql() }}
