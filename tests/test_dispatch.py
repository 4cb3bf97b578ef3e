"""Dispatch through the official clients against the local SendGrid and Twilio contract servers."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from lifecycle.dispatch.dispatcher import (
    CredentialsRefused,
    DispatchConfig,
    Dispatcher,
    Senders,
    channel_context,
)
from lifecycle.dispatch.send_mode import SendMode
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import messages
from lifecycle.ops_store.suppressions import suppress, suppression_reason
from lifecycle.provider_servers import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_AUTH_TOKEN,
    FaultConfig,
    SendGridServer,
    TwilioServer,
)
from lifecycle.providers.sendgrid_email import SendGridEmailSender, SendGridSettings
from lifecycle.providers.twilio_sms import TwilioSettings, TwilioSmsSender
from lifecycle.sequences import sample_context
from lifecycle.settings import REPO_ROOT, load_settings
from lifecycle.templating import TemplateRenderer
from lifecycle.unsubscribe import unsubscribe_url, verify_unsubscribe_signature

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
SECRET = "test-unsubscribe-secret"
CONTEXT = {
    "first_name": "Ada",
    "plan_name": "Team (monthly)",
    "entry_reason": "You started a trial today.",
    "locale": "en-US",
}


def message(
    i: int,
    *,
    channel: str = "email",
    recipient: str | None = None,
    template: str = "welcome_day_0",
    **context,
) -> ledger.PlannedMessage:
    return ledger.PlannedMessage(
        message_key=f"welcome:C{i:05d}:{AS_OF}:day_0",
        enrollment_id=f"welcome:C{i:05d}:{AS_OF}",
        customer_id=f"C{i:05d}",
        contact_id=f"P{i:05d}",
        sequence="welcome",
        step="day_0",
        channel=channel,
        template=template,
        recipient=recipient or f"user{i}@example.com",
        time_zone="America/New_York",
        context={**CONTEXT, "first_name": f"User{i}", **context},
        as_of_date=AS_OF,
        send_after=NOW - timedelta(hours=1),
    )


@pytest.fixture
def settings(tmp_path: Path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO_ROOT / "include" / "templates", templates)
    (templates / "sms").mkdir(exist_ok=True)
    (templates / "sms" / "nudge.txt.j2").write_text(
        "{{ sender_name }}: hi {{ first_name }}, {{ note }} Reply STOP to opt out."
    )
    return dataclasses.replace(
        load_settings(),
        templates_dir=templates,
        unsubscribe_secret=SECRET,
        ops_db_url=f"sqlite:///{tmp_path / 'ops.sqlite'}",
    )


@pytest.fixture
def engine(settings):
    eng = connect(settings.ops_db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sendgrid():
    with SendGridServer() as server:
        yield server


@pytest.fixture
def twilio():
    with TwilioServer() as server:
        yield server


def senders(sendgrid=None, twilio=None) -> Senders:
    email = sms = None
    if sendgrid is not None:
        email_settings = SendGridSettings(api_key=DEFAULT_API_KEY, host=sendgrid.base_url, timeout_s=2.0)
        email = lambda: SendGridEmailSender(email_settings)  # noqa: E731
    if twilio is not None:
        sms_settings = TwilioSettings(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, twilio.base_url, timeout_s=2.0)
        sms = lambda: TwilioSmsSender(sms_settings)  # noqa: E731
    return Senders(email=email, sms=sms)


def dispatch(engine, settings, sendgrid=None, twilio=None, mode=SendMode.LIVE, **config):
    config = DispatchConfig(
        **{"max_backoff_s": 1.0, "email_requests_per_s": 1000, "sms_requests_per_s": 1000, **config}
    )
    return Dispatcher(engine, settings, senders(sendgrid, twilio), "test-worker", mode, config).run(
        AS_OF, now=NOW
    )


def content(recorded: dict, kind: str) -> str:
    return next(c["value"] for c in recorded["content"] if c["type"] == f"text/{kind}")


def states(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(messages.select()).all()
    return {r.message_key: (r.state, r.error_code, r.error_reason, r.provider_message_id) for r in rows}


def test_email_goes_out_in_batches_of_1000_with_key_unsubscribe_and_category(engine, settings, sendgrid):
    ledger.plan(engine, [message(i) for i in range(2500)], now=NOW)
    report = dispatch(engine, settings, sendgrid)
    assert report.as_dict() == {"sent": 2500}
    accepted = [r for r in sendgrid.requests() if r["status"] == 202]
    assert sorted(len(json.loads(r["body"])["personalizations"]) for r in accepted) == [500, 1000, 1000]
    recorded = sendgrid.messages()
    assert len(recorded) == 2500
    first = next(
        m for m in recorded if m["custom_args"]["lc_message_key"] == "welcome:C00007:2026-11-20:day_0"
    )
    assert first["to"] == ["user7@example.com"]
    assert first["subject"] == "Welcome to Northwind Cloud, User7: your first 10 minutes"
    assert first["categories"] == ["welcome"]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = first["headers"]["List-Unsubscribe"].strip("<>")
    signature = url.split("&s=")[1]
    assert verify_unsubscribe_signature(SECRET, "welcome:C00007:2026-11-20:day_0", signature)
    assert url.replace("&", "&amp;") in content(first, "html") and url in content(first, "plain")
    ledger_rows = states(engine)
    assert {row[0] for row in ledger_rows.values()} == {"sent"}
    assert all(row[3] for row in ledger_rows.values())  # X-Message-Id kept for event mapping
    # Re-running the day sends nothing more.
    assert dispatch(engine, settings, sendgrid).as_dict() == {}
    assert len(sendgrid.messages()) == 2500


def cross_sell_messages(people: list[dict]) -> list[ledger.PlannedMessage]:
    """cross_sell day_0 messages with the sample context, each overridden by one person's fields."""
    base = {**sample_context("cross_sell", "day_0"), "locale": "en-US"}
    return [
        dataclasses.replace(
            message(i, template="cross_sell_day_0"),
            message_key=f"cross_sell:C{i:05d}:{AS_OF}:day_0",
            sequence="cross_sell",
            step="day_0",
            context={**base, **person},
        )
        for i, person in enumerate(people)
    ]


def assert_each_got_the_plain_rendering(settings, sendgrid, planned: list[ledger.PlannedMessage]) -> dict:
    """Every recipient received exactly what the plain renderer makes of their message (subject, HTML and
    text, after SendGrid's substitutions); returns the recorded emails by message key."""
    renderer = TemplateRenderer(settings.templates_dir)
    recorded = {m["custom_args"]["lc_message_key"]: m for m in sendgrid.messages()}
    for sent in planned:
        link = unsubscribe_url(settings.public_base_url, SECRET, sent.message_key)
        plain = renderer.render_email(
            sent.template, channel_context(sent.context, settings.brand, "email", link)
        )
        got = recorded[sent.message_key]
        assert (got["subject"], content(got, "html"), content(got, "plain")) == (
            plain.subject,
            plain.html,
            plain.text,
        )
    return recorded


def test_recipients_of_a_sequence_step_share_a_request_and_get_exactly_the_plain_rendering(
    engine, settings, sendgrid
):
    """cross_sell_day_0 prints the name, company and reason bare (substituted per recipient) and only
    tests need_signal: recipients differing in those share a request. A different add-on changes the
    rendered text (a separate request), and so does a missing company, which stays in the rendering."""
    people = [
        {"first_name": "Ann", "company_name": "R&D <Labs>", "entry_reason": "Since your team used automation 71 times.",
         "need_signal": "used automation 71 times in the last 28 days"},
        {"first_name": "Bo", "company_name": "Fjörd Health", "entry_reason": "Since your team used automation 3 times.",
         "need_signal": "used automation 3 times in the last 28 days"},
        {"first_name": "Cy", "company_name": None, "entry_reason": "Since your team used automation 9 times."},
        {"first_name": "Di", "recommended_addon_id": "api_addon", "recommended_addon_name": "API Plus"},
    ]  # fmt: skip
    planned = cross_sell_messages(people)
    ledger.plan(engine, planned, now=NOW)
    assert dispatch(engine, settings, sendgrid).as_dict() == {"sent": 4}
    accepted = [json.loads(r["body"]) for r in sendgrid.requests() if r["status"] == 202]
    assert sorted(len(body["personalizations"]) for body in accepted) == [1, 1, 2]
    recorded = assert_each_got_the_plain_rendering(settings, sendgrid, planned)
    assert "R&amp;D &lt;Labs&gt;" in content(recorded[planned[0].message_key], "html")


def test_values_too_long_for_substitutions_go_into_the_content_of_their_own_request(
    engine, settings, sendgrid
):
    """SendGrid refuses more than 10,000 bytes of substitutions in a personalization: a recipient whose
    company name alone is longer still gets exactly the plain rendering, in a request of its own, while
    the others share one."""
    companies = ["Short Co", "Acme & Sons " * 450, "Other Co"]  # 5,400 characters, twice (text and HTML)
    planned = cross_sell_messages([{"company_name": company} for company in companies])
    ledger.plan(engine, planned, now=NOW)
    assert dispatch(engine, settings, sendgrid).as_dict() == {"sent": 3}
    accepted = [json.loads(r["body"]) for r in sendgrid.requests() if r["status"] == 202]
    assert [r for r in sendgrid.requests() if r["status"] != 202] == []
    assert sorted(len(body["personalizations"]) for body in accepted) == [1, 2]
    alone = next(body for body in accepted if len(body["personalizations"]) == 1)
    assert "substitutions" not in alone["personalizations"][0]
    assert_each_got_the_plain_rendering(settings, sendgrid, planned)


def test_bad_rows_fail_alone_while_the_batch_goes_on(engine, settings, sendgrid):
    planned = [message(i) for i in range(5)]
    planned += [
        message(10, recipient="not-an-address"),
        message(11, first_name="<script>alert(1)</script>"),
        message(12),
        message(13, template="no_such_template"),
    ]
    ledger.plan(engine, planned, now=NOW)
    suppress(engine, "email", "USER3@example.com", "unsubscribe", "one_click")
    report = dispatch(engine, settings, sendgrid)
    assert report.as_dict() == {"failed": 2, "sent": 6, "suppressed": 1}
    rows = states(engine)
    assert rows["welcome:C00010:2026-11-20:day_0"][:2] == ("failed", "invalid_address")
    assert rows["welcome:C00013:2026-11-20:day_0"][:2] == ("failed", "template_error")
    assert "email/no_such_template/subject.txt.j2" in rows["welcome:C00013:2026-11-20:day_0"][2]
    assert rows["welcome:C00003:2026-11-20:day_0"][:2] == ("skipped", "suppressed")
    escaped = next(m for m in sendgrid.messages() if m["to"] == ["user11@example.com"])
    assert "<script>" not in content(escaped, "html") and "&lt;script&gt;" in content(escaped, "html")
    assert "Hi <script>alert(1)</script>," in content(escaped, "plain")


def test_missing_template_variable_fails_with_the_variable_named(engine, settings, sendgrid):
    planned = message(1)
    planned = dataclasses.replace(
        planned, context={k: v for k, v in planned.context.items() if k != "plan_name"}
    )
    ledger.plan(engine, [planned, message(2)], now=NOW)
    assert dispatch(engine, settings, sendgrid).as_dict() == {"failed": 1, "sent": 1}
    state, code, reason, _ = states(engine)[planned.message_key]
    assert (state, code) == ("failed", "template_error") and "'plan_name' is undefined" in reason


def test_a_repeated_address_never_shares_a_request(engine, settings, sendgrid):
    ledger.plan(engine, [message(i, recipient="shared@example.com") for i in range(3)], now=NOW)
    assert dispatch(engine, settings, sendgrid).as_dict() == {"sent": 3}
    accepted = [r for r in sendgrid.requests() if r["status"] == 202]
    assert [len(json.loads(r["body"])["personalizations"]) for r in accepted] == [1, 1, 1]


def test_rate_limits_and_server_errors_are_retried_without_duplicates(engine, settings, sendgrid):
    sendgrid.set_faults(FaultConfig(rate_limited=0.3, server_error=0.2, seed=3))
    # 40 distinct add-on prices (the template formats the price, so it cannot be substituted): 40 requests
    base = sample_context("cross_sell", "day_0")
    planned = [
        message(
            i,
            template="cross_sell_day_0",
            **{**base, "first_name": f"U{i}", "addon_monthly_price": 20.0 + i % 40},
        )
        for i in range(400)
    ]
    ledger.plan(engine, planned, now=NOW)
    report = dispatch(engine, settings, sendgrid, max_attempts=12)
    assert report.as_dict() == {"sent": 400}
    keys = [m["custom_args"]["lc_message_key"] for m in sendgrid.messages()]
    assert len(keys) == len(set(keys)) == 400
    statuses = {r["status"] for r in sendgrid.requests()}
    assert {429, 500, 202} <= statuses


def test_a_timeout_after_acceptance_is_unknown_and_never_resent(engine, settings, sendgrid):
    sendgrid.set_faults(FaultConfig(accepted_then_timeout=1.0, hold_seconds=5))
    ledger.plan(engine, [message(1)], now=NOW)
    assert dispatch(engine, settings, sendgrid).as_dict() == {"unknown": 1}
    assert len(sendgrid.messages()) == 1  # the provider has it
    sendgrid.set_faults(FaultConfig())
    assert dispatch(engine, settings, sendgrid).as_dict() == {}
    assert len(sendgrid.messages()) == 1


def test_a_provider_that_keeps_refusing_defers_to_the_next_run(engine, settings, sendgrid):
    sendgrid.set_faults(FaultConfig(unavailable=1.0))
    ledger.plan(engine, [message(1)], now=NOW)
    assert dispatch(engine, settings, sendgrid, max_attempts=2).as_dict() == {"deferred": 1}
    assert states(engine)["welcome:C00001:2026-11-20:day_0"][0] == "planned"
    sendgrid.set_faults(FaultConfig())
    assert dispatch(engine, settings, sendgrid).as_dict() == {"sent": 1}


def test_refused_credentials_leave_every_message_planned_and_fail_the_run(engine, settings, sendgrid, twilio):
    ledger.plan(engine, [message(i) for i in range(3)] + [sms(9, "+61412345678")], now=NOW)
    wrong = Senders(
        email=lambda: SendGridEmailSender(SendGridSettings("SG.wrong-key", sendgrid.base_url, timeout_s=2.0)),
        sms=lambda: TwilioSmsSender(TwilioSettings(DEFAULT_ACCOUNT_SID, "wrong-token", twilio.base_url, 2.0)),
    )
    config = DispatchConfig(email_requests_per_s=1000, sms_requests_per_s=1000)
    with pytest.raises(CredentialsRefused, match=r"sendgrid \(HTTP 401.*twilio \(HTTP 20003") as refused:
        Dispatcher(engine, settings, wrong, "test-worker", SendMode.LIVE, config).run(AS_OF, now=NOW)
    assert "Fix the Airflow connection" in str(refused.value)
    assert {state for state, *_ in states(engine).values()} == {"planned"}
    assert sendgrid.messages() == [] and twilio.messages() == []
    # Once the connection is fixed, the next run sends each message once.
    assert dispatch(engine, settings, sendgrid, twilio).as_dict() == {"sent": 4}


def test_simulated_runs_call_no_provider(engine, settings, sendgrid):
    ledger.plan(engine, [message(i) for i in range(3)], now=NOW)
    assert dispatch(engine, settings, sendgrid, mode=SendMode.SIMULATE).as_dict() == {"simulated": 3}
    assert sendgrid.requests() == []


def test_claims_of_a_dead_worker_are_resent_only_if_they_never_left(engine, settings, sendgrid):
    ledger.plan(engine, [message(1), message(2)], now=NOW)
    ledger.claim_due(engine, "crashed-worker", 10, now=NOW - timedelta(hours=1))
    ledger.mark_request_started(engine, ["welcome:C00002:2026-11-20:day_0"])
    report = dispatch(engine, settings, sendgrid)
    assert report.as_dict() == {"sent": 1, "unknown": 1}
    assert states(engine)["welcome:C00002:2026-11-20:day_0"][:2] == ("unknown", "claim_expired")
    assert [m["custom_args"]["lc_message_key"] for m in sendgrid.messages()] == [
        "welcome:C00001:2026-11-20:day_0"
    ]


def sms(i: int, phone: str, note: str = "your trial ends soon.") -> ledger.PlannedMessage:
    return message(i, channel="sms", recipient=phone, template="nudge", note=note)


def test_sms_goes_out_and_bad_numbers_fail_alone(engine, settings, twilio):
    ledger.plan(
        engine,
        [
            sms(1, "+61412345678"),
            sms(2, "+14155550123"),
            sms(3, "+442079460123"),  # a London landline
            sms(4, "0412 345 678"),  # not E.164
            sms(5, "+61412345679", note="x" * 700),  # five segments
        ],
        now=NOW,
    )
    report = dispatch(engine, settings, twilio=twilio)
    assert report.as_dict() == {"failed": 3, "sent": 2}
    rows = states(engine)
    assert rows["welcome:C00001:2026-11-20:day_0"][3].startswith("SM")
    assert rows["welcome:C00003:2026-11-20:day_0"][1] == "not_mobile"
    assert rows["welcome:C00004:2026-11-20:day_0"][1] == "invalid_phone"
    assert rows["welcome:C00005:2026-11-20:day_0"][1] == "sms_too_long"
    sent = {m["to"]: m for m in twilio.messages()}
    assert set(sent) == {"+61412345678", "+14155550123"}
    assert (
        sent["+61412345678"]["body"]
        == "Northwind Cloud: hi User1, your trial ends soon. Reply STOP to opt out."
    )


def test_an_sms_to_someone_who_replied_stop_is_failed_and_suppressed(engine, settings, twilio):
    twilio.inbound(from_="+61412345678", body="STOP", to=settings.brand.sms_from)
    ledger.plan(engine, [sms(1, "+61412345678")], now=NOW)
    assert dispatch(engine, settings, twilio=twilio).as_dict() == {"failed": 1}
    assert states(engine)["welcome:C00001:2026-11-20:day_0"][1] == "21610"
    assert suppression_reason(engine, "sms", "+61412345678") == "provider_opt_out (via twilio)"
