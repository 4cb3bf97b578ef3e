"""Dispatch through the official clients while a fifth of the provider requests fail: 429 with a reset
time, 500, 503, timeouts before and after acceptance, connection resets.

Proves, over a few thousand emails and a few hundred SMS to Australian mobiles:

- every message ends ``sent`` or, when the answer was ambiguous, ``unknown`` with the reason; after the
  providers' signed events reach the webhook receiver, exactly the messages a provider accepted are
  ``sent``;
- no provider ever accepted a key twice, and a key was sent again only after an answer that proves
  nothing was queued (429, 500, 503), never after a timeout, a reset or an acceptance;
- backoff honours SendGrid's ``X-RateLimit-Reset``: the retry of a rate-limited request never reaches
  the server before the reset time, and with one sending thread no request at all does.

Arrival times come from the servers' request log (``arrived_at``, stamped when the request reaches
the server).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lifecycle.dispatch.dispatcher import DispatchConfig, Dispatcher, Senders
from lifecycle.dispatch.send_mode import SendMode
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import SENT, UNKNOWN
from lifecycle.provider_servers import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_AUTH_TOKEN,
    EmailOutcomes,
    FaultConfig,
    SmsOutcomes,
)
from lifecycle.providers.sendgrid_email import SendGridEmailSender, SendGridSettings
from lifecycle.providers.twilio_sms import TwilioSettings, TwilioSmsSender
from lifecycle.settings import load_settings
from tests import dispatch_harness as h

pytestmark = pytest.mark.integration

EMAILS = 3000
SMS = 300
CONTENTS = 150  # ~150 distinct contents per claim of 2,000: about 300 SendGrid requests in all
CLIENT_TIMEOUT_S = 2.0  # well above a loaded machine's answer time, below the servers' hold
FAULTS = {
    "rate_limited": 0.04,
    "server_error": 0.03,
    "unavailable": 0.03,
    "timeout": 0.03,
    "accepted_then_timeout": 0.04,
    "connection_reset": 0.03,
}
RETRYABLE_FAULTS = {"rate_limited", "server_error", "unavailable"}
AMBIGUOUS_FAULTS = {"timeout", "accepted_then_timeout", "connection_reset"}
AMBIGUOUS_CODES = {"no_response", "network_error", "connection_lost"}
MAX_ATTEMPTS = 8
QUIET_EMAIL = EmailOutcomes(dropped=0, bounce=0, deferred=0, open=0, click=0, unsubscribe=0, spamreport=0)
QUIET_SMS = SmsOutcomes(failed=0, undelivered=0, stop_reply=0)


def fault_config(seed: int) -> FaultConfig:
    # Held requests outlast the client's timeout, so a timeout really is one.
    return FaultConfig(latency_ms=5, hold_seconds=6.0, seed=seed, **FAULTS)


def senders(sendgrid, twilio) -> Senders:
    email = SendGridSettings(api_key=DEFAULT_API_KEY, host=sendgrid.base_url, timeout_s=CLIENT_TIMEOUT_S)
    sms = TwilioSettings(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, twilio.base_url, timeout_s=CLIENT_TIMEOUT_S)
    return Senders(email=lambda: SendGridEmailSender(email), sms=lambda: TwilioSmsSender(sms))


def dispatch_until_settled(engine, settings, sendgrid, twilio, config: DispatchConfig) -> list[dict]:
    """Run as the daily task would, again while a run deferred work (a provider kept refusing)."""
    reports = []
    for _ in range(5):
        dispatcher = Dispatcher(
            engine, settings, senders(sendgrid, twilio), "faults-worker", SendMode.LIVE, config
        )
        reports.append(dispatcher.run(h.AS_OF).as_dict())
        if ledger.state_counts(engine).get("planned", 0) == 0:
            return reports
    pytest.fail(f"messages still planned after 5 runs: {reports}")


def sendgrid_request_keys(entry: dict) -> list[str]:
    body = json.loads(entry["body"])
    return [p["custom_args"]["lc_message_key"] for p in body["personalizations"]]


def twilio_request_keys(entry: dict) -> list[str]:
    form = parse_qs(entry["body"])
    return parse_qs(urlsplit(form["StatusCallback"][0]).query)["lc_message_key"]


def requests_per_key(entries: list[dict], keys_of) -> dict[str, list[dict]]:
    per_key: dict[str, list[dict]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e["arrived_at"]):
        for key in keys_of(entry):
            per_key[key].append(entry)
    return per_key


def test_faults_on_a_fifth_of_requests_end_every_message_once(tmp_path: Path, capsys):
    started = time.monotonic()
    engine = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(engine)
    now = h.utc_now()
    phones = h.australian_mobiles(SMS, seed=61)
    planned = [h.planned_email("F", i, CONTENTS, now - h.SEND_AFTER_MARGIN) for i in range(EMAILS)]
    planned += [h.planned_sms("F", i, phone, now - h.SEND_AFTER_MARGIN) for i, phone in enumerate(phones)]
    assert ledger.plan(engine, planned) == EMAILS + SMS

    sendgrid = h.ObservedSendGridServer(faults=fault_config(seed=11))
    twilio = h.ObservedTwilioServer(faults=fault_config(seed=12))
    with sendgrid, twilio:
        with h.webhook_receiver(
            load_settings(),
            engine,
            sendgrid_public_key=sendgrid.public_key,
            twilio_auth_token=DEFAULT_AUTH_TOKEN,
        ) as receiver_url:
            settings = dataclasses.replace(
                load_settings(),
                templates_dir=h.make_templates(tmp_path / "templates"),
                unsubscribe_secret=h.UNSUBSCRIBE_SECRET,
                public_base_url=receiver_url,  # Twilio status callbacks come back here
            )
            config = DispatchConfig(
                concurrency=8,
                max_attempts=MAX_ATTEMPTS,
                max_backoff_s=2.0,
                email_requests_per_s=200,
                sms_requests_per_s=200,
            )
            reports = dispatch_until_settled(engine, settings, sendgrid, twilio, config)
            dispatched_s = time.monotonic() - started
            before = h.ledger_rows(engine)

            sendgrid.configure_webhooks(url=f"{receiver_url}/webhooks/sendgrid/events")
            sendgrid.emit(outcomes=QUIET_EMAIL)
            twilio.emit(outcomes=QUIET_SMS)
            assert sendgrid.flush_webhooks(timeout=60) and twilio.flush_webhooks(timeout=60)
            deliveries = sendgrid.webhook_deliveries() + twilio.webhook_deliveries()
            assert deliveries and all(d["delivered"] for d in deliveries if d["final"]), [
                d for d in deliveries if not d["delivered"]
            ][:3]
        after = h.ledger_rows(engine)
        sg_log, tw_log = sendgrid.requests(), twilio.requests()
        sg_accepted, tw_accepted = h.sendgrid_keys(sendgrid), h.twilio_keys(twilio)
    engine.dispose()

    # Every fault kind really happened at both providers.
    for name, log in (("sendgrid", sg_log), ("twilio", tw_log)):
        seen = Counter(entry["fault"] for entry in log)
        assert set(FAULTS) <= set(seen), f"{name} never saw {set(FAULTS) - set(seen)}: {seen}"

    # Zero duplicates at either provider, and nothing accepted that was never planned.
    planned_keys = {p.message_key for p in planned}
    for accepted in (sg_accepted, tw_accepted):
        assert not {k: n for k, n in accepted.items() if n > 1}
        assert set(accepted) <= planned_keys
    accepted_keys = set(sg_accepted) | set(tw_accepted)

    # A key is resent only after an answer that proves nothing was queued.
    per_key = requests_per_key(sg_log, sendgrid_request_keys) | requests_per_key(tw_log, twilio_request_keys)
    assert set(per_key) == planned_keys
    for key, attempts in per_key.items():
        earlier = [a["fault"] for a in attempts[:-1]]
        assert all(f in RETRYABLE_FAULTS for f in earlier), (key, [a["fault"] for a in attempts])

    # Before reconciliation: sent where the answer was an acceptance, unknown (with why) where it was
    # ambiguous, and nothing else.
    assert set(before) == planned_keys
    states = Counter(row.state for row in before.values())
    assert set(states) <= {SENT, UNKNOWN}, states
    late_answers = 0
    for key, row in before.items():
        last = per_key[key][-1]
        if row.state == SENT:
            assert last["fault"] is None and last["status"] in (201, 202), (row, last["fault"])
            assert row.provider_message_id
            continue
        assert row.error_code in AMBIGUOUS_CODES and row.error_reason, row
        if last["fault"] not in AMBIGUOUS_FAULTS:
            # Accepted, but answered after the client stopped waiting (a loaded machine): as ambiguous
            # as an injected timeout, and treated the same.
            assert last["fault"] is None and "timed out" in row.error_reason.lower(), (row, last)
            late_answers += 1

    # After the providers' events: exactly what a provider accepted is sent.
    for key, row in after.items():
        if key in accepted_keys:
            assert row.state == SENT and row.provider_message_id, row
        else:
            assert row.state == UNKNOWN and row.error_code in AMBIGUOUS_CODES and row.error_reason, row
            assert per_key[key][-1]["fault"] in ("timeout", "connection_reset"), row
    reconciled = sum(1 for k in after if before[k].state == UNKNOWN and after[k].state == SENT)
    assert reconciled > 0

    # The retry of a rate-limited SendGrid request never arrives before X-RateLimit-Reset.
    retried_after_429 = 0
    bodies = defaultdict(list)
    for entry in sorted(sg_log, key=lambda e: e["arrived_at"]):
        bodies[entry["body"]].append(entry)
    for attempts in bodies.values():
        for limited, retry in itertools.pairwise(attempts):
            if limited["fault"] == "rate_limited":
                assert retry["arrived_at"] >= limited["rate_limit_reset"], (limited, retry)
                retried_after_429 += 1
    assert retried_after_429 > 0

    unknown_left = sum(1 for row in after.values() if row.state == UNKNOWN)
    with capsys.disabled():
        print(
            f"\nfaults: {EMAILS} emails + {SMS} SMS, {len(sg_log)} SendGrid and {len(tw_log)} Twilio requests "
            f"({dict(Counter(e['fault'] for e in sg_log + tw_log if e['fault']))}); runs {reports}; "
            f"duplicates 0; unknown reconciled {reconciled} ({late_answers} answered after the client timeout); "
            f"unknown left (no provider accepted them) {unknown_left}; "
            f"429 retries checked {retried_after_429}; dispatch {dispatched_s:.1f} s, total {time.monotonic() - started:.1f} s"
        )


def test_one_sending_thread_waits_for_the_rate_limit_reset(tmp_path: Path, capsys):
    """With one thread, no request at all reaches SendGrid between a 429 and its reset time."""
    engine = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(engine)
    now = h.utc_now()
    # One distinct content per message: one request per message.
    ledger.plan(engine, [h.planned_email("B", i, 16, now - h.SEND_AFTER_MARGIN) for i in range(16)])
    settings = dataclasses.replace(load_settings(), unsubscribe_secret=h.UNSUBSCRIBE_SECRET)
    sendgrid = h.ObservedSendGridServer(faults=FaultConfig(rate_limited=0.35, seed=5))
    with sendgrid:
        email = SendGridSettings(api_key=DEFAULT_API_KEY, host=sendgrid.base_url, timeout_s=5.0)
        config = DispatchConfig(concurrency=1, max_attempts=10, max_backoff_s=5.0, email_requests_per_s=200)
        report = Dispatcher(
            engine, settings, Senders(email=lambda: SendGridEmailSender(email)), "w", SendMode.LIVE, config
        ).run(h.AS_OF)
        log = sorted(sendgrid.requests(), key=lambda e: e["arrived_at"])
        accepted = h.sendgrid_keys(sendgrid)
    engine.dispose()
    assert report.as_dict() == {"sent": 16}
    assert len(accepted) == 16 and set(accepted.values()) == {1}
    limited = [i for i, entry in enumerate(log) if entry["fault"] == "rate_limited"]
    assert len(limited) >= 3, Counter(e["fault"] for e in log)
    for i in limited:
        assert i + 1 < len(log), "a 429 was the last request: its message was not retried"
        assert log[i + 1]["arrived_at"] >= log[i]["rate_limit_reset"], (log[i], log[i + 1])
    with capsys.disabled():
        print(
            f"\nbackoff: {len(log)} requests, {len(limited)} answered 429, each next one after the reset time"
        )
