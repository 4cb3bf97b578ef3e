"""Invariant 2 (never send twice) under SIGKILL: the dispatcher is a real process
(``python -m lifecycle dispatch``) killed at seeded points of its run, rerun, killed again, and
finally run to completion; then the provider's signed events reconcile what it accepted.

Kill points (each chosen by seed, per planned dataset):

- ``start``: a delay after the process starts (interpreter start and imports for a fresh
  interpreter; migrations, expiring stale claims and the first claim for a forked one);
- ``claimed``: as soon as the ledger shows the r-th claim of this worker committed (right after a claim);
- ``between``: once r claim rounds' worth of this worker's keys are recorded (before a later claim;
  the dispatcher may already hold the next claim, as it claims ahead while requests run);
- ``arrival``: when the n-th request of the run reaches SendGrid, with a delay of 0 to 15 ms
  (mid-batch: some requests of the round answered, some in flight, some not yet sent);
- ``accepted``: when SendGrid has accepted the n-th request but before its answer is written
  (delay 0: the outcome cannot have been recorded), or 0 to 40 ms later (around the recording).

Then, per dataset: every key SendGrid accepted was accepted once; after the ``processed`` and
``delivered`` events reach the webhook receiver, every accepted key is ``sent`` and no other key is;
every key is terminal or ``unknown`` with a reason. A key claimed by a killed worker before its
request started is planned again and sent by a later run (attempts > 1, still one provider copy); a
key whose request had started is ``unknown``/``claim_expired`` and never claimed again.

The SendGrid server runs in the test process (it survives every kill) with 20 ms latency; claims of
20 messages over 4 distinct contents make about 4 requests per claim, so a run has many phases.
``LIFECYCLE_TEST_CRASH_SEED`` replays another schedule.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import SENDING, SENT, TERMINAL_STATES, UNKNOWN, messages
from lifecycle.provider_servers import EmailOutcomes, FaultConfig
from lifecycle.settings import load_settings
from tests import dispatch_harness as h
from tests.conftest import postgres_dsn, private_postgres

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("LIFECYCLE_TEST_CRASH_SEED", "20261120"))
DATASETS = 6
# A run that ends before its kill point ends its dataset early (more so on a loaded machine): further
# datasets, up to this many, keep the kill count at MIN_KILLS or more.
MAX_DATASETS = 12
MESSAGES_PER_DATASET = 1600
POINTS_PER_DATASET = 20
CLAIM_BATCH = 20
CONTENTS = 4  # distinct contents per claim: about 4 SendGrid requests per claim
CLAIM_LEASE_S = 0.5
LATENCY_MS = 20
MIN_KILLS = 100
RUN_TIMEOUT_S = 90.0
ONLY_EVENTS = EmailOutcomes(dropped=0, bounce=0, deferred=0, open=0, click=0, unsubscribe=0, spamreport=0)


@dataclass(frozen=True)
class KillPoint:
    mode: str  # exec | fork
    trigger: str  # start | claimed | between | arrival | accepted
    nth: int  # claim round or request number
    delay_s: float


@dataclass
class KillOutcome:
    point: KillPoint
    killed: bool
    stuck_claims: int = 0  # this worker's keys left in `sending`
    stuck_at_provider: int = 0  # ... of which SendGrid had accepted (outcome never recorded)


def schedule(rng: random.Random, index: int) -> list[KillPoint]:
    """The kill points of dataset ``index``."""

    def event_point(mode: str) -> KillPoint:
        trigger = rng.choices(["claimed", "between", "arrival", "accepted"], weights=[4, 3, 4, 4])[0]
        if trigger in ("claimed", "between"):
            return KillPoint(mode, trigger, rng.randint(1, 3), 0.0)
        if trigger == "arrival":
            return KillPoint(mode, trigger, rng.randint(1, 12), rng.choice([0.0, rng.uniform(0, 0.015)]))
        return KillPoint(mode, trigger, rng.randint(1, 12), rng.choice([0.0, 0.0, rng.uniform(0, 0.04)]))

    # A fresh interpreter costs ~5 s of CPU: one per dataset killed while starting, and one in every
    # other dataset killed mid-run; the rest are forked.
    points = [
        KillPoint("exec", "start", 0, rng.uniform(0.0, 2.5)),
        event_point("exec" if index % 2 == 0 else "fork"),
    ]
    for _ in range(POINTS_PER_DATASET - 2):
        if rng.random() < 0.15:
            points.append(KillPoint("fork", "start", 0, rng.uniform(0.0, 0.25)))
        else:
            points.append(event_point("fork"))
    return points


@pytest.fixture(scope="module")
def fork_server(tmp_path_factory: pytest.TempPathFactory):
    server = h.ForkServer(tmp_path_factory.mktemp("fork_server"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def sendgrid():
    server = h.ObservedSendGridServer(faults=FaultConfig(latency_ms=LATENCY_MS, seed=SEED))
    server.start()
    yield server
    server.stop()


def worker_id(pid: int) -> str:
    """The id ``lifecycle.daily.dispatch`` claims under."""
    return f"{socket.gethostname()}:{pid}:{h.AS_OF.isoformat()}"


def watch_ledger(
    engine: sa.Engine, worker: str, fire: Callable[[int, int], bool], action: Callable[[], None]
) -> threading.Event:
    """Poll this worker's claims (every ~1 ms) until ``fire(claimed, sending)``; returns a stop event."""
    stop = threading.Event()
    sending = sa.func.sum(sa.case((messages.c.state == SENDING, 1), else_=0))
    statement = sa.select(sa.func.count(), sending).where(messages.c.claimed_by == worker)

    def poll() -> None:
        with engine.connect() as conn:
            while not stop.is_set():
                claimed, in_sending = conn.execute(statement).one()
                conn.rollback()  # end the read, so the next one sees new commits
                if fire(claimed or 0, in_sending or 0):
                    action()
                    return
                stop.wait(0.001)

    threading.Thread(target=poll, name="ledger-watch", daemon=True).start()
    return stop


class Dataset:
    def __init__(self, index: int, url: str, engine: sa.Engine, work_dir: Path, sendgrid, fork_server):
        self.index = index
        self.url = url
        self.engine = engine
        self.work_dir = work_dir
        self.sendgrid = sendgrid
        self.fork_server = fork_server
        self.runs = 0
        self.last_kill = 0.0
        self.env = h.dispatch_env(
            url,
            sendgrid_url=sendgrid.base_url,
            data_dir=work_dir,
            timeout_s=10.0,
            claim_batch=CLAIM_BATCH,
            claim_lease=CLAIM_LEASE_S,
            concurrency=4,
            email_requests_per_s=1000,
        )

    def spawn(self, mode: str) -> h.DispatchProcess:
        self.runs += 1
        name = f"d{self.index}-run{self.runs:02d}-{mode}"
        if mode == "exec":
            return h.ExecProcess(h.dispatch_argv(), self.env, self.work_dir, name)
        return self.fork_server.spawn(h.dispatch_argv(), self.env, self.work_dir, name)

    def planned_left(self) -> int:
        return ledger.state_counts(self.engine).get("planned", 0)

    def settle_server(self) -> None:
        """Requests a killed client left behind still run to their end; wait for them."""
        assert h.wait_until(lambda: self.sendgrid.in_flight == 0, timeout=30), "SendGrid requests hang"

    def run_with_kill(self, point: KillPoint) -> KillOutcome:
        self.settle_server()
        process = self.spawn(point.mode)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        stop_watch: threading.Event | None = None
        timer: threading.Timer | None = None
        if point.trigger == "start":
            timer = threading.Timer(point.delay_s, kill)
            timer.start()
        elif point.trigger in ("arrival", "accepted"):
            self.sendgrid.tap.arm(
                "arrival" if point.trigger == "arrival" else "accept", point.nth, point.delay_s, kill
            )
        elif point.trigger == "claimed":
            threshold = (point.nth - 1) * CLAIM_BATCH + 1
            stop_watch = watch_ledger(
                self.engine, worker_id(process.pid), lambda claimed, _: claimed >= threshold, kill
            )
        else:  # between: r claims' worth of keys recorded
            threshold = point.nth * CLAIM_BATCH
            stop_watch = watch_ledger(
                self.engine,
                worker_id(process.pid),
                lambda claimed, sending: claimed - sending >= threshold,
                kill,
            )
        rc = process.wait(RUN_TIMEOUT_S)
        if timer is not None:
            timer.cancel()
        if stop_watch is not None:
            stop_watch.set()
        self.sendgrid.tap.disarm()
        if rc is None:
            process.kill()
            pytest.fail(
                f"dispatch run {process.pid} did not end within {RUN_TIMEOUT_S} s:\n{process.output()}"
            )
        if rc == 0:
            return KillOutcome(point, killed=False)
        assert rc == -9 and killed.is_set(), f"dispatch run ended with {rc}:\n{process.output()}"
        self.last_kill = time.monotonic()
        self.settle_server()
        at_provider = set(h.sendgrid_keys(self.sendgrid))
        with self.engine.connect() as conn:
            stuck = conn.execute(
                sa.select(messages.c.message_key).where(
                    messages.c.claimed_by == worker_id(process.pid), messages.c.state == SENDING
                )
            ).scalars()
            stuck_keys = set(stuck)
        return KillOutcome(point, True, len(stuck_keys), len(stuck_keys & at_provider))

    def run_to_completion(self) -> None:
        """Wait out the lease of the last killed run's claims, then a run that nobody kills."""
        wait = CLAIM_LEASE_S + 0.05 - (time.monotonic() - self.last_kill)
        if wait > 0:
            # The lease is a clock, not an event: its expiry is what the next run acts on.
            h.wait_until(lambda: time.monotonic() - self.last_kill > CLAIM_LEASE_S + 0.05, timeout=wait + 1)
        self.settle_server()
        process = self.spawn("fork")
        rc = process.wait(RUN_TIMEOUT_S)
        assert rc == 0, f"the final dispatch run ended with {rc}:\n{process.output()}"


def test_sigkill_at_any_point_never_sends_twice_and_loses_nothing(tmp_path, fork_server, sendgrid, capsys):
    started = time.monotonic()
    rng = random.Random(SEED)
    pg_base = postgres_dsn()
    use_pg = pg_base is not None and h.postgres_available(pg_base)
    if os.environ.get("CI") == "true":
        assert use_pg, f"PostgreSQL is required under CI=true but {pg_base} is unreachable"
    outcomes: list[KillOutcome] = []
    totals: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    backends: Counter[str] = Counter()

    for index in range(MAX_DATASETS):
        if index >= DATASETS and sum(o.killed for o in outcomes) >= MIN_KILLS:
            break
        points = schedule(rng, index)
        backend = "postgresql" if use_pg and index % 2 else "sqlite"
        backends[backend] += 1
        work_dir = tmp_path / f"dataset{index}"
        work_dir.mkdir()
        with ledger_database(backend, pg_base, work_dir) as url:
            engine = connect(url)
            migrate(engine)
            sendgrid.reset()
            now = h.utc_now()
            namespace = f"K{index}"
            planned = [
                h.planned_email(namespace, i, CONTENTS, now - h.SEND_AFTER_MARGIN)
                for i in range(MESSAGES_PER_DATASET)
            ]
            assert ledger.plan(engine, planned) == MESSAGES_PER_DATASET
            dataset = Dataset(index, url, engine, work_dir, sendgrid, fork_server)
            for point in points:
                if dataset.planned_left() == 0:
                    break
                clock = time.monotonic()
                outcomes.append(dataset.run_with_kill(point))
                seconds[f"{point.mode} runs"] += time.monotonic() - clock
                if not outcomes[-1].killed:
                    break  # the run finished before its kill point: nothing left to kill
            clock = time.monotonic()
            dataset.run_to_completion()
            dataset.settle_server()
            totals += _verify_dataset(engine, sendgrid, [p.message_key for p in planned])
            seconds["final runs and reconciliation"] += time.monotonic() - clock
            engine.dispose()

    kills = [o for o in outcomes if o.killed]
    by_trigger = Counter(f"{o.point.mode}:{o.point.trigger}" for o in kills)
    left_unrecorded = sum(1 for o in kills if o.stuck_at_provider)
    left_unsent = sum(1 for o in kills if o.stuck_claims > o.stuck_at_provider)
    summary = (
        f"crash safety: {len(kills)} SIGKILLs ({dict(sorted(by_trigger.items()))}) over "
        f"{totals['messages']} messages in {sum(backends.values())} datasets ({dict(backends)}); "
        f"{left_unrecorded} kills left accepted-but-unrecorded sends, {left_unsent} left claimed-but-unsent keys; "
        f"provider duplicates {totals['duplicates']}; unknown reconciled to sent {totals['reconciled']}; "
        f"unknown without provider copy (claim_expired, never resent) {totals['unknown_unsent']}; "
        f"claimed before a request started, planned again and sent once {totals['replanned_then_sent']}; "
        f"sent {totals['sent']}; {time.monotonic() - started:.0f} s "
        f"({', '.join(f'{what} {s:.0f} s' for what, s in sorted(seconds.items()))})"
    )
    with capsys.disabled():
        print(f"\n{summary}")
    assert len(kills) >= MIN_KILLS, summary
    assert totals["duplicates"] == 0, summary
    # The windows that matter were really hit, not just process starts.
    assert left_unrecorded > 0 and left_unsent > 0, summary
    assert totals["reconciled"] > 0 and totals["unknown_unsent"] > 0, summary
    assert totals["replanned_then_sent"] > 0, summary


@contextlib.contextmanager
def ledger_database(backend: str, pg_base: str | None, work_dir: Path) -> Iterator[str]:
    """A fresh ledger: a SQLite file, or a private PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{work_dir / 'ops.sqlite'}"
        return
    assert pg_base is not None
    with private_postgres(pg_base, "lifecycle_crash") as url:
        yield url


def _verify_dataset(engine: sa.Engine, sendgrid, planned_keys: list[str]) -> Counter[str]:
    accepted = h.sendgrid_keys(sendgrid)
    duplicates = {key: n for key, n in accepted.items() if n > 1}
    assert not duplicates, f"SendGrid accepted these keys more than once: {sorted(duplicates)[:10]}"
    assert set(accepted) <= set(planned_keys), "SendGrid accepted keys that were never planned"

    before = h.ledger_rows(engine)
    assert set(before) == set(planned_keys)
    left = Counter(row.state for row in before.values() if row.state not in (*TERMINAL_STATES, UNKNOWN))
    assert not left, f"messages left behind after the final run: {dict(left)}"
    for key, row in before.items():
        if row.state == SENT:
            assert key in accepted, f"{key} is sent in the ledger but SendGrid never accepted it"
        if row.state == UNKNOWN:
            assert row.error_code == "claim_expired" and row.error_reason, row

    # Reconcile: SendGrid reports what it accepted through the signed Event Webhook.
    with h.webhook_receiver(
        load_settings(), engine, sendgrid_public_key=sendgrid.public_key, twilio_auth_token=None
    ) as receiver_url:
        sendgrid.configure_webhooks(url=f"{receiver_url}/webhooks/sendgrid/events")
        emitted = sendgrid.emit(outcomes=ONLY_EVENTS)
        assert sendgrid.flush_webhooks(timeout=60)
    assert {e["event"] for e in emitted} == {"processed", "delivered"}
    deliveries = sendgrid.webhook_deliveries()
    assert deliveries and all(d["delivered"] for d in deliveries if d["final"]), deliveries[-1:]

    after = h.ledger_rows(engine)
    unknown_unsent = 0
    for key, row in after.items():
        if key in accepted:
            assert row.state == SENT, f"{key}: SendGrid has it, the ledger says {row.state}"
        else:
            assert row.state != SENT, f"{key} is sent but SendGrid never accepted it"
            # Its request had started when the worker was killed: unknown, never claimed again.
            assert (row.state, row.error_code) == (UNKNOWN, "claim_expired"), row
            assert before[key].state == UNKNOWN
            assert row.error_reason
            unknown_unsent += 1
    reconciled = sum(1 for k, row in before.items() if row.state == UNKNOWN and after[k].state == SENT)
    return Counter(
        messages=len(planned_keys),
        duplicates=len(duplicates),
        reconciled=reconciled,
        unknown_unsent=unknown_unsent,
        replanned_then_sent=sum(1 for row in after.values() if row.state == SENT and row.attempts > 1),
        sent=sum(1 for row in after.values() if row.state == SENT),
    )
