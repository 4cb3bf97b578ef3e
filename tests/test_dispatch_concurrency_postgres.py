"""Four dispatcher processes on one PostgreSQL ledger: every message is sent exactly once.

Four real ``python -m lifecycle dispatch`` processes start together against one ledger of 100,000
planned emails (``LIFECYCLE_TEST_CONCURRENCY_MESSAGES`` changes the count) and one SendGrid server
process. ``plan_name`` takes 20 values, so each claim of 2,000 splits into about 20 SendGrid requests
(about 1,000 requests in all). The claims (``FOR UPDATE SKIP LOCKED``) must hand each key to exactly
one worker: SendGrid accepts every key exactly once, and the ledger ends with every key ``sent``,
claimed once, by one of the four workers, each of which did part of the work.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter

import pytest
import sqlalchemy as sa

from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import messages
from tests import dispatch_harness as h
from tests.conftest import private_postgres

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

MESSAGES = int(os.environ.get("LIFECYCLE_TEST_CONCURRENCY_MESSAGES", "100000"))
WORKERS = 4
CONTENTS = 20  # distinct contents: about 20 SendGrid requests per claim
RUN_TIMEOUT_S = 300.0


def test_four_dispatchers_on_one_postgres_ledger_send_each_message_once(pg_url, tmp_path, capsys):
    started = time.monotonic()
    with private_postgres(pg_url, "lifecycle_concurrency") as url:
        engine = connect(url)
        migrate(engine)
        now = h.utc_now()
        planned = (h.planned_email("W", i, CONTENTS, now - h.SEND_AFTER_MARGIN) for i in range(MESSAGES))
        assert ledger.plan(engine, planned) == MESSAGES
        planned_s = time.monotonic() - started

        with h.sendgrid_process(tmp_path, capacity_rps=1000) as sendgrid_url:
            env = h.dispatch_env(url, sendgrid_url=sendgrid_url, data_dir=tmp_path, timeout_s=30.0)
            dispatch_started = time.monotonic()
            processes = [
                h.ExecProcess(h.dispatch_argv(), env, tmp_path, f"worker{n}") for n in range(WORKERS)
            ]
            codes = [process.wait(RUN_TIMEOUT_S) for process in processes]
            dispatch_s = time.monotonic() - dispatch_started
            for process, code in zip(processes, codes, strict=True):
                if code is None:
                    process.kill()
                assert code == 0, f"worker {process.pid} ended with {code}:\n{process.output()}"
            with urllib.request.urlopen(f"{sendgrid_url}/_sandbox/message_keys", timeout=120) as answer:
                provider = json.load(answer)

        reports = [process.report() for process in processes]
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    messages.c.state, messages.c.attempts, messages.c.claimed_by, sa.func.count()
                ).group_by(messages.c.state, messages.c.attempts, messages.c.claimed_by)
            ).all()
        engine.dispose()

    accepted = Counter(provider["keys"])
    duplicates = {key: n for key, n in accepted.items() if n > 1}
    per_worker = {claimed_by: n for _, _, claimed_by, n in rows}
    summary = (
        f"concurrency: {MESSAGES} emails, {WORKERS} dispatcher processes on PostgreSQL; "
        f"SendGrid requests by status {provider['requests_by_status']}; accepted {len(provider['keys'])}, "
        f"duplicates {len(duplicates)}; per worker {sorted(per_worker.values())}; reports {reports}; "
        f"plan {planned_s:.1f} s, dispatch {dispatch_s:.1f} s (wall, incl. ~5 s interpreter start), "
        f"total {time.monotonic() - started:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{summary}")
    assert not duplicates, summary
    assert len(accepted) == MESSAGES and set(accepted) == {
        f"cross_sell:WC{i:06d}:{h.AS_OF}:day_0" for i in range(MESSAGES)
    }, summary
    assert {(state, attempts) for state, attempts, _, _ in rows} == {("sent", 1)}, rows
    assert sum(n for *_, n in rows) == MESSAGES
    assert len(per_worker) == WORKERS and all(n > 0 for n in per_worker.values()), per_worker
    assert sum(report.get("sent", 0) for report in reports) == MESSAGES, reports
