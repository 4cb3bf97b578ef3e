"""The daily DAG end to end through real Airflow (`airflow dags test`), real dbt, and the official
SendGrid and Twilio clients talking to the local contract servers.

The dispatcher's clock is pinned (LIFECYCLE_NOW) to 16:00 UTC on the as-of date, so which recipients
are inside their local window is the same whenever the test runs: Europe and the Americas' east are
open, the Americas' west not yet, Asia and Australia closed (moved to the next day's window)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import sqlalchemy as sa

from lifecycle.provider_servers import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_AUTH_TOKEN,
    SendGridServer,
    TwilioServer,
)
from tests.conftest import AIRFLOW_TEST_HOME, AS_OF

pytestmark = pytest.mark.integration
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DISPATCH_NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata database in the tests' private home, migrated once per session."""
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    for pool, slots in (("dbt_warehouse", "1"), ("provider_dispatch", "4")):
        subprocess.run([AIRFLOW, "pools", "set", pool, slots, "test"], check=True, capture_output=True)
    return AIRFLOW_TEST_HOME


def run_daily_dag(env: dict[str, str], conf: dict | None = None) -> subprocess.CompletedProcess:
    return run_dag("lifecycle_daily", AS_OF.isoformat(), env, conf)


def run_dag(
    dag_id: str, logical_date: str, env: dict[str, str], conf: dict | None = None
) -> subprocess.CompletedProcess:
    command = [AIRFLOW, "dags", "test", dag_id, logical_date]
    if conf:
        command += ["-c", json.dumps(conf)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def ledger_rows(data_dir: Path) -> dict[str, sa.Row]:
    engine = sa.create_engine(f"sqlite:///{data_dir / 'ops.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select message_key, channel, state, time_zone, send_after, send_before from messages")
        ).all()
    engine.dispose()
    return {row.message_key: row for row in rows}


def dag_env(sendgrid: SendGridServer, twilio: TwilioServer, now: datetime) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_CONN_SENDGRID_DEFAULT": json.dumps(
            {"conn_type": "http", "host": sendgrid.base_url, "password": DEFAULT_API_KEY}
        ),
        "AIRFLOW_CONN_TWILIO_DEFAULT": json.dumps(
            {
                "conn_type": "http",
                "host": twilio.base_url,
                "login": DEFAULT_ACCOUNT_SID,
                "password": DEFAULT_AUTH_TOKEN,
            }
        ),
        "LIFECYCLE_UNSUBSCRIBE_SECRET": "dag-test-secret",
        "LIFECYCLE_NOW": now.isoformat(),
    }


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_the_daily_dag_plans_due_messages_and_sends_each_inside_its_window(airflow_db, data_env):
    with SendGridServer() as sendgrid, TwilioServer() as twilio:
        env = dag_env(sendgrid, twilio, DISPATCH_NOW)
        result = run_daily_dag(env, {"send_mode": "live"})
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        # dbt runs the data tests, but not the staging tests check_landing made just before it
        log = result.stdout + result.stderr
        assert "not_null_stg_ops__messages_message_key" in log
        assert "unique_stg_app__customers_customer_id" not in log

        rows = ledger_rows(data_env)
        with duckdb.connect(str(data_env / "warehouse.duckdb"), read_only=True) as warehouse:
            outcomes = dict(warehouse.sql("select message_key, state from message_outcomes").fetchall())
        assert len({key.split(":")[0] for key in rows}) > 1  # several sequences, one plan
        sent, waiting, moved = set(), set(), set()
        for key, row in rows.items():
            opens, closes = utc(row.send_after), utc(row.send_before)
            if row.state == "sent":  # only inside the recipient's window
                assert opens <= DISPATCH_NOW < closes, key
                sent.add(key)
            elif row.state == "planned":
                assert opens > DISPATCH_NOW, key  # nothing claimable is left behind
                local_day = opens.astimezone(ZoneInfo(row.time_zone)).date()
                if local_day == AS_OF:  # the window has not opened yet: waits, unchanged
                    waiting.add(key)
                else:  # it had closed (a local evening or night): the same window tomorrow
                    assert local_day == AS_OF + timedelta(days=1), key
                    assert closes - timedelta(days=1) <= DISPATCH_NOW, key
                    moved.add(key)
            else:
                assert row.state == "held_out", (key, row.state)
        assert sent and waiting and moved and len(rows) > len(sent | waiting | moved)
        # dbt sees the ledger as it is after the run.
        assert outcomes == {key: row.state for key, row in rows.items()}
        accepted_email = sorted(m["custom_args"]["lc_message_key"] for m in sendgrid.messages())
        sent_sms = sorted(key for key in sent if rows[key].channel == "sms")
        assert accepted_email == sorted(key for key in sent if rows[key].channel == "email")
        assert len(twilio.messages()) == len(sent_sms)
        assert all(
            m["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in sendgrid.messages()
        )

        # Re-running the same day is safe: nothing new is planned or sent.
        again = run_daily_dag(env, {"send_mode": "live"})
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
        assert len(sendgrid.messages()) == len(accepted_email)
        assert len(twilio.messages()) == len(sent_sms)
        assert set(ledger_rows(data_env)) == set(rows)

        # The hourly dispatch DAG, six hours later, sends what has come into its window since: the
        # Americas' west today and Australia's next morning, each exactly once.
        later = DISPATCH_NOW + timedelta(hours=6)
        opened = {
            key
            for key, row in ledger_rows(data_env).items()
            if row.state == "planned" and utc(row.send_after) <= later < utc(row.send_before)
        }
        assert opened
        hourly = run_dag("lifecycle_dispatch", later.isoformat(), dag_env(sendgrid, twilio, later))
        assert hourly.returncode == 0, hourly.stdout[-4000:] + hourly.stderr[-4000:]
        after = ledger_rows(data_env)
        assert {key for key, row in after.items() if row.state == "sent"} == sent | opened
        provider_keys = [m["custom_args"]["lc_message_key"] for m in sendgrid.messages()]
        assert len(provider_keys) == len(set(provider_keys))
        assert len(provider_keys) + len(twilio.messages()) == len(sent | opened)


def test_a_backfill_run_simulates_and_sends_nothing(airflow_db, data_env):
    with SendGridServer() as sendgrid, TwilioServer() as twilio:
        # A day later: every recipient's window of the as-of date has opened (and closed).
        result = run_daily_dag(
            dag_env(sendgrid, twilio, DISPATCH_NOW + timedelta(days=1)), {"send_mode": "simulate"}
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        rows = ledger_rows(data_env)
        assert rows and {row.state for row in rows.values()} == {"skipped", "held_out"}
        assert sendgrid.requests() == [] and twilio.messages() == []
