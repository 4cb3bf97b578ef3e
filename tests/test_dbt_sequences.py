"""The four drip sequences in dbt, built for real on the 1,000-customer generated business.

A chain of daily builds carries a real ledger: each `dbt build` (with every data test, so the
invariant tests run on each day) computes the day's due and held-out messages, the test records them in
the ledger as the planner does (``ledger.plan``), exports the ledger, and the next build sees them. The
chain skips days on purpose, as when the DAG did not run: a step missed then is still due within the
grace period. Alongside, bad sequence definitions and a segment model without a contract column must
stop dbt naming the file and the fix.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lifecycle.export.ops_export import export_ops_store
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.suppressions import suppress
from lifecycle.planning.planner import message_from_row
from tests.test_dbt_project import PROJECT, DbtRun, dbt_build, succeeded

pytestmark = pytest.mark.integration

# Three runs, two and three days apart: every step of every sequence falls due on a run or in a gap.
RUN_DATES = (date(2026, 11, 14), date(2026, 11, 17), date(2026, 11, 20))
GRACE_DAYS = 2  # var sequence_grace_days
SEQUENCES = {"welcome", "cross_sell", "annual_upsell", "renewal_reminder"}
# The interface with the Python planner (/tmp/interface.md): personalization_json keys per sequence.
PERSONALIZATION = {
    "welcome": {"plan_name", "is_trial", "trial_ends_on"},
    "cross_sell": {"recommended_addon_id", "recommended_addon_name", "addon_monthly_price", "need_signal"},
    "annual_upsell": {
        "plan_name",
        "monthly_price",
        "annual_price",
        "annual_savings",
        "milestone",
        "milestone_text",
    },
    "renewal_reminder": {
        "plan_name",
        "billing_period",
        "renewal_date",
        "renewal_amount",
        "days_until_renewal",
    },
}
NULLABLE = {"first_name", "trial_ends_on", "need_signal"}
INVARIANT_TESTS = (
    "assert_due_messages_exclude_the_holdout_group",
    "assert_due_messages_send_inside_the_channel_window",
    "assert_due_messages_never_reach_a_suppressed_or_opted_out_address",
)


@dataclass
class Day:
    as_of: date
    due: list[dict[str, Any]]
    held_out: list[dict[str, Any]]
    exclusions: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]
    steps: dict[tuple[str, str], dict[str, Any]]
    planned: int


def rows(warehouse: Path, model: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cursor = conn.execute(f"select * from main.{model}")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def run_chain(landing: Path, work: Path) -> dict[str, Any]:
    """The daily builds with the ledger in between; then the invariant tests run against a broken day."""
    engine = connect(f"sqlite:///{work / 'ops.sqlite'}")
    migrate(engine)
    warehouse = work / "warehouse.duckdb"
    days: list[Day] = []
    for index, as_of in enumerate(RUN_DATES):
        export_ops_store(engine, landing / "ops")
        # The unit tests do not depend on the data, and the staging and intermediate models' data tests are
        # test_dbt_project's: once is enough. The messaging models' tests run on every day.
        extra = (
            ()
            if index == 0
            else (
                "--exclude",
                "test_type:unit",
                "tag:staging,resource_type:test",
                "tag:intermediate,resource_type:test",
            )
        )
        succeeded(dbt_build(landing, warehouse, as_of, work / "chain", *extra))
        due, held_out = rows(warehouse, "due_messages"), rows(warehouse, "held_out_messages")
        planned_at = datetime.combine(as_of, time(6), UTC)
        planned = ledger.plan(engine, [message_from_row(row) for row in due], now=planned_at)
        ledger.plan(engine, [message_from_row(row) for row in held_out], now=planned_at, state="held_out")
        steps = {(s["sequence"], s["step"]): s for s in rows(warehouse, "sequence_steps")}
        days.append(
            Day(
                as_of,
                due,
                held_out,
                rows(warehouse, "message_exclusions"),
                rows(warehouse, "sequence_enrollments"),
                steps,
                planned,
            )
        )

    # Break the last day's invariants behind dbt's back: another holdout salt and email window than the
    # build used, and an unsubscribe of an address due that day. The invariant tests must catch each.
    email = next(row["recipient"] for row in days[-1].due if row["channel"] == "email")
    suppress(
        engine, "email", email, "unsubscribe", "one_click", at=datetime.combine(RUN_DATES[-1], time(12), UTC)
    )
    export_ops_store(engine, landing / "ops")
    engine.dispose()
    broken = dbt_build(
        landing,
        warehouse,
        RUN_DATES[-1],
        work / "broken",
        "--select",
        *INVARIANT_TESTS,
        "--vars",
        f'{{as_of_date: {RUN_DATES[-1].isoformat()}, holdout_salt: another-salt, email_window: ["10:00", "20:00"]}}',
    )
    return {"days": days, "broken": broken}


def project_copy(work: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    """A copy of the dbt project with text replacements in some files (each must apply)."""
    copy = work / "dbt_project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for name, replacements in edits.items():
        path = copy / name
        text = path.read_text()
        for old, new in replacements:
            assert old in text, f"{old!r} not in {name}"
            text = text.replace(old, new)
        path.write_text(text)
    return copy


BAD_DEFINITIONS = {
    "models/segments/segment_welcome.yml": [
        ("{name: day_2, delay_days: 2,", "{name: day_2, delay_days: -2,"),
        ("channel: sms_or_email, template: welcome_day_5", "channel: whatsapp, template: welcome_day_5"),
    ],
    "models/segments/segment_cross_sell.yml": [
        ("holdout_share: 0.1", "holdout_share: 1.5"),
        ("channel: email, template: cross_sell_day_4,", "channel: email,"),
    ],
    "models/segments/segment_renewal_reminder.yml": [
        ("{name: renewal_1d,", "{name: renewal_7d,"),
        ("goal: renewed_or_cancelled", "goal: renewed"),
    ],
}
# (file, step or None, what the message must say)
EXPECTED_PROBLEMS = [
    ("models/segments/segment_welcome.yml", "day_2", "delay_days is -2"),
    (
        "models/segments/segment_welcome.yml",
        "day_5",
        'channel "whatsapp" is unknown. Fix: use one of email, sms, sms_or_email',
    ),
    ("models/segments/segment_cross_sell.yml", None, "holdout_share 1.5 is outside [0, 1). Fix:"),
    ("models/segments/segment_cross_sell.yml", "day_4", "no template. Fix: set `template:`"),
    ("models/segments/segment_renewal_reminder.yml", "renewal_7d", "duplicate step name. Fix:"),
    ("models/segments/segment_renewal_reminder.yml", None, 'goal "renewed" is unknown. Fix: use one of'),
]
MISSING_CONTRACT_COLUMN = {
    "models/segments/segment_renewal_reminder.sql": [
        (
            "        'Since your ' || customers.plan_name || ' subscription renews on '\n"
            "            || cast(customers.renewal_date as {{ dbt.type_string() }}) as entry_reason,\n",
            "",
        )
    ]
}


def run_with_project(project: Path, landing: Path, work: Path, *args: str) -> DbtRun:
    """`dbt build` of a modified copy of the project (same environment as dbt_build)."""
    return dbt_build(
        landing,
        work / "warehouse.duckdb",
        RUN_DATES[-1],
        work,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        *args,
    )


@pytest.fixture(scope="module")
def results(small_business_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The chain, and the two broken projects built beside it."""
    work = tmp_path_factory.mktemp("dbt_sequences")
    landing = work / "landing"
    shutil.copytree(small_business_landing, landing)
    bad_definitions_work, contract_work = work / "bad_definitions", work / "contract"
    bad_definitions_work.mkdir()
    contract_work.mkdir()
    with ThreadPoolExecutor(max_workers=3) as pool:
        chain = pool.submit(run_chain, landing, work)
        bad_definitions = pool.submit(
            run_with_project,
            project_copy(bad_definitions_work, BAD_DEFINITIONS),
            landing,
            bad_definitions_work,
            "--select",
            "stg_app__plans",
        )
        contract = pool.submit(
            run_with_project,
            project_copy(contract_work, MISSING_CONTRACT_COLUMN),
            landing,
            contract_work,
            "--empty",
            "--exclude-resource-type",
            "test",
            "unit_test",
            "--select",
            "+segment_renewal_reminder",
        )
        return {**chain.result(), "bad_definitions": bad_definitions.result(), "contract": contract.result()}


@pytest.fixture(scope="module")
def days(results: dict[str, Any]) -> list[Day]:
    return results["days"]


def test_every_sequence_has_entrants_and_due_messages_over_the_span(days: list[Day]) -> None:
    due_sequences = {row["sequence"] for day in days for row in day.due}
    enrolled = {row["sequence"] for row in days[-1].enrollments}
    assert due_sequences == SEQUENCES
    assert enrolled == SEQUENCES
    # every step of the day-counted sequences went out (or was held out) on some run
    planned_steps = {(row["sequence"], row["step"]) for day in days for row in day.due + day.held_out}
    day_counted = {key for key, step in days[-1].steps.items() if step["relative_to"] == "entry"}
    assert day_counted <= planned_steps


def test_a_step_in_the_ledger_is_never_due_again(days: list[Day]) -> None:
    keys = [row["message_key"] for day in days for row in day.due + day.held_out]
    assert len(keys) == len(set(keys))
    assert all(day.planned == len(day.due) for day in days)  # the ledger took every key as new


def test_steps_missed_on_skipped_days_are_sent_within_the_grace_period(days: list[Day]) -> None:
    late = []
    for day in days:
        for row in day.due:
            step = day.steps[(row["sequence"], row["step"])]
            if step["relative_to"] == "entry":
                due_on = row["enrolled_on"] + timedelta(days=step["delay_days"])
                assert day.as_of - timedelta(days=GRACE_DAYS) <= due_on <= day.as_of, row["message_key"]
                late.append(due_on < day.as_of)
    assert any(late), "no step missed on a skipped day was sent late"
    missed = [row for row in days[-1].exclusions if row["reason_code"] == "outside_window"]
    assert all("grace period" in row["reason"] for row in missed)


def test_one_message_a_day_per_customer_and_renewals_first(days: list[Day]) -> None:
    for day in days:
        customers = [row["customer_id"] for row in day.due]
        assert len(customers) == len(set(customers))
        capped = [row for row in day.exclusions if row["reason_code"] == "capped_by"]
        due_by_key = {row["message_key"]: row for row in day.due}
        for row in capped:
            winner = due_by_key.get(row["capped_by"])
            if winner is not None:  # capped by today's pick: it has priority
                assert winner["customer_id"] == row["customer_id"] and winner["priority"] <= row["priority"]
            assert row["capped_by"] in row["reason"]


def test_messages_carry_the_agreed_personalization_and_a_reason(days: list[Day]) -> None:
    for day in days:
        for row in day.due + day.held_out:
            fields = json.loads(row["personalization_json"])
            assert set(fields) == PERSONALIZATION[row["sequence"]] | {"first_name", "company_name"}
            assert all(value is not None for name, value in fields.items() if name not in NULLABLE), row
            assert row["entry_reason"].startswith("Since ")
            assert row["send_after"] < row["send_before"]
            assert row["channel"] in ("email", "sms") and row["recipient"]


def test_why_not_names_a_reason_for_everyone_not_due(days: list[Day]) -> None:
    last = days[-1]
    codes = {row["reason_code"] for row in last.exclusions}
    assert {"held_out", "capped_by", "not_due_yet", "exited_goal", "no_consent"} <= codes, codes
    assert all(row["reason"] for row in last.exclusions)
    held_out = {row["message_key"] for row in last.exclusions if row["reason_code"] == "held_out"}
    assert held_out == {row["message_key"] for row in last.held_out}
    due = {(row["customer_id"], row["sequence"]) for row in last.due}
    assert not due & {(row["customer_id"], row["sequence"]) for row in last.exclusions}


def test_enrollments_record_entries_steps_and_exits(days: list[Day]) -> None:
    statuses = {row["status"] for row in days[-1].enrollments}
    # nothing has completed yet: each enrollment's last step is planned after the last build
    assert {"open", "goal_reached", "left_segment"} <= statuses, statuses
    for row in days[-1].enrollments:
        assert row["enrollment_id"] == f"{row['sequence']}:{row['customer_id']}:{row['enrolled_on']}"
        assert (row["status"] == "open") == (row["exit_reason"] is None)
        assert row["steps_planned"] <= row["steps_total"]


def test_the_invariant_tests_catch_a_broken_day(results: dict[str, Any]) -> None:
    broken: DbtRun = results["broken"]
    assert broken.returncode != 0, broken.output[-3000:]
    for name in INVARIANT_TESTS:
        assert f"Failure in test {name}" in broken.output, broken.output[-6000:]


def test_bad_definitions_stop_the_build_naming_file_step_and_fix(results: dict[str, Any]) -> None:
    run: DbtRun = results["bad_definitions"]
    assert run.returncode != 0
    assert "on-run-start" in run.output and "OK created" not in run.output  # before anything is built
    for file, step, says in EXPECTED_PROBLEMS:
        line = next((line for line in run.output.splitlines() if says in line), None)
        assert line is not None, f"{says!r} not reported:\n{run.output[-6000:]}"
        assert file in line and (step is None or f"step '{step}'" in line), line


def test_a_segment_model_without_a_contract_column_fails(results: dict[str, Any]) -> None:
    run: DbtRun = results["contract"]
    assert run.returncode != 0
    assert "Compilation Error in model segment_renewal_reminder" in run.output, run.output[-4000:]
    assert "entry_reason" in run.output and "missing in definition" in run.output
