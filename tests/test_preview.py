"""The preview on a hand-made warehouse: counts, holdouts, exclusions, the change from the previous
day and from the last preview, rendered samples with masked recipients; nothing sent, no ledger
written. (tests/test_preview_dbt.py runs it on a dbt-built generated business.)"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from lifecycle import cli
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.planning.planner import CONTRACT_COLUMNS, ContractViolation, ModelRows, plan_models
from lifecycle.preview import build_preview, format_preview, save
from lifecycle.settings import load_settings
from tests.messaging_rows import AS_OF, contract_row, write_project, write_warehouse

YESTERDAY = AS_OF - timedelta(days=1)


def due_rows(welcome_day_0: int = 3) -> list[dict]:
    return [
        *(contract_row(i, "welcome", "day_0") for i in range(welcome_day_0)),
        contract_row(
            10, "welcome", "day_5", "sms", recipient="+14155550123", enrolled_on=AS_OF - timedelta(days=5)
        ),
        contract_row(20, "cross_sell", "day_0", time_zone="Europe/London"),
        contract_row(21, "cross_sell", "day_0", time_zone="Australia/Sydney", fields={"need_signal": None}),
    ]


EXCLUSIONS = [
    {"customer_id": "C00030", "sequence": "cross_sell", "step": "day_0", "reason_code": "capped",
     "reason": "capped: welcome day_0 goes first today", "as_of_date": AS_OF},
    {"customer_id": "C00031", "sequence": "cross_sell", "step": "day_0", "reason_code": "capped",
     "reason": "capped: renewal_reminder renewal_7d goes first today", "as_of_date": AS_OF},
    {"customer_id": "C00032", "sequence": "annual_upsell", "step": "day_0", "reason_code": "bad_moment",
     "reason": "suppressed: open high-priority ticket", "as_of_date": AS_OF},
]  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path):
    return dataclasses.replace(
        load_settings(),
        data_dir=tmp_path / "data",
        warehouse_path=write_warehouse(
            tmp_path / "warehouse.duckdb", due_rows(), [contract_row(5)], EXCLUSIONS
        ),
        ops_db_url=f"sqlite:///{tmp_path / 'data' / 'ops.sqlite'}",
        dbt_project_dir=write_project(tmp_path),
    )


def rows(text: str) -> list[list[str]]:
    """The text's lines as whitespace-separated cells (table rows compare without their padding)."""
    return [line.split() for line in text.splitlines()]


def test_preview_counts_renders_masks_and_writes_no_ledger(settings):
    preview = build_preview(settings, AS_OF, sample=2)
    assert preview.counts.due == {
        ("welcome", "day_0", "email"): 3,
        ("welcome", "day_5", "sms"): 1,
        ("cross_sell", "day_0", "email"): 2,
    }
    assert preview.counts.held_out == {("welcome", "day_0"): 1}
    assert preview.exclusions == {("cross_sell", "capped"): 2, ("annual_upsell", "bad_moment"): 1}
    assert preview.previous_day is None and preview.last_preview is None and preview.rejected == []
    # Two per sequence, spread over steps and channels.
    assert sorted((s.sequence, s.step, s.channel) for s in preview.samples) == [
        ("cross_sell", "day_0", "email"),
        ("cross_sell", "day_0", "email"),
        ("welcome", "day_0", "email"),
        ("welcome", "day_5", "sms"),
    ]
    text = format_preview(preview)
    assert "nothing is sent and nothing is written to the ledger" in text
    assert "No plan or saved preview for 2026-11-19 to compare with." in text
    assert [
        "cross_sell",
        "capped",
        "2",
        "capped:",
        "renewal_reminder",
        "renewal_7d",
        "goes",
        "first",
        "today",
    ] in rows(text)
    assert "@example.com" not in text and "+14155550123" not in text
    assert "u***@e***.com" in text and "+1******0123" in text
    sms = next(s for s in preview.samples if s.channel == "sms")
    assert sms.segments == 1 and sms.body.endswith("Reply STOP to opt out.")
    assert "[1 segment(s), " in text
    email = next(s for s in preview.samples if s.sequence == "cross_sell")
    assert email.subject == "An idea for Acme Analytics: Workflow Automation"
    assert email.body.count("Since customer C000") == 1 and "Unsubscribe: " in email.body
    assert not Path(settings.ops_db_url.split("///")[1]).exists()


def test_preview_compares_with_the_ledgers_plan_for_the_previous_day(settings):
    engine = connect(settings.ops_db_url)
    migrate(engine)
    yesterday = [contract_row(i, as_of=YESTERDAY) for i in range(5)]
    plan_models(
        engine,
        ModelRows("due_messages", CONTRACT_COLUMNS, yesterday),
        ModelRows("held_out_messages", CONTRACT_COLUMNS, [contract_row(9, as_of=YESTERDAY)]),
        YESTERDAY,
    )
    before = ledger.state_counts(engine)
    text = format_preview(build_preview(settings, AS_OF))
    assert ledger.state_counts(engine) == before  # the preview planned nothing
    plan_models(
        engine,
        ModelRows("due_messages", CONTRACT_COLUMNS, [contract_row(1)]),
        ModelRows("held_out_messages", CONTRACT_COLUMNS, []),
        AS_OF,
    )
    assert "The ledger already holds 1 message(s) planned for 2026-11-20: not due again." in format_preview(
        build_preview(settings, AS_OF)
    )
    engine.dispose()
    assert "Compared with the ledger's plan for 2026-11-19." in text
    table = rows(text)
    assert ["welcome", "day_0", "email", "3", "5", "-2"] in table
    assert ["cross_sell", "day_0", "email", "2", "0", "+2"] in table
    assert ["total", "6", "5", "+1"] in table
    assert ["welcome", "day_0", "1", "1", "0"] in table


def test_a_segment_change_shows_against_the_last_preview_of_the_day(settings, tmp_path):
    save(settings, build_preview(settings, AS_OF))
    write_warehouse(settings.warehouse_path, due_rows(welcome_day_0=1), [], EXCLUSIONS)
    text = format_preview(build_preview(settings, AS_OF))
    assert "Changes since your last preview of 2026-11-20" in text
    assert "  welcome/day_0/email: 3 -> 1" in text and "  welcome/day_0 held out: 1 -> 0" in text
    # The next day compares with that saved preview when the ledger has no plan for it.
    write_warehouse(settings.warehouse_path, [contract_row(1, as_of=AS_OF + timedelta(days=1))])
    text = format_preview(build_preview(settings, AS_OF + timedelta(days=1)))
    assert "Compared with the preview of 2026-11-20 saved " in text


def test_rejected_rows_are_listed_and_the_rest_previewed(settings):
    write_warehouse(settings.warehouse_path, [*due_rows(), contract_row(40, channel="fax")])
    preview = build_preview(settings, AS_OF)
    assert sum(preview.counts.due.values()) == 6
    assert "Rows the planner would reject: 1" in format_preview(preview)
    assert "channel 'fax' is unknown" in format_preview(preview)


def run_cli(monkeypatch, capsys, settings, *argv: str) -> tuple[int, str, str]:
    for name, value in {
        "LIFECYCLE_DATA_DIR": settings.data_dir,
        "LIFECYCLE_WAREHOUSE_PATH": settings.warehouse_path,
        "LIFECYCLE_OPS_DB_URL": settings.ops_db_url,
        "LIFECYCLE_DBT_PROJECT_DIR": settings.dbt_project_dir,
    }.items():
        monkeypatch.setenv(name, str(value))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_preview_command_saves_its_counts_and_fails_clearly(settings, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, settings, "preview", "--date", "2026-11-20", "--sample", "1")
    assert code == 0 and "Sample messages (2), recipients masked:" in out
    assert (settings.data_dir / "previews" / "2026-11-20.json").exists()
    code, out, _ = run_cli(monkeypatch, capsys, settings, "preview", "--date", "2026-11-20", "--sample", "0")
    assert code == 0 and "Changes since your last preview of 2026-11-20" in out and "  none" in out
    code, _, err = run_cli(monkeypatch, capsys, settings, "preview", "--date", "2026-11-21")
    assert code == 1 and "due_messages was built as of 2026-11-20, not 2026-11-21" in err
    assert not Path(settings.ops_db_url.split("///")[1]).exists()


def test_check_sequences_command(settings, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, settings, "check-sequences")
    assert (code, out.strip()) == (0, "4 sequences, 11 steps: every template exists and renders")
    broken = write_project(settings.data_dir / "broken", **{"welcome.day_2": {"template": "nope"}})
    code, _, err = run_cli(
        monkeypatch, capsys, dataclasses.replace(settings, dbt_project_dir=broken), "check-sequences"
    )
    assert code == 1 and "sequence welcome, step day_2 (email): template" in err and "nope" in err


def test_a_day_without_a_warehouse_for_it_is_refused(settings):
    with pytest.raises(ContractViolation, match="due_messages was built as of 2026-11-20, not 2026-11-19"):
        build_preview(settings, date(2026, 11, 19))
    # Nobody due that day: the exclusions still tell which day the warehouse was built for.
    write_warehouse(settings.warehouse_path, [], [], EXCLUSIONS)
    with pytest.raises(
        ContractViolation, match="message_exclusions was built as of 2026-11-20, not 2026-11-19"
    ):
        build_preview(settings, date(2026, 11, 19))
