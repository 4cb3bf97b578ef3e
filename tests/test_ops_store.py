"""The ledger's guarantees on SQLite and PostgreSQL: idempotent planning, exclusive claims, guarded states."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lifecycle.ops_store import ledger, migrate
from lifecycle.ops_store.schema import messages, metadata
from lifecycle.ops_store.suppressions import suppress, suppression_reason
from tests.conftest import migrated_store, private_postgres

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def planned(
    n: int, send_after: datetime = NOW - timedelta(hours=1), as_of: date = AS_OF
) -> list[ledger.PlannedMessage]:
    return [
        ledger.PlannedMessage(
            message_key=f"welcome:C{i:05d}:{as_of}:day_0",
            enrollment_id=f"welcome:C{i:05d}:{as_of}",
            customer_id=f"C{i:05d}",
            contact_id=f"P{i:05d}",
            sequence="welcome",
            step="day_0",
            channel="email",
            template="welcome_day_0",
            recipient=f"user{i}@example.com",
            time_zone="Europe/London",
            context={"first_name": f"User {i}"},
            as_of_date=as_of,
            send_after=send_after,
        )
        for i in range(n)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path):
    if request.param == "sqlite":
        with migrated_store(f"sqlite:///{tmp_path / 'ops.sqlite'}") as eng:
            yield eng
        return
    with private_postgres(request.getfixturevalue("pg_url")) as url, migrated_store(url) as eng:
        yield eng


def test_migrations_match_the_schema_module_and_rerun_safely(engine):
    migrate(engine)  # a second run is a no-op
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_planning_twice_inserts_nothing_new(engine):
    assert ledger.plan(engine, planned(2500), now=NOW) == 2500
    assert ledger.plan(engine, planned(2500), now=NOW) == 0
    assert ledger.state_counts(engine) == {"planned": 2500}


def test_claim_takes_only_due_messages_and_never_the_same_twice(engine):
    ledger.plan(engine, planned(3), now=NOW)
    ledger.plan(engine, planned(1, send_after=NOW + timedelta(hours=5), as_of=date(2026, 11, 21)), now=NOW)
    first = ledger.claim_due(engine, "w1", limit=2, now=NOW)
    second = ledger.claim_due(engine, "w2", limit=10, now=NOW)
    assert len(first) == 2 and len(second) == 1
    assert {m.message_key for m in first}.isdisjoint({m.message_key for m in second})
    assert ledger.claim_due(engine, "w3", limit=10, now=NOW) == []
    assert all(m.attempts == 1 for m in first + second)
    assert first[0].context == {"first_name": "User 0"}


def test_claim_can_be_limited_to_run_dates(engine):
    ledger.plan(engine, planned(2), now=NOW)
    ledger.plan(engine, planned(2, as_of=date(2026, 10, 1)), now=NOW)
    claimed = ledger.claim_due(engine, "w", 10, now=NOW, as_of_dates=(date(2026, 10, 1), date(2026, 10, 1)))
    assert {m.message_key.split(":")[2] for m in claimed} == {"2026-10-01"}


def test_transitions_only_leave_sending(engine):
    ledger.plan(engine, planned(2), now=NOW)
    keys = [m.message_key for m in ledger.claim_due(engine, "w", 10, now=NOW)]
    ledger.record_outcomes(
        engine, [ledger.Outcome(keys[0], "sent", provider="sendgrid", provider_message_id="abc")]
    )
    # A late duplicate worker cannot move a sent message to failed or unknown, nor release it.
    ledger.record_outcomes(engine, [ledger.Outcome(keys[0], "failed", "500", "late")])
    ledger.record_outcomes(engine, [ledger.Outcome(keys[0], "unknown", "timeout", "late")])
    assert ledger.release(engine, [keys[0]], "late") == 0
    ledger.record_outcomes(engine, [ledger.Outcome(keys[1], "unknown", "timeout", "read timed out")])
    assert ledger.claim_due(engine, "w2", 10, now=NOW) == []  # unknown is never claimed again
    assert ledger.state_counts(engine) == {"sent": 1, "unknown": 1}
    with engine.connect() as conn:
        sent = conn.execute(sa.select(messages).where(messages.c.message_key == keys[0])).one()
    assert (sent.provider_message_id, sent.error_code, sent.sent_at is not None) == ("abc", None, True)


def test_release_returns_a_message_to_planned(engine):
    ledger.plan(engine, planned(1), now=NOW)
    [message] = ledger.claim_due(engine, "w", 10, now=NOW)
    assert ledger.release(engine, [message.message_key], "connection refused") == 1
    [again] = ledger.claim_due(engine, "w", 10, now=NOW)
    assert again.attempts == 2


def test_expired_claims_are_replanned_only_when_no_request_started(engine):
    ledger.plan(engine, planned(3), now=NOW)
    _never_sent, in_flight = ledger.claim_due(engine, "dead-worker", 2, now=NOW - timedelta(minutes=30))
    ledger.mark_request_started(engine, [in_flight.message_key])
    assert ledger.expire_stale_claims(engine, timedelta(minutes=15), now=NOW) == (1, 1)
    assert ledger.state_counts(engine) == {"planned": 2, "unknown": 1}
    with engine.connect() as conn:
        unknown = conn.execute(sa.select(messages).where(messages.c.state == "unknown")).one()
    assert unknown.message_key == in_flight.message_key and unknown.error_code == "claim_expired"
    # A fresh claim is not stale.
    ledger.claim_due(engine, "live-worker", 10, now=NOW)
    assert ledger.expire_stale_claims(engine, timedelta(minutes=15), now=NOW) == (0, 0)


def test_concurrent_claims_are_disjoint(engine):
    ledger.plan(engine, planned(600), now=NOW)

    def claim_all(worker: str) -> list[str]:
        keys: list[str] = []
        while batch := ledger.claim_due(engine, worker, limit=25, now=NOW):
            keys += [m.message_key for m in batch]
        return keys

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claim_all, [f"w{i}" for i in range(4)]))
    claimed = [key for keys in results for key in keys]
    assert len(claimed) == 600 and len(set(claimed)) == 600


def test_suppression_is_case_insensitive_for_email_and_keeps_the_first_reason(engine):
    suppress(engine, "email", "Jane@Example.com", "unsubscribe", "one_click")
    suppress(engine, "email", "jane@example.com", "bounce", "sendgrid")
    assert suppression_reason(engine, "email", "JANE@example.com") == "unsubscribe (via one_click)"
    assert suppression_reason(engine, "sms", "+14155550100") is None


def test_naive_timestamps_are_refused(engine):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        ledger.plan(engine, planned(1, send_after=datetime(2026, 11, 20, 9, 0)), now=NOW)
