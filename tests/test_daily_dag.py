"""The daily DAG end to end through real Airflow (`airflow dags test`), real dbt, and the official
SendGrid client talking to the local contract server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from lifecycle.provider_servers import DEFAULT_API_KEY, SendGridServer
from tests.conftest import AIRFLOW_TEST_HOME, AS_OF

pytestmark = pytest.mark.integration
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata database in the tests' private home, migrated once per session."""
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    for pool, slots in (("dbt_warehouse", "1"), ("provider_dispatch", "4")):
        subprocess.run([AIRFLOW, "pools", "set", pool, slots, "test"], check=True, capture_output=True)
    return AIRFLOW_TEST_HOME


def run_daily_dag(env: dict[str, str], conf: dict | None = None) -> subprocess.CompletedProcess:
    command = [AIRFLOW, "dags", "test", "lifecycle_daily", AS_OF.isoformat()]
    if conf:
        command += ["-c", json.dumps(conf)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def ledger_rows(data_dir: Path) -> list[sa.Row]:
    engine = sa.create_engine(f"sqlite:///{data_dir / 'ops.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select message_key, state, provider_message_id from messages")).all()
    engine.dispose()
    return rows


def test_the_daily_dag_sends_the_welcome_email_and_sees_it_in_dbt(airflow_db, data_env):
    with SendGridServer() as sendgrid:
        env = {
            **os.environ,
            "AIRFLOW_CONN_SENDGRID_DEFAULT": json.dumps(
                {"conn_type": "http", "host": sendgrid.base_url, "password": DEFAULT_API_KEY}
            ),
            "LIFECYCLE_UNSUBSCRIBE_SECRET": "dag-test-secret",
        }
        result = run_daily_dag(env, {"send_mode": "live"})
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

        with duckdb.connect(str(data_env / "warehouse.duckdb"), read_only=True) as warehouse:
            [(segment_size,)] = warehouse.sql("select count(*) from segment_welcome_new_customers").fetchall()
            outcomes = dict(warehouse.sql("select message_key, state from message_outcomes").fetchall())
        rows = ledger_rows(data_env)
        assert segment_size > 0
        assert len(rows) == segment_size
        assert {row.state for row in rows} == {"sent"}
        assert outcomes == {row.message_key: "sent" for row in rows}
        accepted = sendgrid.messages()
        assert sorted(m["custom_args"]["lc_message_key"] for m in accepted) == sorted(
            r.message_key for r in rows
        )
        assert all(m["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in accepted)

        # Re-running the same day is safe: nothing new is planned or sent.
        again = run_daily_dag(env, {"send_mode": "live"})
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
        assert len(sendgrid.messages()) == len(accepted)
        assert len(ledger_rows(data_env)) == segment_size


def test_a_backfill_run_simulates_and_sends_nothing(airflow_db, data_env):
    with SendGridServer() as sendgrid:
        env = {
            **os.environ,
            "AIRFLOW_CONN_SENDGRID_DEFAULT": json.dumps(
                {"conn_type": "http", "host": sendgrid.base_url, "password": DEFAULT_API_KEY}
            ),
            "LIFECYCLE_UNSUBSCRIBE_SECRET": "dag-test-secret",
        }
        result = run_daily_dag(env, {"send_mode": "simulate"})
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        rows = ledger_rows(data_env)
        assert rows and {row.state for row in rows} == {"skipped"}
        assert sendgrid.requests() == []
