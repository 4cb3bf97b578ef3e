"""The export to the landing folder: complete, incremental by watermark, idempotent for dbt."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from lifecycle.export import ops_export
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.suppressions import suppress

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def planned(i: int) -> ledger.PlannedMessage:
    return ledger.PlannedMessage(
        message_key=f"welcome:C{i}:2026-11-20:day_0",
        enrollment_id=f"welcome:C{i}:2026-11-20",
        customer_id=f"C{i}",
        contact_id=f"P{i}",
        sequence="welcome",
        step="day_0",
        channel="email",
        template="welcome_day_0",
        recipient=f"u{i}@example.com",
        time_zone=None,
        context={},
        as_of_date=date(2026, 11, 20),
        send_after=NOW - timedelta(hours=1),
    )


@pytest.fixture
def engine(tmp_path):
    eng = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(eng)
    return eng


def latest_messages(out_dir) -> dict[str, str]:
    """What dbt's staging model does: the latest version of each key across all parts."""
    rows = duckdb.sql(
        f"""select message_key, arg_max(state, updated_at) from read_parquet('{out_dir}/messages/*.parquet')
            group by 1"""
    ).fetchall()
    return dict(rows)


def test_first_export_writes_every_table_even_when_empty(engine, tmp_path):
    out = tmp_path / "ops"
    assert ops_export.export_ops_store(engine, out) == {
        "messages": 0,
        "delivery_events": 0,
        "consent_changes": 0,
        "suppressions": 0,
    }
    for name in ("messages", "delivery_events", "consent_changes"):
        [part] = (out / name).glob("part-*.parquet")
        assert duckdb.sql(f"select count(*) from '{part}'").fetchall() == [(0,)]
    assert duckdb.sql(f"select count(*) from '{out}/suppressions.parquet'").fetchall() == [(0,)]


def test_later_exports_carry_only_changes_and_dbt_sees_the_latest_state(engine, tmp_path):
    out = tmp_path / "ops"
    ledger.plan(engine, [planned(i) for i in range(3)])
    assert ops_export.export_ops_store(engine, out)["messages"] == 3
    assert ops_export.export_ops_store(engine, out)["messages"] == 3  # within the overlap: re-sent, harmless
    [claimed] = ledger.claim_due(engine, "w", 1)
    ledger.record_outcomes(engine, [ledger.Outcome(claimed.message_key, "sent", provider="sendgrid")])
    suppress(engine, "email", "u2@example.com", "unsubscribe", "one_click")
    ops_export.export_ops_store(engine, out)
    assert latest_messages(out) == {
        "welcome:C0:2026-11-20:day_0": "sent",
        "welcome:C1:2026-11-20:day_0": "planned",
        "welcome:C2:2026-11-20:day_0": "planned",
    }
    assert duckdb.sql(f"select address from '{out}/suppressions.parquet'").fetchall() == [("u2@example.com",)]


def test_rows_older_than_the_watermark_are_not_exported_again(engine, tmp_path, monkeypatch):
    out = tmp_path / "ops"
    monkeypatch.setattr(ops_export, "WATERMARK_OVERLAP", timedelta(0))
    ledger.plan(engine, [planned(1)], now=NOW - timedelta(days=1))
    ops_export.export_ops_store(engine, out)
    ledger.plan(engine, [planned(2)], now=NOW)
    # Rows stamped exactly at the watermark are exported again (a same-instant row may have committed
    # after the last export); older ones are not.
    assert ops_export.export_ops_store(engine, out)["messages"] == 2
    assert ops_export.export_ops_store(engine, out)["messages"] == 1
    assert len(list((out / "messages").glob("part-*.parquet"))) == 3


def test_many_parts_are_compacted_into_one(engine, tmp_path, monkeypatch):
    out = tmp_path / "ops"
    monkeypatch.setattr(ops_export, "COMPACT_AFTER_PARTS", 3)
    for i in range(5):
        ledger.plan(engine, [planned(i)])
        ops_export.export_ops_store(engine, out)
    parts = list((out / "messages").glob("part-*.parquet"))
    assert len(parts) <= 3
    assert len(latest_messages(out)) == 5


def test_lost_watermarks_mean_a_full_export_not_a_gap(engine, tmp_path):
    out = tmp_path / "ops"
    ledger.plan(engine, [planned(i) for i in range(4)])
    ops_export.export_ops_store(engine, out)
    (out / ops_export.WATERMARKS_FILE).unlink()
    assert ops_export.export_ops_store(engine, out)["messages"] == 4
    assert len(latest_messages(out)) == 4
