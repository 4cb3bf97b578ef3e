-- One row per customer and sequence to consider today: everyone in a sequence's segment (an enrollment
-- whose customer left the segment stops: sequence_enrollments says so). Says which step would go today
-- (step, due_on) or, in status_code and status_reason, why nothing of this sequence is due for them (the
-- "why not" of the sequence):
--   exited_goal     the goal was reached (by the current enrollment, or before a new one could start)
--   completed       every step went out; a new enrollment waits for the reentry rule
--   reentry_wait    an earlier enrollment ended; a new one waits for the reentry rule
--   outside_window  the remaining steps were due before the grace period (the run did not happen)
--   not_due_yet     the next step is due on a later day
-- A new enrollment starts on its entry day (entered_on) when that is within the grace period, else
-- today; its first step is the first one not past the grace period. At most one step per enrollment a
-- day: the earliest one due.

{%- set grace_start = as_of_offset(-var('sequence_grace_days')) %}

with

steps as (

    select * from {{ ref('sequence_steps') }}

),

sequences as (

    select distinct sequence, kind, priority, holdout_share, goal, reentry_after_days from steps

),

audience as (

    select * from {{ ref('int_sequence_audience') }}

),

current_enrollments as (

    select * from {{ ref('sequence_enrollments') }}
    where is_current

),

goal_events as (

    select * from {{ ref('int_sequence_goal_events') }}

),

subjects as (

    select
        audience.sequence,
        audience.customer_id,
        audience.contact_id,
        audience.entry_reason,
        audience.anchor_date,
        audience.personalization_json,
        current_enrollments.enrolled_on as current_enrolled_on,
        current_enrollments.status as current_status,
        current_enrollments.exit_reason as current_exit_reason,
        current_enrollments.next_step as current_next_step,
        current_enrollments.next_step_due_on as current_next_step_due_on,
        current_enrollments.reentry_on,
        case
            when current_enrollments.status in ('open', 'unsubscribed') then 'continue'
            when current_enrollments.enrollment_id is null or current_enrollments.reentry_on <= {{ as_of_date() }}
                then 'enter'
            else 'closed'
        end as action,
        case
            when audience.entered_on >= {{ grace_start }} then audience.entered_on
            else {{ as_of_date() }}
        end as entry_on
    from audience
    left join current_enrollments
        on audience.customer_id = current_enrollments.customer_id
        and audience.sequence = current_enrollments.sequence

),

-- a new enrollment's first step: the first one not past the grace period
entry_steps as (

    select
        subjects.sequence,
        subjects.customer_id,
        steps.step,
        {{ step_due_on('steps', 'subjects.entry_on', 'subjects.anchor_date') }} as due_on,
        row_number() over (
            partition by subjects.sequence, subjects.customer_id order by steps.step_number
        ) as step_rank
    from subjects
    inner join steps
        on subjects.sequence = steps.sequence
    where subjects.action = 'enter'
      and {{ step_due_on('steps', 'subjects.entry_on', 'subjects.anchor_date') }} >= {{ grace_start }}

),

-- a goal already reached before a new enrollment could start
entry_goals as (

    select
        subjects.sequence,
        subjects.customer_id,
        goal_events.detail,
        row_number() over (
            partition by subjects.sequence, subjects.customer_id
            order by goal_events.reached_at, goal_events.detail
        ) as goal_rank
    from subjects
    inner join sequences
        on subjects.sequence = sequences.sequence
    inner join goal_events
        on subjects.customer_id = goal_events.customer_id
        and sequences.goal = goal_events.goal
    where subjects.action = 'enter'
      and (goal_events.counts_before_entry
           or goal_events.reached_at >= cast(subjects.entry_on as {{ dbt.type_timestamp() }}))

),

resolved as (

    select
        subjects.*,
        sequences.kind,
        sequences.priority,
        sequences.holdout_share,
        sequences.reentry_after_days,
        case when subjects.action = 'enter' then subjects.entry_on else subjects.current_enrolled_on end
            as enrolled_on,
        case subjects.action
            when 'enter' then entry_steps.step
            when 'continue' then subjects.current_next_step
        end as step,
        case subjects.action
            when 'enter' then entry_steps.due_on
            when 'continue' then subjects.current_next_step_due_on
        end as due_on,
        entry_goals.detail as entry_goal_detail,
        case
            when sequences.reentry_after_days is null then '; this sequence is sent once per customer'
            else '; may re-enter on ' || coalesce(cast(subjects.reentry_on as {{ dbt.type_string() }}), '?')
        end as reentry_text
    from subjects
    inner join sequences
        on subjects.sequence = sequences.sequence
    left join entry_steps
        on subjects.sequence = entry_steps.sequence
        and subjects.customer_id = entry_steps.customer_id
        and entry_steps.step_rank = 1
    left join entry_goals
        on subjects.sequence = entry_goals.sequence
        and subjects.customer_id = entry_goals.customer_id
        and entry_goals.goal_rank = 1

),

coded as (

    select
        resolved.*,
        case
            when action = 'closed' then
                case current_status
                    when 'goal_reached' then 'exited_goal'
                    when 'completed' then 'completed'
                    when 'lapsed' then 'outside_window'
                    else 'reentry_wait'
                end
            when entry_goal_detail is not null then 'exited_goal'
            when step is null then 'outside_window'
            when due_on > {{ as_of_date() }} then 'not_due_yet'
        end as status_code
    from resolved

),

final as (

    select
        -- ids
        coded.customer_id,
        coded.contact_id,
        coded.sequence,
        coded.sequence || ':' || coded.customer_id || ':' || cast(coded.enrolled_on as {{ dbt.type_string() }})
            as enrollment_id,

        -- the step
        coded.step,
        steps.step_number,
        steps.channel as step_channel,
        steps.template,
        coded.due_on,
        coded.enrolled_on,
        coded.action = 'enter' as is_new_enrollment,

        -- the sequence
        coded.kind,
        coded.priority,
        coded.holdout_share,

        -- the message
        coded.entry_reason,
        coded.personalization_json,

        -- why not
        coded.status_code,
        case coded.status_code
            when 'exited_goal' then
                case
                    when coded.action = 'closed' then coalesce(coded.current_exit_reason, 'reached the goal')
                        || coded.reentry_text
                    else 'already reached the goal: ' || coded.entry_goal_detail
                end
            when 'completed' then 'received every step of the enrollment of '
                || cast(coded.current_enrolled_on as {{ dbt.type_string() }}) || coded.reentry_text
            when 'reentry_wait' then 'the enrollment of ' || cast(coded.current_enrolled_on as {{ dbt.type_string() }})
                || ' ended' || coded.reentry_text
            when 'outside_window' then 'missed: the remaining steps were due before '
                || cast({{ grace_start }} as {{ dbt.type_string() }})
                || ' (grace period {{ var("sequence_grace_days") }} days)'
                || case when coded.action = 'closed' then coded.reentry_text else '' end
            when 'not_due_yet' then 'next step ' || coded.step || ' is due on '
                || cast(coded.due_on as {{ dbt.type_string() }})
        end as status_reason

    from coded
    left join steps
        on coded.sequence = steps.sequence
        and coded.step = steps.step

)

select * from final
