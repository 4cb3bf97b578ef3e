"""The planner against the due_messages / held_out_messages contract: idempotent, holdouts recorded,
windows kept, bad rows rejected alone with a reason naming them, broken models stopped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from lifecycle.ops_store import connect, migrate
from lifecycle.ops_store.schema import messages
from lifecycle.planning.planner import (
    CONTRACT_COLUMNS,
    ContractViolation,
    ModelRows,
    plan_from_warehouse,
    plan_models,
)
from tests.messaging_rows import AS_OF, contract_row, personalization, write_warehouse


@pytest.fixture
def engine(tmp_path: Path):
    eng = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(eng)
    yield eng
    eng.dispose()


def models(due: list[dict], held_out: list[dict] = ()) -> tuple[ModelRows, ModelRows]:
    return (
        ModelRows("due_messages", CONTRACT_COLUMNS, list(due)),
        ModelRows("held_out_messages", CONTRACT_COLUMNS, list(held_out)),
    )


def ledger(engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {row.message_key: row for row in conn.execute(sa.select(messages))}


def test_due_rows_are_planned_with_window_context_and_holdouts_recorded(engine):
    due = [
        contract_row(1, "welcome", "day_0"),
        contract_row(2, "annual_upsell", "day_6", "sms", time_zone="Australia/Sydney"),
        contract_row(3, "cross_sell", "day_0", fields={"need_signal": None}),
    ]
    held = [contract_row(4, "welcome", "day_0")]
    report = plan_models(engine, *models(due, held), AS_OF)
    assert report.as_dict() == {
        "rows_read": 4,
        "planned": 3,
        "held_out": 1,
        "already_planned": 0,
        "rejected": 0,
    }
    rows = ledger(engine)
    assert {key: row.state for key, row in rows.items()} == {
        "welcome:C00001:2026-11-20:day_0": "planned",
        "annual_upsell:C00002:2026-11-20:day_6": "planned",
        "cross_sell:C00003:2026-11-20:day_0": "planned",
        "welcome:C00004:2026-11-20:day_0": "held_out",
    }
    sms = rows["annual_upsell:C00002:2026-11-20:day_6"]
    # Sydney is UTC+11 in November: the 9:00-21:00 window is 22:00-10:00 UTC, starting the day before.
    assert (sms.send_after, sms.send_before) == (
        datetime(2026, 11, 19, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    )
    assert (sms.channel, sms.recipient, sms.template) == ("sms", "+14155550002", "annual_upsell_day_6")
    context = json.loads(rows["cross_sell:C00003:2026-11-20:day_0"].context_json)
    assert context["need_signal"] is None and context["recommended_addon_name"] == "Workflow Automation"
    assert context["entry_reason"] == "Since customer C00003 entered cross_sell on 2026-11-20"
    assert (context["first_name"], context["sequence"], context["step"]) == ("User3", "cross_sell", "day_0")


def test_planning_the_same_day_twice_adds_nothing(engine):
    due, held = [contract_row(i) for i in range(5)], [contract_row(9)]
    plan_models(engine, *models(due, held), AS_OF)
    again = plan_models(engine, *models(due, held), AS_OF)
    assert again.as_dict() == {
        "rows_read": 6,
        "planned": 0,
        "held_out": 0,
        "already_planned": 6,
        "rejected": 0,
    }
    assert len(ledger(engine)) == 6


def test_a_missing_first_name_is_greeted_generically(engine):
    plan_models(engine, *models([contract_row(1, fields={"first_name": None})]), AS_OF)
    [row] = ledger(engine).values()
    assert json.loads(row.context_json)["first_name"] == "there"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"recipient": None}, "lacks recipient"),
        ({"send_before": None, "template": ""}, "lacks template, send_before"),
        ({"channel": "fax"}, "channel 'fax' is unknown (expected email or sms)"),
        ({"personalization_json": '{"plan_name": "Team",'}, "personalization_json is not valid JSON"),
        ({"personalization_json": "[1, 2]"}, "personalization_json is not a JSON object"),
        (
            {
                "personalization_json": json.dumps(
                    {"first_name": "Ada", "company_name": "Acme", "plan_name": "Team"}
                )
            },
            "personalization_json lacks is_trial, trial_ends_on (the welcome templates need them)",
        ),
        (
            {
                "personalization_json": json.dumps(
                    {
                        "first_name": "Ada",
                        "company_name": None,
                        "plan_name": "T",
                        "is_trial": True,
                        "trial_ends_on": None,
                    }
                )
            },
            "personalization_json field company_name is null",
        ),
        (
            {
                "personalization_json": contract_row(7, fields={"is_trial": "yes", "trial_ends_on": "4 Dec"})[
                    "personalization_json"
                ]
            },
            "personalization_json field is_trial is 'yes', not true or false; field trial_ends_on is '4 Dec', not an ISO date",
        ),
        (
            {"personalization_json": json.dumps(personalization("welcome", first_name="Ada", plan_name=5))},
            "personalization_json field plan_name is 5, not a text",
        ),
        ({"message_key": "welcome:C00007:2026-11-19:day_0"}, "message_key/enrollment_id are not"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone 'Mars/Olympus_Mons' is not an IANA zone"),
        ({"send_before": datetime(2026, 11, 20, 8, 0)}, "the send window is empty"),
        ({"send_after": "tomorrow"}, "send_after is 'tomorrow', not a timestamp"),
    ],
)
def test_a_bad_row_is_rejected_with_its_name_and_reason_while_the_rest_are_planned(engine, override, reason):
    bad = contract_row(7, **override)
    report = plan_models(engine, *models([contract_row(1), bad, contract_row(2)]), AS_OF)
    assert (report.planned, len(report.rejected)) == (2, 1)
    [problem] = report.rejected
    name = bad["message_key"] or "#2"
    assert problem.startswith(f"due_messages row {name!r}:") or problem.startswith("due_messages row #2")
    assert reason in problem
    assert set(ledger(engine)) == {"welcome:C00001:2026-11-20:day_0", "welcome:C00002:2026-11-20:day_0"}


def test_a_row_without_a_key_is_named_by_position_and_customer(engine):
    report = plan_models(engine, *models([contract_row(1), contract_row(5, message_key=None)]), AS_OF)
    assert report.rejected == [
        "due_messages row #2 (sequence='welcome', customer_id='C00005', step='day_0'): lacks message_key"
    ]


def test_a_key_in_both_models_is_planned_once_and_the_second_rejected(engine):
    row = contract_row(1)
    report = plan_models(engine, *models([row], [row]), AS_OF)
    assert (report.planned, report.held_out) == (1, 0)
    assert report.rejected == [
        "held_out_messages row 'welcome:C00001:2026-11-20:day_0': message_key also in "
        "due_messages row 'welcome:C00001:2026-11-20:day_0'"
    ]


def test_a_model_without_a_contract_column_stops_planning_naming_model_and_column(engine):
    due, _ = models([contract_row(1)])
    lacking = ModelRows("held_out_messages", tuple(c for c in CONTRACT_COLUMNS if c != "send_before"), [])
    with pytest.raises(
        ContractViolation, match=r"model held_out_messages lacks contract column\(s\) send_before"
    ):
        plan_models(engine, due, lacking, AS_OF)
    assert ledger(engine) == {}


def test_a_warehouse_built_for_another_day_stops_planning(engine):
    with pytest.raises(ContractViolation, match=r"due_messages was built as of 2026-11-19, not 2026-11-20"):
        plan_models(engine, *models([contract_row(1, as_of=date(2026, 11, 19))]), AS_OF)
    assert ledger(engine) == {}


def test_plans_from_a_duckdb_warehouse_read_only(engine, tmp_path):
    warehouse = write_warehouse(
        tmp_path / "warehouse.duckdb",
        [contract_row(1), contract_row(2, "welcome", "day_5", "sms")],
        [contract_row(3)],
    )
    report = plan_from_warehouse(engine, warehouse, AS_OF)
    assert (report.planned, report.held_out, report.rejected) == (2, 1, [])
    assert ledger(engine)["welcome:C00002:2026-11-20:day_5"].send_before == datetime(
        2026, 11, 21, 2, 0, tzinfo=UTC
    )


def test_an_empty_model_without_a_contract_column_still_fails_fast(engine, tmp_path):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", [], drop_column="personalization_json")
    with pytest.raises(ContractViolation, match=r"due_messages lacks contract column.*personalization_json"):
        plan_from_warehouse(engine, warehouse, AS_OF)
