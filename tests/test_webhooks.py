"""The webhook receiver on SQLite and PostgreSQL: only signed requests count, each event counts once,
opt-outs reach the dispatcher's suppression check, and no address or phone number reaches a log."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.ops_store.schema import consent_changes, delivery_events, messages, suppressions
from lifecycle.ops_store.suppressions import suppression_reason
from lifecycle.settings import load_settings
from lifecycle.sms_rules import Keyword, match_keyword
from lifecycle.unsubscribe import unsubscribe_signature
from lifecycle.webhooks import create_app
from tests.conftest import migrated_store, private_postgres

REPO_ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PUBLIC = "https://hooks.example.test"
TOKEN = "twilio-auth-token-for-tests"
SECRET = "unsubscribe-secret-for-tests"
EMAIL = "jane.doe@example.com"
PHONE = "+14155550123"
SIG, STAMP = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"

SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_headers(body: bytes, timestamp: int, key: ec.EllipticCurvePrivateKey = SIGNING_KEY) -> dict:
    signature = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIG: base64.b64encode(signature).decode(),
        STAMP: str(timestamp),
        "Content-Type": "application/json",
    }


def sg_event(kind: str, event_id: str, email: str = EMAIL, **fields) -> dict:
    return {
        "email": email,
        "event": kind,
        "sg_event_id": event_id,
        "timestamp": int(NOW.timestamp()),
        **fields,
    }


# --- stores ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """A private PostgreSQL database for this module, dropped afterwards."""
    with (
        private_postgres(request.getfixturevalue("pg_url"), "lifecycle_webhooks") as url,
        migrated_store(url) as engine,
    ):
        yield engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("pg_engine")
    with eng.begin() as conn:
        for table in (delivery_events, consent_changes, suppressions, messages):
            conn.execute(table.delete())
    yield eng


def settings(**changes):
    return dataclasses.replace(
        load_settings(), **{"public_base_url": PUBLIC, "unsubscribe_secret": SECRET, **changes}
    )


@pytest.fixture
def client(engine: sa.Engine) -> TestClient:
    app = create_app(
        settings(),
        engine,
        sendgrid_public_key=public_key_b64(SIGNING_KEY),
        twilio_auth_token=TOKEN,
        clock=lambda: NOW,
    )
    return TestClient(app)


def plan_message(engine: sa.Engine, key: str, channel: str = "email", recipient: str = EMAIL) -> None:
    ledger.plan(
        engine,
        [
            ledger.PlannedMessage(
                message_key=key,
                enrollment_id=key.rsplit(":", 1)[0],
                customer_id="C00001",
                contact_id="P00001",
                sequence="welcome",
                step=key.rsplit(":", 1)[1],
                channel=channel,
                template="welcome_day_0",
                recipient=recipient,
                time_zone="America/New_York",
                context={},
                as_of_date=date(2026, 11, 20),
                send_after=NOW - timedelta(hours=1),
            )
        ],
        now=NOW,
    )


def send_outcome(engine: sa.Engine, key: str, state: str, provider_message_id: str | None = None) -> None:
    """Claim a planned message, then record how its send ended, as the dispatcher does."""
    [claimed] = ledger.claim_due(engine, "test-worker", 1, now=NOW)
    assert claimed.message_key == key
    with engine.begin() as conn:
        conn.execute(
            messages.update()
            .where(messages.c.message_key == key)
            .values(state=state, provider_message_id=provider_message_id, error_code=f"{state}-code")
        )


def rows(engine: sa.Engine, table: sa.Table, *order_by) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(*order_by)).all()


def message_row(engine: sa.Engine, key: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(messages).where(messages.c.message_key == key)).one()


def post_sendgrid(client: TestClient, events: list, timestamp: int | None = None, **sign):
    body = json.dumps(events).encode()
    headers = sendgrid_headers(body, int(NOW.timestamp()) if timestamp is None else timestamp, **sign)
    return client.post("/webhooks/sendgrid/events", content=body, headers=headers)


def post_twilio(
    client: TestClient, path: str, params: dict, url: str | None = None, token: str = TOKEN, headers=None
):
    signature = RequestValidator(token).compute_signature(url or f"{PUBLIC}{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})


def inbound(body: str, sid: str, sender: str = PHONE) -> dict:
    return {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, "AccountSid": "AC1"}


# --- SendGrid -------------------------------------------------------------------------------------


def test_sendgrid_refuses_unsigned_forged_tampered_and_stale_requests(client, engine):
    events = [sg_event("unsubscribe", "ev-1")]
    body = json.dumps(events).encode()
    now = int(NOW.timestamp())
    unsigned = client.post("/webhooks/sendgrid/events", content=body)
    forged = post_sendgrid(client, events, key=OTHER_KEY)
    tampered = client.post(
        "/webhooks/sendgrid/events",
        content=json.dumps([sg_event("unsubscribe", "ev-2")]).encode(),
        headers=sendgrid_headers(body, now),
    )
    garbage = client.post(
        "/webhooks/sendgrid/events", content=body, headers={SIG: "not base64!", STAMP: str(now)}
    )
    stale = post_sendgrid(client, events, timestamp=now - 301)
    future = post_sendgrid(client, events, timestamp=now + 301)
    for response in (unsigned, forged, tampered, garbage, stale, future):
        assert response.status_code == 403
    assert stale.json()["detail"] == future.json()["detail"] == "stale timestamp"
    assert rows(engine, delivery_events) == [] and rows(engine, suppressions) == []
    assert post_sendgrid(client, events, timestamp=now - 299).status_code == 200  # inside the window


def test_sendgrid_replays_and_duplicate_events_are_stored_once(client, engine):
    events = [sg_event("delivered", "ev-1"), sg_event("open", "ev-2"), sg_event("delivered", "ev-1")]
    first = post_sendgrid(client, events)
    assert first.json() == {"received": 3, "new": 2, "duplicates": 1, "ignored": 0}
    replay = post_sendgrid(client, events)  # the same signed request again, within the window
    assert replay.status_code == 200 and replay.json()["new"] == 0
    assert [
        (r.provider, r.provider_event_id) for r in rows(engine, delivery_events, "provider_event_id")
    ] == [
        ("sendgrid", "ev-1"),
        ("sendgrid", "ev-2"),
    ]
    assert [r.occurred_at for r in rows(engine, delivery_events)] == [NOW, NOW]


def test_sendgrid_bad_batches(client, engine):
    assert post_sendgrid(client, {"event": "open"}).status_code == 400  # type: ignore[arg-type]
    body = b"not json"
    response = client.post(
        "/webhooks/sendgrid/events", content=body, headers=sendgrid_headers(body, int(NOW.timestamp()))
    )
    assert response.status_code == 400
    # A malformed item costs only itself; an event without sg_event_id is still stored once.
    no_id = {"email": EMAIL, "event": "delivered", "timestamp": "soon"}
    assert post_sendgrid(client, ["junk", no_id, sg_event("open", "ev-1")]).json() == {
        "received": 3,
        "new": 2,
        "duplicates": 0,
        "ignored": 1,
    }
    assert post_sendgrid(client, [no_id]).json()["duplicates"] == 1
    assert {r.occurred_at for r in rows(engine, delivery_events)} == {NOW}


@pytest.mark.parametrize(
    ("event", "reason", "consent"),
    [
        pytest.param(sg_event("bounce", "e", type="bounce"), "hard_bounce", False, id="hard-bounce"),
        pytest.param(sg_event("bounce", "e", type="blocked"), None, False, id="blocked"),
        pytest.param(
            sg_event("dropped", "e", reason="Bounced Address"), "hard_bounce", False, id="dropped-bounced"
        ),
        pytest.param(
            sg_event("dropped", "e", reason="Invalid"), "invalid_address", False, id="dropped-invalid"
        ),
        pytest.param(sg_event("dropped", "e", reason="Spam Content"), None, False, id="dropped-content"),
        pytest.param(sg_event("spamreport", "e"), "spamreport", True, id="spamreport"),
        pytest.param(sg_event("unsubscribe", "e"), "unsubscribe", True, id="unsubscribe"),
        pytest.param(
            sg_event("group_unsubscribe", "e", asm_group_id=7), "group_unsubscribe", True, id="group"
        ),
        pytest.param(sg_event("delivered", "e"), None, False, id="delivered"),
    ],
)
def test_sendgrid_outcomes_map_to_suppressions(client, engine, event, reason, consent):
    event["email"] = "Jane.Doe@Example.com"  # compared case-insensitively
    assert post_sendgrid(client, [event]).status_code == 200
    assert suppression_reason(engine, "email", EMAIL) == (reason and f"{reason} (via sendgrid)")
    revoked = [(r.address, r.status, r.source) for r in rows(engine, consent_changes)]
    assert revoked == ([(EMAIL, "revoked", "sendgrid")] if consent else [])


def test_group_resubscribe_lifts_opt_outs_but_not_bounces(client, engine):
    other = "bounced@example.com"
    post_sendgrid(
        client, [sg_event("group_unsubscribe", "e1"), sg_event("bounce", "e2", email=other, type="bounce")]
    )
    later = int((NOW + timedelta(minutes=5)).timestamp())
    post_sendgrid(
        client,
        [
            sg_event("group_resubscribe", "e3", timestamp=later),
            sg_event("group_resubscribe", "e4", email=other, timestamp=later),
        ],
    )
    assert suppression_reason(engine, "email", EMAIL) is None
    assert suppression_reason(engine, "email", other) == "hard_bounce (via sendgrid)"
    history = rows(engine, consent_changes, consent_changes.c.change_id)
    assert [(r.address, r.status) for r in history] == [(EMAIL, "revoked"), (EMAIL, "granted")]
    assert "e3" in history[1].evidence


def test_sendgrid_events_reconcile_unknown_messages_and_match_by_message_id(client, engine):
    c1, c2, c3, c4 = (f"welcome:C{i}:2026-11-20:day_0" for i in range(1, 5))
    plan_message(engine, c1)
    send_outcome(engine, c1, "unknown")
    # One mail/send request (one X-Message-Id) for two recipients: the address completes the match.
    plan_message(engine, c2, recipient="C2@example.com")
    send_outcome(engine, c2, "sent", provider_message_id="Xmsg22charsAAAAAAAAAAA")
    plan_message(engine, c3, recipient="c3@example.com")
    send_outcome(engine, c3, "sent", provider_message_id="Xmsg22charsAAAAAAAAAAA")

    post_sendgrid(
        client,
        [
            sg_event("delivered", "e1", lc_message_key=c1, sg_message_id="Ymsg.filter1.0"),
            sg_event("open", "e2", email="c2@example.com", sg_message_id="Xmsg22charsAAAAAAAAAAA.recvd-5.1"),
            sg_event("open", "e3", email="c3@example.com", sg_message_id="Xmsg22charsAAAAAAAAAAA.recvd-5.2"),
            sg_event("open", "e4", email="c4@example.com", sg_message_id="Xmsg22charsAAAAAAAAAAA.recvd-5.3"),
        ],
    )
    reconciled = message_row(engine, c1)
    assert reconciled.state == "sent" and reconciled.sent_at == reconciled.sending_at
    assert reconciled.provider_message_id == "Ymsg.filter1.0" and reconciled.error_code is None
    keys = {r.provider_event_id: r.message_key for r in rows(engine, delivery_events)}
    assert keys == {"e1": c1, "e2": c2, "e3": c3, "e4": None}
    # Only `unknown` is reconciled: a failed message stays failed whatever event arrives.
    plan_message(engine, c4)
    send_outcome(engine, c4, "failed")
    post_sendgrid(client, [sg_event("delivered", "e5", lc_message_key=c4)])
    assert message_row(engine, c4).state == "failed"


# --- Twilio ---------------------------------------------------------------------------------------


def test_twilio_requests_need_a_valid_signature(client, engine):
    params = inbound("STOP", "SM1")
    path = "/webhooks/twilio/inbound"
    assert client.post(path, data=params).status_code == 403  # unsigned
    assert post_twilio(client, path, params, token="wrong-token").status_code == 403
    assert post_twilio(client, path, params, url=f"{PUBLIC}/elsewhere").status_code == 403
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}", params)
    tampered = client.post(
        path, data={**params, "From": "+14155550999"}, headers={"X-Twilio-Signature": signature}
    )
    assert tampered.status_code == 403
    status = {"MessageSid": "SM2", "MessageStatus": "delivered", "To": PHONE}
    assert post_twilio(client, "/webhooks/twilio/status", status, token="wrong-token").status_code == 403
    assert rows(engine, delivery_events) == [] and suppression_reason(engine, "sms", PHONE) is None


def test_twilio_signature_checked_against_the_forwarded_public_url(client, engine):
    status = {"MessageSid": "SM2", "MessageStatus": "delivered", "To": PHONE}
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "proxy.example.org"}
    url = "https://proxy.example.org/webhooks/twilio/status"
    assert (
        post_twilio(client, "/webhooks/twilio/status", status, url=url, headers=forwarded).status_code == 204
    )
    as_seen = "http://testserver/webhooks/twilio/status"
    assert (
        post_twilio(
            client, "/webhooks/twilio/status", {**status, "MessageSid": "SM3"}, url=as_seen
        ).status_code
        == 204
    )
    assert len(rows(engine, delivery_events)) == 2


def test_stop_start_help_keep_consent_history_and_stop_suppresses_a_planned_sms(client, engine, caplog):
    caplog.set_level("DEBUG")
    plan_message(engine, "annual:C1:2026-11-20:sms_1", channel="sms", recipient=PHONE)
    path = "/webhooks/twilio/inbound"

    stop = post_twilio(client, path, inbound("  Stop.  ", "SM-stop"))
    assert stop.status_code == 200 and "<Message>" not in stop.text
    # The dispatcher's check at send time now refuses the already planned message.
    assert suppression_reason(engine, "sms", PHONE) == "stop (via sms_keyword)"
    assert post_twilio(client, path, inbound("STOP", "SM-stop")).status_code == 200  # Twilio retry: no-op
    assert post_twilio(client, path, inbound("quit", "SM-quit")).status_code == 200  # already out: no new row

    assert post_twilio(client, path, inbound("start", "SM-start")).status_code == 200
    assert suppression_reason(engine, "sms", PHONE) is None
    help_reply = post_twilio(client, path, inbound("Help!", "SM-help"))
    assert help_reply.headers["content-type"].startswith("application/xml")
    assert settings().brand.sender_name in help_reply.text
    assert "Reply STOP to opt out" in help_reply.text
    other = post_twilio(client, path, inbound("stop sending me offers", "SM-chat"))
    assert other.status_code == 200 and "<Message>" not in other.text

    history = rows(engine, consent_changes, consent_changes.c.change_id)
    assert [(r.channel, r.address, r.status, r.source) for r in history] == [
        ("sms", PHONE, "revoked", "sms_keyword"),
        ("sms", PHONE, "granted", "sms_keyword"),
    ]
    assert "SM-stop" in history[0].evidence and "STOP" in history[0].evidence
    kinds = {r.provider_event_id: r.event_type for r in rows(engine, delivery_events)}
    assert kinds == {
        "SM-stop": "sms_opt_out",
        "SM-quit": "sms_opt_out",
        "SM-start": "sms_opt_in",
        "SM-help": "sms_help",
        "SM-chat": "sms_inbound",
    }
    assert PHONE not in caplog.text and PHONE[1:] not in caplog.text


def test_twilio_status_callbacks(client, engine):
    key = "annual:C1:2026-11-20:sms_1"
    plan_message(engine, key, channel="sms", recipient=PHONE)
    send_outcome(engine, key, "unknown")
    path = "/webhooks/twilio/status"
    # The key rides on the (signed) StatusCallback URL: the only link when the sid never came back.
    with_key = f"{path}?{urlencode({'lc_message_key': key})}"
    sent = {"MessageSid": "SM1", "MessageStatus": "sent", "To": PHONE, "AccountSid": "AC1"}
    assert post_twilio(client, with_key, sent).status_code == 204
    assert post_twilio(client, with_key, sent).status_code == 204  # duplicate
    row = message_row(engine, key)
    assert (row.state, row.provider_message_id) == ("sent", "SM1")
    # Later callbacks find the message by its sid.
    assert post_twilio(client, path, {**sent, "MessageStatus": "delivered"}).status_code == 204
    assert {r.provider_event_id: r.message_key for r in rows(engine, delivery_events)} == {
        "SM1:sent": key,
        "SM1:delivered": key,
    }

    landline = {
        "MessageSid": "SM2",
        "MessageStatus": "undelivered",
        "ErrorCode": "30006",
        "To": "+14155550001",
    }
    unknown_handset = {
        "MessageSid": "SM3",
        "MessageStatus": "undelivered",
        "ErrorCode": "30005",
        "To": "+14155550002",
    }
    opted_out = {"MessageSid": "SM4", "MessageStatus": "failed", "ErrorCode": "21610", "To": "+14155550004"}
    for params in (landline, unknown_handset, opted_out):
        assert post_twilio(client, path, params).status_code == 204
    assert suppression_reason(engine, "sms", "+14155550001") == "landline (via twilio)"
    assert suppression_reason(engine, "sms", "+14155550002") is None  # recorded, may be temporary
    assert suppression_reason(engine, "sms", "+14155550004") == "provider_opt_out (via twilio)"
    assert [(r.address, r.status) for r in rows(engine, consent_changes)] == [("+14155550004", "revoked")]
    stored = {
        r.provider_event_id: json.loads(r.payload_json)["ErrorCode"]
        for r in rows(engine, delivery_events)
        if r.provider_event_id.startswith(("SM2", "SM3"))
    }
    assert stored == {"SM2:undelivered": "30006", "SM3:undelivered": "30005"}
    # START lifts the provider's opt-out too, but never a landline.
    assert (
        post_twilio(
            client, "/webhooks/twilio/inbound", inbound("YES", "SM5", sender="+14155550004")
        ).status_code
        == 200
    )
    assert (
        post_twilio(
            client, "/webhooks/twilio/inbound", inbound("YES", "SM6", sender="+14155550001")
        ).status_code
        == 200
    )
    assert suppression_reason(engine, "sms", "+14155550004") is None
    assert suppression_reason(engine, "sms", "+14155550001") == "landline (via twilio)"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", ("STOP", Keyword.OPT_OUT)),
        (" stopall\n", ("STOPALL", Keyword.OPT_OUT)),
        ("Unsubscribe.", ("UNSUBSCRIBE", Keyword.OPT_OUT)),
        ("cancel!", ("CANCEL", Keyword.OPT_OUT)),
        ("End", ("END", Keyword.OPT_OUT)),
        ("QUIT", ("QUIT", Keyword.OPT_OUT)),
        ("revoke", ("REVOKE", Keyword.OPT_OUT)),
        ("optout", ("OPTOUT", Keyword.OPT_OUT)),
        ("Start", ("START", Keyword.OPT_IN)),
        ("unstop", ("UNSTOP", Keyword.OPT_IN)),
        ("«yes»", ("YES", Keyword.OPT_IN)),
        ("help?", ("HELP", Keyword.HELP)),
        ("INFO", ("INFO", Keyword.HELP)),
        ("stop it", None),
        ("opt out", None),
        ("", None),
        ("stopp", None),
    ],
)
def test_keywords(body, expected):
    match = match_keyword(body)
    assert (None if match is None else (match.word, match.kind)) == expected


# --- unsubscribe links ----------------------------------------------------------------------------


def test_one_click_and_page_unsubscribe(client, engine, caplog):
    caplog.set_level("DEBUG")
    key = "welcome:C1:2026-11-20:day_0"
    plan_message(engine, key)
    query = urlencode({"m": key, "s": unsubscribe_signature(SECRET, key)})

    page = client.get(f"/unsubscribe?{query}")
    assert page.status_code == 200 and '<form method="post"' in page.text and 'lang="en"' in page.text
    assert (
        EMAIL not in page.text and suppression_reason(engine, "email", EMAIL) is None
    )  # GET changes nothing

    one_click = client.post(
        f"/unsubscribe?{query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and EMAIL not in one_click.text
    assert suppression_reason(engine, "email", EMAIL) == "unsubscribe (via one_click)"
    assert client.post(f"/unsubscribe?{query}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    history = rows(engine, consent_changes)
    assert [(r.address, r.status, r.source, r.evidence) for r in history] == [
        (EMAIL, "revoked", "one_click", f"message {key}")
    ]

    other_key = "welcome:C2:2026-11-20:day_0"
    plan_message(engine, other_key, recipient="c2@example.com")
    button = client.post(
        f"/unsubscribe?{urlencode({'m': other_key, 's': unsubscribe_signature(SECRET, other_key)})}"
    )
    assert button.status_code == 200
    assert suppression_reason(engine, "email", "c2@example.com") == "unsubscribe (via unsubscribe_page)"
    assert EMAIL not in caplog.text and "c2@example.com" not in caplog.text


def test_unsubscribe_refuses_bad_links(client, engine):
    key = "welcome:C1:2026-11-20:day_0"
    plan_message(engine, key)
    forged = urlencode({"m": key, "s": unsubscribe_signature("another-secret", key)})
    for response in (
        client.get(f"/unsubscribe?{forged}"),
        client.post(f"/unsubscribe?{forged}", content=b"List-Unsubscribe=One-Click"),
        client.post(f"/unsubscribe?{urlencode({'m': key})}"),
    ):
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    unknown = "welcome:C9:2026-11-20:day_0"
    query = urlencode({"m": unknown, "s": unsubscribe_signature(SECRET, unknown)})
    assert client.get(f"/unsubscribe?{query}").status_code == 404
    assert client.post(f"/unsubscribe?{query}", content=b"List-Unsubscribe=One-Click").status_code == 404
    assert rows(engine, suppressions) == [] and rows(engine, consent_changes) == []


def test_no_address_or_phone_number_in_logs(client, engine, caplog):
    caplog.set_level("DEBUG")
    plan_message(engine, "welcome:C1:2026-11-20:day_0")
    post_sendgrid(client, [sg_event(kind, f"e-{kind}") for kind in ("delivered", "bounce", "spamreport")])
    post_sendgrid(client, [sg_event("unsubscribe", "e")], key=OTHER_KEY)
    post_twilio(client, "/webhooks/twilio/inbound", inbound("STOP", "SM1"))
    post_twilio(
        client,
        "/webhooks/twilio/status",
        {"MessageSid": "SM2", "MessageStatus": "failed", "ErrorCode": "21610", "To": PHONE},
    )
    post_twilio(client, "/webhooks/twilio/inbound", inbound("STOP", "SM3"), token="forged")
    assert "sendgrid webhook" in caplog.text and "twilio" in caplog.text
    for secret in (EMAIL, PHONE, PHONE[2:], TOKEN):
        assert secret not in caplog.text


def test_missing_keys_answer_503_so_providers_retry(engine):
    app = create_app(settings(), engine, sendgrid_public_key=None, twilio_auth_token=None)
    client = TestClient(app)
    assert post_sendgrid(client, [sg_event("open", "e")]).status_code == 503
    assert post_twilio(client, "/webhooks/twilio/inbound", inbound("STOP", "SM1")).status_code == 503
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "sendgrid_signing": False, "twilio_signing": False}
    with pytest.raises(ValueError, match="base64 DER"):
        create_app(settings(), engine, sendgrid_public_key="bm90IGEga2V5", twilio_auth_token=None)


# --- real HTTP and the Airflow plugin (SQLite) ----------------------------------------------------


def test_over_real_http(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(engine)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections made before uvicorn starts wait in the backlog instead of failing
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        settings(public_base_url=base),
        engine,
        sendgrid_public_key=public_key_b64(SIGNING_KEY),
        twilio_auth_token=TOKEN,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            for _ in range(500):  # bounded: ready once the server answers its health check
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    continue
            else:
                pytest.fail("the webhook server did not become ready")
            body = json.dumps([sg_event("unsubscribe", "e1")]).encode()
            now = int(datetime.now(UTC).timestamp())
            assert (
                http.post(
                    "/webhooks/sendgrid/events", content=body, headers=sendgrid_headers(body, now)
                ).status_code
                == 200
            )
            stale = http.post(
                "/webhooks/sendgrid/events", content=body, headers=sendgrid_headers(body, now - 3600)
            )
            assert stale.status_code == 403
            params = inbound("STOP", "SM1")
            signature = RequestValidator(TOKEN).compute_signature(f"{base}/webhooks/twilio/inbound", params)
            stop = http.post(
                "/webhooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature}
            )
            assert stop.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert suppression_reason(engine, "email", EMAIL) == "unsubscribe (via sendgrid)"
    assert suppression_reason(engine, "sms", PHONE) == "stop (via sms_keyword)"
    engine.dispose()


def test_airflow_plugin_mounts_the_receiver_without_touching_the_store_at_import(tmp_path, monkeypatch):
    db = tmp_path / "ops.sqlite"
    monkeypatch.setenv("LIFECYCLE_OPS_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("LIFECYCLE_PUBLIC_BASE_URL", "https://airflow.example.test/lifecycle")
    monkeypatch.setenv("LIFECYCLE_SENDGRID_WEBHOOK_PUBLIC_KEY", public_key_b64(SIGNING_KEY))
    monkeypatch.setenv("LIFECYCLE_TWILIO_AUTH_TOKEN", TOKEN)
    spec = importlib.util.spec_from_file_location(
        "lifecycle_airflow_plugin", REPO_ROOT / "plugins" / "lifecycle_airflow_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not db.exists()

    [entry] = module.LifecyclePlugin.fastapi_apps
    api_server = FastAPI()
    api_server.mount(entry["url_prefix"], entry["app"])
    with TestClient(api_server) as http:
        assert http.get("/lifecycle/healthz").json()["status"] == "ok"
        assert db.exists()
        params = inbound("STOP", "SM1")
        url = "https://airflow.example.test/lifecycle/webhooks/twilio/inbound"
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        stop = http.post(
            "/lifecycle/webhooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert stop.status_code == 200
    engine = connect(f"sqlite:///{db}")
    assert suppression_reason(engine, "sms", PHONE) == "stop (via sms_keyword)"
    engine.dispose()


def test_keys_come_from_the_environment_or_the_airflow_connections(monkeypatch):
    from lifecycle.webhooks import credentials

    monkeypatch.delenv(credentials.SENDGRID_KEY_ENV, raising=False)
    monkeypatch.delenv(credentials.TWILIO_TOKEN_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SENDGRID_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TWILIO_DEFAULT", raising=False)
    assert credentials.sendgrid_webhook_public_key() is None and credentials.twilio_auth_token() is None
    sendgrid_conn = {"conn_type": "http", "password": "SG.key", "extra": {"webhook_public_key": "from-conn"}}
    monkeypatch.setenv("AIRFLOW_CONN_SENDGRID_DEFAULT", json.dumps(sendgrid_conn))
    monkeypatch.setenv(
        "AIRFLOW_CONN_TWILIO_DEFAULT", json.dumps({"conn_type": "http", "login": "AC1", "password": "tok"})
    )
    assert credentials.sendgrid_webhook_public_key() == "from-conn"
    assert credentials.twilio_auth_token() == "tok"
    monkeypatch.setenv(credentials.SENDGRID_KEY_ENV, "from-env")
    monkeypatch.setenv(credentials.TWILIO_TOKEN_ENV, "env-tok")
    assert credentials.sendgrid_webhook_public_key() == "from-env"
    assert credentials.twilio_auth_token() == "env-tok"
