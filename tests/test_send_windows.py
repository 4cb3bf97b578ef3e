"""Nothing goes out at night: the dispatcher claims a message only inside its recipient's window, and
one whose window closed unsent moves to the same local window on the next day, across daylight-saving
changes (Sydney, New York, London), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import sqlalchemy as sa

from lifecycle.daily import clock
from lifecycle.dispatch.dispatcher import DispatchConfig, Dispatcher
from lifecycle.dispatch.send_mode import SendMode
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import messages
from lifecycle.planning.planner import CONTRACT_COLUMNS, ModelRows, plan_models
from lifecycle.planning.send_window import next_window, window_opens_at
from lifecycle.provider_servers import SendGridServer, TwilioServer
from lifecycle.settings import load_settings
from tests.conftest import migrated_store, private_postgres
from tests.messaging_rows import contract_row
from tests.test_dispatch import senders

NINE, NINE_PM = time(9), time(21)

# (zone, the last day before its 2026 change, the day after, UTC window on each day)
DST_CHANGES = [
    pytest.param(
        "Australia/Sydney",
        date(2026, 10, 3),
        (datetime(2026, 10, 2, 23, tzinfo=UTC), datetime(2026, 10, 3, 11, tzinfo=UTC)),  # AEST, UTC+10
        (datetime(2026, 10, 3, 22, tzinfo=UTC), datetime(2026, 10, 4, 10, tzinfo=UTC)),  # AEDT, UTC+11
        "+61412345678",
        id="sydney-dst-starts",
    ),
    pytest.param(
        "America/New_York",
        date(2026, 10, 31),
        (datetime(2026, 10, 31, 13, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC)),  # EDT, UTC-4
        (datetime(2026, 11, 1, 14, tzinfo=UTC), datetime(2026, 11, 2, 2, tzinfo=UTC)),  # EST, UTC-5
        "+14155550123",
        id="new-york-dst-ends",
    ),
    pytest.param(
        "Europe/London",
        date(2026, 10, 24),
        (datetime(2026, 10, 24, 8, tzinfo=UTC), datetime(2026, 10, 24, 20, tzinfo=UTC)),  # BST, UTC+1
        (datetime(2026, 10, 25, 9, tzinfo=UTC), datetime(2026, 10, 25, 21, tzinfo=UTC)),  # GMT
        "+447911123456",
        id="london-dst-ends",
    ),
]


@pytest.mark.parametrize(("zone", "day", "window", "next_day_window", "phone"), DST_CHANGES)
def test_the_next_window_keeps_local_hours_across_the_change(zone, day, window, next_day_window, phone):
    assert (window_opens_at(day, zone, NINE), window_opens_at(day, zone, NINE_PM)) == window
    assert next_window(*window, zone, now=window[1]) == next_day_window
    # Missed by days (no run in between): the first window that has not closed yet.
    week_later = next_window(*window, zone, now=next_day_window[1] + timedelta(days=5, hours=1))
    assert [t.astimezone(window[0].tzinfo) for t in week_later] == [
        t + timedelta(days=6) for t in next_day_window
    ]


@pytest.mark.parametrize(
    "zone", ["America/Vancouver", "America/Edmonton", "America/New_York", "Europe/London", "Australia/Sydney"]
)
def test_windows_use_the_same_zone_rules_as_the_warehouse(zone):
    """dbt computes the window in DuckDB; a missed one is moved in Python. Both must follow the same IANA
    release: the machine's may be older (Debian 12's 2025b still moves British Columbia's and
    Alberta's clocks in November 2026, which current rules no longer do)."""
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(0, 300, 7)]
    with duckdb.connect() as conn:
        in_duckdb = [
            conn.execute(
                "select cast((cast(? as timestamp) at time zone ?) at time zone 'UTC' as timestamp)",
                [datetime.combine(day, NINE), zone],
            ).fetchone()[0]
            for day in days
        ]
    in_python = [window_opens_at(day, zone, NINE).replace(tzinfo=None) for day in days]
    assert in_python == in_duckdb


def test_a_missing_zone_rolls_in_utc():
    opens, closes = datetime(2026, 11, 20, 9, tzinfo=UTC), datetime(2026, 11, 20, 21, tzinfo=UTC)
    assert next_window(opens, closes, None, now=closes) == (
        opens + timedelta(days=1),
        closes + timedelta(days=1),
    )


@pytest.fixture
def settings(tmp_path: Path):
    return dataclasses.replace(
        load_settings(),
        unsubscribe_secret="window-test-secret",
        ops_db_url=f"sqlite:///{tmp_path / 'ops.sqlite'}",
    )


@pytest.fixture
def engine(settings):
    eng = connect(settings.ops_db_url)
    migrate(eng)
    yield eng
    eng.dispose()


def plan(engine, rows: list[dict], as_of: date) -> None:
    due = ModelRows("due_messages", CONTRACT_COLUMNS, rows)
    report = plan_models(engine, due, ModelRows("held_out_messages", CONTRACT_COLUMNS, []), as_of)
    assert report.rejected == [] and report.planned == len(rows)


def run(
    engine, settings, now: datetime, as_of: date, mode=SendMode.LIVE, max_days_late: int = 2, **servers
) -> dict[str, int]:
    config = DispatchConfig(
        email_requests_per_s=1000, sms_requests_per_s=1000, max_backoff_s=1.0, max_days_late=max_days_late
    )
    return Dispatcher(engine, settings, senders(**servers), "w", mode, config).run(as_of, now=now).as_dict()


def windows(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(messages.c.message_key, messages.c.state, messages.c.send_after, messages.c.send_before)
        )
        return {r.message_key: (r.state, r.send_after, r.send_before) for r in rows}


@pytest.mark.parametrize(("zone", "day", "window", "next_day_window", "phone"), DST_CHANGES)
def test_a_missed_window_waits_for_the_next_local_morning_across_dst(
    engine, settings, zone, day, window, next_day_window, phone
):
    email = contract_row(1, time_zone=zone, as_of=day)
    sms = contract_row(2, "welcome", "day_5", "sms", time_zone=zone, as_of=day, recipient=phone)
    plan(engine, [email, sms], day)
    keys = [email["message_key"], sms["message_key"]]
    with SendGridServer() as sendgrid, TwilioServer() as twilio:
        # An hour after the window closed: local 22:00, night. Nothing goes out; both move a day on.
        night = window[1] + timedelta(hours=1)
        assert run(engine, settings, night, day, sendgrid=sendgrid, twilio=twilio) == {"rescheduled": 2}
        assert [windows(engine)[k] for k in keys] == [("planned", *next_day_window)] * 2
        # Next morning, half an hour before the window opens (8:30 local, after the clock change).
        early = next_day_window[0] - timedelta(minutes=30)
        assert run(engine, settings, early, day + timedelta(days=1), sendgrid=sendgrid, twilio=twilio) == {}
        assert sendgrid.requests() == [] and twilio.messages() == []
        # Inside the new window: both go out, once.
        inside = next_day_window[0] + timedelta(minutes=1)
        assert run(engine, settings, inside, day + timedelta(days=1), sendgrid=sendgrid, twilio=twilio) == {
            "sent": 2
        }
        assert run(engine, settings, inside, day + timedelta(days=1), sendgrid=sendgrid, twilio=twilio) == {}
        assert [m["to"] for m in sendgrid.messages()] == [["user1@example.com"]]
        assert [m["to"] for m in twilio.messages()] == [phone]
    assert {windows(engine)[k][0] for k in keys} == {"sent"}


@pytest.mark.parametrize("max_days_late", [0, 2])
def test_a_message_that_keeps_missing_its_window_is_skipped_once_too_late(engine, settings, max_days_late):
    day = date(2026, 11, 20)
    row = contract_row(1, time_zone="America/New_York", as_of=day)
    plan(engine, [row], day)
    key = row["message_key"]
    with SendGridServer() as sendgrid:
        # The dispatch only ever runs at night (an hour after each window closed): the window moves to
        # the next local day while that day is at most max_days_late after the run date, then expires.
        for _ in range(max_days_late):
            night = windows(engine)[key][2] + timedelta(hours=1)
            assert run(engine, settings, night, day, max_days_late=max_days_late, sendgrid=sendgrid) == {
                "rescheduled": 1
            }
        state, opens, closes = windows(engine)[key]
        assert state == "planned" and opens.astimezone(
            ZoneInfo("America/New_York")
        ).date() == day + timedelta(days=max_days_late)
        night = closes + timedelta(hours=1)
        assert run(engine, settings, night, day, max_days_late=max_days_late, sendgrid=sendgrid) == {
            "expired": 1
        }
        assert run(engine, settings, night + timedelta(days=1), day, sendgrid=sendgrid) == {}
        assert sendgrid.requests() == []
    with engine.connect() as conn:
        expired = conn.execute(sa.select(messages).where(messages.c.message_key == key)).one()
    last_day = day + timedelta(days=max_days_late)
    assert (expired.state, expired.error_code) == ("skipped", "window_expired")
    assert expired.error_reason == (
        f"its send window closed unsent on every day from {day} to {last_day}; "
        f"not sent more than {max_days_late} day(s) late (LIFECYCLE_DISPATCH_MAX_DAYS_LATE)"
    )


def test_a_simulated_backfill_claims_closed_windows_and_moves_nothing(engine, settings):
    day = date(2026, 11, 1)
    plan(engine, [contract_row(1, as_of=day)], day)
    before = windows(engine)
    assert run(engine, settings, datetime(2026, 11, 20, 3, tzinfo=UTC), day, SendMode.SIMULATE) == {
        "simulated": 1
    }
    [(state, *window)] = windows(engine).values()
    assert state == "skipped" and window == list(next(iter(before.values()))[1:])


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        with migrated_store(f"sqlite:///{tmp_path / 'ops.sqlite'}") as eng:
            yield eng
        return
    with private_postgres(request.getfixturevalue("pg_url")) as url, migrated_store(url) as eng:
        yield eng


def test_the_ledger_keeps_send_before_and_moves_only_missed_planned_windows(any_engine):
    day = date(2026, 11, 20)
    rows = [contract_row(i, time_zone="Europe/London", as_of=day) for i in range(3)]
    plan(any_engine, rows, day)
    closes = datetime(2026, 11, 20, 21, tzinfo=UTC)
    assert ledger.claim_due(any_engine, "w", 10, now=closes, channel="email") == []  # closed at 21:00
    [claimed] = ledger.claim_due(any_engine, "w", 1, now=closes - timedelta(minutes=1))
    missed = ledger.missed_windows(any_engine, now=closes)
    assert sorted(m.message_key for m in missed) == sorted(
        r["message_key"] for r in rows if r["message_key"] != claimed.message_key
    )
    assert {(m.send_after, m.send_before) for m in missed} == {(closes - timedelta(hours=12), closes)}
    moves = [(m, *next_window(m.send_after, m.send_before, m.time_zone, closes)) for m in missed]
    assert ledger.move_windows(any_engine, moves) == 2
    assert ledger.move_windows(any_engine, moves) == 0  # guarded by the old window: moved once
    assert ledger.missed_windows(any_engine, now=closes) == []
    assert len(ledger.claim_due(any_engine, "w", 10, now=closes + timedelta(hours=12, minutes=1))) == 2


def test_the_ledger_expires_a_missed_window_once(any_engine):
    day = date(2026, 11, 20)
    plan(any_engine, [contract_row(i, time_zone="Europe/London", as_of=day) for i in range(2)], day)
    [first, second] = sorted(
        ledger.missed_windows(any_engine, now=datetime(2026, 11, 21, tzinfo=UTC)), key=lambda m: m.message_key
    )
    assert first.as_of_date == day
    moved_meanwhile = [
        (second, *next_window(second.send_after, second.send_before, second.time_zone, second.send_before))
    ]
    assert ledger.move_windows(any_engine, moved_meanwhile) == 1
    expired = [(first, "too late"), (second, "too late")]
    assert ledger.expire_windows(any_engine, expired) == 1  # the moved one is left alone
    assert ledger.expire_windows(any_engine, expired) == 0
    assert ledger.state_counts(any_engine) == {"skipped": 1, "planned": 1}


def test_the_clock_override_is_utc_and_checked():
    assert clock({}) is None
    assert clock({"LIFECYCLE_NOW": "2026-11-20T16:00:00Z"}) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert clock({"LIFECYCLE_NOW": "2026-11-20T11:00:00-05:00"}) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert clock({"LIFECYCLE_NOW": "2026-11-20 16:00"}) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="LIFECYCLE_NOW='tea time' is not an ISO 8601 instant"):
        clock({"LIFECYCLE_NOW": "tea time"})
