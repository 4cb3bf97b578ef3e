-- Enrollment state: one row per enrollment (a customer's run through a sequence) that the ledger holds
-- as of the date: who entered when, which steps were planned, sent or held out, and whether it is still
-- open or exited, and why. The status of a customer's current (latest) enrollment, first match wins:
--   goal_reached  a goal event at or after the enrollment day (the customer converted: nothing more)
--   completed     every step is in the ledger
--   left_segment  the customer no longer matches the sequence's segment model
--   unsubscribed  the contact's email is opted out (unsubscribe, spam report, consent withdrawn)
--   lapsed        every remaining step was due before the grace period (the run did not happen)
--   open          a step is still to come (next_step, due on next_step_due_on)
-- An earlier enrollment is goal_reached, completed or ended (the next one started after it).
-- A closed enrollment (goal_reached, completed, lapsed, ended) may be followed by a new one from
-- reentry_on (the sequence's reentry rule; null: never).

{%- set grace_start = as_of_offset(-var('sequence_grace_days')) %}

with

steps as (

    select * from {{ ref('sequence_steps') }}

),

sequences as (

    select distinct sequence, segment_model, goal, step_count, reentry_after_days from steps

),

ledger as (

    select * from {{ ref('stg_ops__messages') }}
    where as_of_date <= {{ as_of_date() }}

),

audience as (

    select * from {{ ref('int_sequence_audience') }}

),

recipients as (

    select customer_id, email_opted_out from {{ ref('int_messaging_recipients') }}

),

goal_events as (

    select * from {{ ref('int_sequence_goal_events') }}

),

enrollments as (

    select
        enrollment_id,
        sequence,
        customer_id,
        max(contact_id) as contact_id,
        min(enrolled_on) as enrolled_on,
        min(as_of_date) as first_planned_on,
        max(as_of_date) as last_planned_on,
        count(*) as steps_planned,
        sum(case when state = 'sent' then 1 else 0 end) as steps_sent,
        sum(case when state = 'held_out' then 1 else 0 end) as steps_held_out,
        sum(case when state in ('failed', 'skipped') then 1 else 0 end) as steps_not_delivered
    from ledger
    group by enrollment_id, sequence, customer_id

),

ordered as (

    select
        enrollments.*,
        lead(enrollments.enrolled_on) over (
            partition by enrollments.customer_id, enrollments.sequence
            order by enrollments.enrolled_on
        ) as next_enrolled_on
    from enrollments

),

-- the first goal event within each enrollment's life (until the next enrollment started)
goals as (

    select
        ordered.enrollment_id,
        goal_events.reached_at,
        goal_events.detail,
        row_number() over (
            partition by ordered.enrollment_id
            order by goal_events.reached_at, goal_events.detail
        ) as goal_rank
    from ordered
    inner join sequences
        on ordered.sequence = sequences.sequence
    inner join goal_events
        on ordered.customer_id = goal_events.customer_id
        and sequences.goal = goal_events.goal
    where (goal_events.counts_before_entry
           or goal_events.reached_at >= cast(ordered.enrolled_on as {{ dbt.type_timestamp() }}))
      and (ordered.next_enrolled_on is null
           or goal_events.reached_at < cast(ordered.next_enrolled_on as {{ dbt.type_timestamp() }}))

),

-- the current enrollments' steps not in the ledger and not past the grace period, earliest first
remaining as (

    select
        ordered.enrollment_id,
        steps.step,
        {{ step_due_on('steps', 'ordered.enrolled_on', 'audience.anchor_date') }} as due_on,
        row_number() over (partition by ordered.enrollment_id order by steps.step_number) as step_rank
    from ordered
    inner join steps
        on ordered.sequence = steps.sequence
    left join audience
        on ordered.customer_id = audience.customer_id
        and ordered.sequence = audience.sequence
    left join ledger
        on ordered.enrollment_id = ledger.enrollment_id
        and steps.step = ledger.step
    where ordered.next_enrolled_on is null
      and ledger.message_key is null
      and {{ step_due_on('steps', 'ordered.enrolled_on', 'audience.anchor_date') }} >= {{ grace_start }}

),

statused as (

    select
        ordered.*,
        ordered.next_enrolled_on is null as is_current,
        sequences.segment_model,
        sequences.step_count,
        sequences.reentry_after_days,
        goals.reached_at as goal_reached_at,
        goals.detail as goal_detail,
        remaining.step as next_step,
        remaining.due_on as next_step_due_on,
        case
            when goals.reached_at is not null then 'goal_reached'
            when ordered.steps_planned >= sequences.step_count then 'completed'
            when ordered.next_enrolled_on is not null then 'ended'
            when audience.customer_id is null then 'left_segment'
            when recipients.email_opted_out then 'unsubscribed'
            when remaining.step is null then 'lapsed'
            else 'open'
        end as status
    from ordered
    inner join sequences
        on ordered.sequence = sequences.sequence
    left join goals
        on ordered.enrollment_id = goals.enrollment_id
        and goals.goal_rank = 1
    left join remaining
        on ordered.enrollment_id = remaining.enrollment_id
        and remaining.step_rank = 1
    left join audience
        on ordered.customer_id = audience.customer_id
        and ordered.sequence = audience.sequence
    left join recipients
        on ordered.customer_id = recipients.customer_id

),

final as (

    select
        -- ids
        enrollment_id,
        customer_id,
        contact_id,
        sequence,

        -- progress
        enrolled_on,
        first_planned_on,
        last_planned_on,
        cast(step_count as {{ dbt.type_int() }}) as steps_total,
        cast(steps_planned as {{ dbt.type_int() }}) as steps_planned,
        cast(steps_sent as {{ dbt.type_int() }}) as steps_sent,
        cast(steps_held_out as {{ dbt.type_int() }}) as steps_held_out,
        cast(steps_not_delivered as {{ dbt.type_int() }}) as steps_not_delivered,
        steps_held_out > 0 as is_held_out,
        is_current,

        -- status
        status,
        case status
            when 'goal_reached' then 'reached the goal: ' || goal_detail
            when 'completed' then 'completed: every step is in the ledger'
            when 'ended' then 'ended: a new enrollment started on ' || cast(next_enrolled_on as {{ dbt.type_string() }})
            when 'left_segment' then 'left the segment: no longer matches ' || segment_model
            when 'unsubscribed' then 'unsubscribed: the contact opted out of email'
            when 'lapsed' then 'lapsed: the remaining steps were due before '
                || cast({{ grace_start }} as {{ dbt.type_string() }})
                || ' (more than {{ var("sequence_grace_days") }} days ago)'
        end as exit_reason,
        goal_reached_at,
        case when status in ('open', 'unsubscribed') then next_step end as next_step,
        case when status in ('open', 'unsubscribed') then next_step_due_on end as next_step_due_on,
        case
            when status in ('goal_reached', 'completed', 'lapsed', 'ended') and reentry_after_days is not null
                then cast({{ dbt.dateadd('day', 'reentry_after_days', 'enrolled_on') }} as date)
        end as reentry_on,
        {{ as_of_date() }} as as_of_date

    from statused

)

select * from final
