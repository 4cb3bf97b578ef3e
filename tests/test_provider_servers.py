"""The provider contract servers, exercised only through the official clients over real HTTP.

Each answer is checked against what the vendor's contract says (the OpenAPI documents in
``shared/vendor-specs`` and the README beside them); webhooks are verified with the vendors' own
helpers. Synchronisation is by queues and events with timeouts, never by sleeping.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from python_http_client import exceptions as sg_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from lifecycle.provider_servers import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_FROM,
    EmailOutcomes,
    SendGridServer,
    SmsOutcomes,
    TwilioServer,
    twilio_client_for,
)
from lifecycle.provider_servers.contracts import vendor_specs_dir

pytestmark = pytest.mark.integration

WAIT = 10.0  # seconds any queue/event wait may take before the test fails
RECIPIENT = "+15551230001"


# -- fixtures ------------------------------------------------------------------------------------
class Receiver:
    """A tiny webhook endpoint on a thread: records each POST and answers from a status script."""

    def __init__(self) -> None:
        self.posts: queue.Queue[dict[str, Any]] = queue.Queue()
        self.statuses: list[int] = []  # answers for the next posts, then 200
        received, statuses = self.posts, self.statuses

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                received.put(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
                )

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def next(self) -> dict[str, Any]:
        return self.posts.get(timeout=WAIT)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sendgrid_server() -> Iterator[SendGridServer]:
    with SendGridServer(seed=11) as server:
        yield server


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    with TwilioServer(seed=11) as server:
        yield server


def sg_client(server: SendGridServer, key: str = DEFAULT_API_KEY, timeout: float = 10.0) -> SendGridAPIClient:
    client = SendGridAPIClient(key, host=server.base_url)
    client.client.timeout = timeout
    return client


def tw_client(server: TwilioServer, token: str = DEFAULT_AUTH_TOKEN, timeout: float = 10.0) -> Client:
    return twilio_client_for(server.base_url, DEFAULT_ACCOUNT_SID, token, timeout=timeout)


def mail(to: str = "ada@example.com", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [
            {
                "to": [{"email": to, "name": "Ada"}],
                "custom_args": {"lc_message_key": "c1:welcome:0:e1"},
                "headers": {
                    "List-Unsubscribe": "<https://lc.example/u/abc>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            }
        ],
        "from": {"email": "hello@lc.example", "name": "Lifecycle"},
        "subject": "Welcome aboard",
        "content": [
            {"type": "text/plain", "value": "Hi Ada"},
            {
                "type": "text/html",
                "value": '<p>Hi Ada, <a href="https://lc.example/start">start here</a></p>',
            },
        ],
        "categories": ["welcome"],
        "custom_args": {"lc_sequence": "welcome"},
    }
    body.update(overrides)
    return body


def error_of(exc: sg_errors.HTTPError) -> dict[str, Any]:
    errors = json.loads(exc.body)["errors"]
    assert all(set(e) == {"message", "field", "help"} for e in errors)
    return errors[0]


def load_document(name: str) -> dict[str, Any]:
    with (vendor_specs_dir() / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def sendgrid_document() -> OpenAPI:
    """SendGrid's document, loaded independently of the server, with the README's one correction."""
    document = load_document("tsg_mail_v3.json")
    schema = document["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    schema["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    return OpenAPI.from_dict(document)


@pytest.fixture(scope="module")
def twilio_document() -> OpenAPI:
    return OpenAPI.from_dict(load_document("twilio_api_v2010.json"))


# -- SendGrid mail send ----------------------------------------------------------------------------
def test_sendgrid_accepts_with_202_and_records_each_personalization(sendgrid_server: SendGridServer) -> None:
    second = {
        "to": [{"email": "bo@example.com"}],
        "subject": "Hello Bo",
        "custom_args": {"lc_message_key": "k2"},
    }
    body = mail()
    body["personalizations"].append(second)

    response = sg_client(sendgrid_server).client.mail.send.post(request_body=body)

    assert response.status_code == 202
    assert response.body == b""
    x_message_id = response.headers["X-Message-Id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", x_message_id)
    first, other = sendgrid_server.messages()
    assert first["x_message_id"] == other["x_message_id"] == x_message_id
    assert first["to"] == ["ada@example.com"] and first["subject"] == "Welcome aboard"
    assert first["custom_args"] == {"lc_sequence": "welcome", "lc_message_key": "c1:welcome:0:e1"}
    assert first["categories"] == ["welcome"]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["content"][1]["type"] == "text/html"
    assert other["subject"] == "Hello Bo" and other["custom_args"]["lc_message_key"] == "k2"
    (logged,) = sendgrid_server.requests()
    assert logged["status"] == 202 and logged["outcome"] == "accepted"
    assert logged["headers"]["user-agent"].startswith("sendgrid/")
    assert logged["headers"]["authorization"] == "Bearer ****"


def test_sendgrid_message_ids_replay_per_seed() -> None:
    def first_id(seed: int) -> str:
        with SendGridServer(seed=seed) as server:
            return sg_client(server).client.mail.send.post(request_body=mail()).headers["X-Message-Id"]

    assert first_id(3) == first_id(3) != first_id(4)


def test_sendgrid_requires_bearer_auth(sendgrid_server: SendGridServer) -> None:
    anonymous = sg_client(sendgrid_server)
    del anonymous.client.request_headers["Authorization"]
    with pytest.raises(sg_errors.UnauthorizedError) as missing:
        anonymous.client.mail.send.post(request_body=mail())
    assert error_of(missing.value) == {"message": "authorization required", "field": None, "help": None}

    with pytest.raises(sg_errors.UnauthorizedError):
        sg_client(sendgrid_server, key="SG.wrong").client.mail.send.post(request_body=mail())
    assert sendgrid_server.messages() == []


def _many(n: int) -> list[dict[str, Any]]:
    return [{"to": [{"email": f"r{i}@example.com"}]} for i in range(n)]


def _without_from() -> dict[str, Any]:
    body = mail()
    del body["from"]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(_without_from(), "from", id="missing-from"),
        pytest.param(mail(custom_args="lc_sequence=welcome"), "custom_args", id="custom-args-not-object"),
        pytest.param(mail(personalizations=_many(1001)), "personalizations", id="1001-personalizations"),
        pytest.param(mail(categories=[f"c{i}" for i in range(11)]), "categories", id="11-categories"),
        pytest.param(mail(to="not-an-address"), "personalizations.0.to.0.email", id="bad-address"),
        pytest.param(
            mail(personalizations=[{"to": [{"email": "a@example.com"}], "cc": [{"email": "A@example.com"}]}]),
            "personalizations.0.cc",
            id="address-twice",
        ),
        pytest.param(
            mail(
                personalizations=[
                    {"to": [{"email": f"p{i}.{j}@example.com"} for j in range(2)]} for i in range(501)
                ]
            ),
            "personalizations",
            id="1002-recipients",
        ),
        pytest.param(
            mail(
                personalizations=[{"to": [{"email": "a@example.com"}], "custom_args": {"big": "x" * 10_001}}]
            ),
            "personalizations.0.custom_args",
            id="custom-args-over-10000-bytes",
        ),
        pytest.param(
            mail(
                personalizations=[
                    {"to": [{"email": "a@example.com"}], "substitutions": {"-name-": "x" * 9_990}}
                ]
            ),
            "personalizations.0.substitutions",
            id="substitutions-over-10000-bytes",
        ),
        pytest.param(mail(content=[]), "content", id="no-content"),
    ],
)
def test_sendgrid_rejects_what_the_vendor_rejects(
    sendgrid_server: SendGridServer, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(sg_errors.BadRequestsError) as rejected:
        sg_client(sendgrid_server).client.mail.send.post(request_body=body)

    assert error_of(rejected.value)["field"] == field
    assert sendgrid_server.messages() == []
    assert sendgrid_server.requests()[-1]["status"] == 400


def test_sendgrid_sandbox_mode_answers_200_and_records_nothing(sendgrid_server: SendGridServer) -> None:
    body = mail(mail_settings={"sandbox_mode": {"enable": True}})

    response = sg_client(sendgrid_server).client.mail.send.post(request_body=body)

    assert response.status_code == 200
    assert sendgrid_server.messages() == []
    assert sendgrid_server.requests()[-1]["outcome"] == "sandbox"


def test_every_captured_request_is_judged_as_the_vendor_document_judges_it(
    sendgrid_server: SendGridServer, sendgrid_document: OpenAPI
) -> None:
    client = sg_client(sendgrid_server)
    client.client.mail.send.post(request_body=mail())
    client.client.mail.send.post(request_body=mail(to="bo@example.com", categories=["a", "b"]))
    for bad in (_without_from(), mail(personalizations=_many(1001)), mail(custom_args=7)):
        with pytest.raises(sg_errors.BadRequestsError):
            client.client.mail.send.post(request_body=bad)

    for logged in sendgrid_server.requests():
        request = MockRequest(
            "https://api.sendgrid.com",
            "post",
            logged["path"],
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            data=logged["body"].encode(),
        )
        conforms = not list(sendgrid_document.iter_request_errors(request))
        assert conforms == (logged["status"] == 202), logged["body"][:200]


# -- Twilio messages --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("{" * 80, "1"),  # extension characters take two septets
        ("€" * 81, "2"),
        ("Ж" * 70, "1"),  # UCS-2
        ("Ж" * 71, "2"),
        ("Ж" * 135, "3"),
    ],
)
def test_twilio_creates_a_queued_message_with_its_segments(
    twilio_server: TwilioServer, twilio_document: OpenAPI, body: str, segments: str
) -> None:
    client = tw_client(twilio_server)

    message = client.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body=body)

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued" and message.num_segments == segments
    assert (message.to, message.from_, message.body) == (RECIPIENT, DEFAULT_FROM, body)
    assert message.date_created is not None and message.date_created.tzinfo is not None  # RFC 2822 parsed
    (recorded,) = twilio_server.messages()
    assert recorded["sid"] == message.sid and recorded["body"] == body
    answer = client.http_client._test_only_last_response
    assert answer.status_code == 201
    request = MockRequest(
        "https://api.twilio.com",
        "post",
        f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": "Basic x"},
        data=twilio_server.requests()[-1]["body"].encode(),
    )
    twilio_document.validate_response(request, MockResponse(answer.text.encode(), status_code=201))


def test_twilio_client_recipe_ignores_edge_and_region_from_the_environment(
    twilio_server: TwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    message = tw_client(twilio_server).messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")
    assert message.sid == twilio_server.messages()[0]["sid"]


def test_twilio_messaging_service_answers_accepted(twilio_server: TwilioServer) -> None:
    service = "MG" + "0" * 32
    message = tw_client(twilio_server).messages.create(to=RECIPIENT, messaging_service_sid=service, body="hi")
    assert message.status == "accepted" and message.messaging_service_sid == service


@pytest.mark.parametrize(
    ("to", "body", "code"),
    [
        ("5551230001", "hi", 21211),
        ("+15005550001", "hi", 21211),
        ("+15005550002", "hi", 21612),
        ("+15005550003", "hi", 21408),
        ("+15005550004", "hi", 21610),
        ("+15005550009", "hi", 21614),
        (RECIPIENT, "x" * 1601, 21617),
    ],
)
def test_twilio_rejects_with_the_vendor_error_codes(
    twilio_server: TwilioServer, to: str, body: str, code: int
) -> None:
    with pytest.raises(TwilioRestException) as rejected:
        tw_client(twilio_server).messages.create(to=to, from_=DEFAULT_FROM, body=body)

    assert (rejected.value.code, rejected.value.status) == (code, 400)
    assert twilio_server.messages() == []
    error = twilio_server.requests()[-1]["error"]
    assert set(error) == {"code", "message", "more_info", "status"} and error["code"] == code


def test_twilio_rejects_a_request_the_document_rejects(twilio_server: TwilioServer) -> None:
    with pytest.raises(TwilioRestException) as rejected:
        tw_client(twilio_server).messages.create(
            to=RECIPIENT, from_=DEFAULT_FROM, body="hi", max_price="cheap"
        )
    assert rejected.value.status == 400 and "MaxPrice" in rejected.value.msg


def test_twilio_requires_basic_auth(twilio_server: TwilioServer) -> None:
    with pytest.raises(TwilioRestException) as wrong_token:
        tw_client(twilio_server, token="wrong").messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")
    assert (wrong_token.value.code, wrong_token.value.status) == (20003, 401)

    other_account = twilio_client_for(twilio_server.base_url, "AC" + "1" * 32, DEFAULT_AUTH_TOKEN)
    with pytest.raises(TwilioRestException) as wrong_account:
        other_account.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")
    assert wrong_account.value.code == 20003
    assert twilio_server.messages() == []


def test_a_stop_reply_blocks_the_pair_until_start(twilio_server: TwilioServer, receiver: Receiver) -> None:
    client = tw_client(twilio_server)
    twilio_server.configure_webhooks(url=f"{receiver.url}/twilio/inbound")
    client.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="Your trial ends soon")

    twilio_server.inbound(RECIPIENT, "stop")

    inbound = receiver.next()
    params = {k: v[0] for k, v in parse_qs(inbound["body"].decode()).items()}
    assert (params["From"], params["To"], params["Body"]) == (RECIPIENT, DEFAULT_FROM, "stop")
    url = f"{receiver.url}{inbound['path']}"
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(
        url, params, inbound["headers"]["X-Twilio-Signature"]
    )
    with pytest.raises(TwilioRestException) as blocked:
        client.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="Still there?")
    assert blocked.value.code == 21610
    assert twilio_server.opted_out(DEFAULT_FROM, RECIPIENT)

    twilio_server.inbound(RECIPIENT, "START")
    assert client.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="Welcome back").status == "queued"


# -- faults -----------------------------------------------------------------------------------------
def test_rate_limited_answers_carry_the_vendor_headers(
    sendgrid_server: SendGridServer, twilio_server: TwilioServer
) -> None:
    sendgrid_server.set_faults(rate_limited=1.0)
    twilio_server.set_faults(rate_limited=1.0)

    with pytest.raises(sg_errors.TooManyRequestsError) as limited:
        sg_client(sendgrid_server).client.mail.send.post(request_body=mail())
    with pytest.raises(TwilioRestException) as tw_limited:
        tw_client(twilio_server).messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")

    headers = limited.value.headers
    assert int(headers["X-RateLimit-Reset"]) > time.time()
    assert int(headers["X-RateLimit-Limit"]) > 0 and headers["X-RateLimit-Remaining"] == "0"
    assert error_of(limited.value)["message"] == "too many requests"
    assert (tw_limited.value.code, tw_limited.value.status) == (20429, 429)
    assert sendgrid_server.messages() == [] and twilio_server.messages() == []


def test_server_errors_map_to_the_client_exceptions(
    sendgrid_server: SendGridServer, twilio_server: TwilioServer
) -> None:
    sendgrid_server.set_faults(server_error=1.0)
    with pytest.raises(sg_errors.InternalServerError):
        sg_client(sendgrid_server).client.mail.send.post(request_body=mail())
    sendgrid_server.set_faults(unavailable=1.0)
    with pytest.raises(sg_errors.ServiceUnavailableError):
        sg_client(sendgrid_server).client.mail.send.post(request_body=mail())
    twilio_server.set_faults(server_error=1.0)
    with pytest.raises(TwilioRestException) as failed:
        tw_client(twilio_server).messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")
    assert failed.value.status == 500


def test_connection_reset_raises_in_both_clients(
    sendgrid_server: SendGridServer, twilio_server: TwilioServer
) -> None:
    sendgrid_server.set_faults(connection_reset=1.0)
    twilio_server.set_faults(connection_reset=1.0)

    with pytest.raises(ConnectionResetError):
        sg_client(sendgrid_server).client.mail.send.post(request_body=mail())
    with pytest.raises(requests.ConnectionError):
        tw_client(twilio_server).messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")

    assert sendgrid_server.messages() == [] and twilio_server.messages() == []
    assert [r["outcome"] for r in sendgrid_server.requests()] == ["connection_reset"]


def test_accepted_then_timeout_records_the_message_the_client_never_heard_of(
    sendgrid_server: SendGridServer, twilio_server: TwilioServer
) -> None:
    sendgrid_server.set_faults(accepted_then_timeout=1.0, hold_seconds=5)
    twilio_server.set_faults(accepted_then_timeout=1.0, hold_seconds=5)

    with pytest.raises(TimeoutError):
        sg_client(sendgrid_server, timeout=0.5).client.mail.send.post(request_body=mail())
    with pytest.raises(requests.Timeout):
        tw_client(twilio_server, timeout=0.5).messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")

    assert len(sendgrid_server.messages()) == 1 and len(twilio_server.messages()) == 1
    (logged,) = sendgrid_server.requests()
    assert logged["outcome"] == "accepted_then_timeout" and logged["status"] is None


def test_timeout_before_acceptance_records_nothing(sendgrid_server: SendGridServer) -> None:
    sendgrid_server.set_faults(timeout=1.0, hold_seconds=5)
    with pytest.raises(TimeoutError):
        sg_client(sendgrid_server, timeout=0.5).client.mail.send.post(request_body=mail())
    assert sendgrid_server.messages() == []


def test_fault_fractions_fail_the_same_requests_for_the_same_seed() -> None:
    def failures(seed: int) -> list[int]:
        with SendGridServer() as server:
            server.set_faults(rate_limited=0.3, seed=seed)
            client = sg_client(server)
            failed = []
            for i in range(40):
                try:
                    client.client.mail.send.post(request_body=mail(to=f"r{i}@example.com"))
                except sg_errors.TooManyRequestsError:
                    failed.append(i)
            return failed

    first = failures(5)
    assert first == failures(5) != failures(6)
    assert 4 <= len(first) <= 20


def test_capacity_limit_answers_429_above_the_bucket(twilio_server: TwilioServer) -> None:
    twilio_server.set_faults(capacity_rps=2, burst=5)
    client = tw_client(twilio_server)
    outcomes = []
    for _ in range(10):
        try:
            client.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi")
            outcomes.append("ok")
        except TwilioRestException as exc:
            outcomes.append(exc.code)

    assert outcomes[:5] == ["ok"] * 5
    assert outcomes.count(20429) >= 3


def test_latency_and_faults_are_configurable_over_http(sendgrid_server: SendGridServer) -> None:
    with httpx.Client(base_url=sendgrid_server.base_url) as http:
        assert http.post("/_sandbox/faults", json={"latency_ms": 150}).status_code == 200
        assert http.get("/_sandbox/faults").json()["latency_ms"] == 150
        assert http.post("/_sandbox/faults", json={"rate_limited": 2}).status_code == 400
        assert http.post("/_sandbox/faults", json={"latncy_ms": 1}).status_code == 400

    started = time.perf_counter()
    sg_client(sendgrid_server).client.mail.send.post(request_body=mail())
    assert time.perf_counter() - started >= 0.15


# -- webhooks ---------------------------------------------------------------------------------------
ENGAGED = EmailOutcomes(dropped=0, bounce=0, deferred=0, open=1, click=1, unsubscribe=0, spamreport=0)


def test_sendgrid_event_webhook_is_signed_and_verifies_with_the_official_helper(
    sendgrid_server: SendGridServer, receiver: Receiver
) -> None:
    sendgrid_server.configure_webhooks(url=f"{receiver.url}/sendgrid/events")
    x_message_id = (
        sg_client(sendgrid_server).client.mail.send.post(request_body=mail()).headers["X-Message-Id"]
    )

    sendgrid_server.emit(outcomes=ENGAGED)

    post = receiver.next()
    public_key = httpx.get(f"{sendgrid_server.base_url}/_sandbox/webhook_public_key").json()["public_key"]
    verifier = EventWebhook(public_key)
    signature = post["headers"]["X-Twilio-Email-Event-Webhook-Signature"]
    timestamp = post["headers"]["X-Twilio-Email-Event-Webhook-Timestamp"]
    payload = post["body"].decode()
    assert verifier.verify_signature(payload, signature, timestamp)
    assert not verifier.verify_signature(payload.replace("ada@", "eve@"), signature, timestamp)
    events = json.loads(payload)
    assert [e["event"] for e in events] == ["processed", "delivered", "open", "click"]
    for event in events:
        assert event["sg_message_id"].startswith(x_message_id)
        assert event["email"] == "ada@example.com" and event["category"] == ["welcome"]
        assert event["lc_message_key"] == "c1:welcome:0:e1" and event["lc_sequence"] == "welcome"
    assert len({e["sg_event_id"] for e in events}) == 4
    assert events[-1]["url"] == "https://lc.example/start"


def test_auto_emit_reports_outcomes_without_being_asked(receiver: Receiver) -> None:
    with SendGridServer(webhook_url=receiver.url, auto_emit=True, outcomes=ENGAGED) as server:
        sg_client(server).client.mail.send.post(request_body=mail())
        events = json.loads(receiver.next()["body"])
    assert [e["event"] for e in events][:2] == ["processed", "delivered"]


def test_unsubscribe_does_the_rfc8058_one_click_post(
    sendgrid_server: SendGridServer, receiver: Receiver
) -> None:
    body = mail()
    body["personalizations"][0]["headers"]["List-Unsubscribe"] = f"<{receiver.url}/u/abc>"
    sg_client(sendgrid_server).client.mail.send.post(request_body=body)
    sendgrid_server.configure_webhooks(url=f"{receiver.url}/sendgrid/events")

    sendgrid_server.emit(outcomes=EmailOutcomes(dropped=0, bounce=0, open=0, unsubscribe=1))

    posts = {p["path"]: p for p in (receiver.next(), receiver.next())}
    assert posts["/u/abc"]["body"] == b"List-Unsubscribe=One-Click"
    assert "unsubscribe" in [e["event"] for e in json.loads(posts["/sendgrid/events"]["body"])]


def test_failed_webhook_deliveries_are_retried(sendgrid_server: SendGridServer, receiver: Receiver) -> None:
    receiver.statuses.extend([500, 503])
    sendgrid_server.configure_webhooks(url=receiver.url)
    sg_client(sendgrid_server).client.mail.send.post(request_body=mail())

    sendgrid_server.emit(outcomes=ENGAGED)

    assert [receiver.next()["status"] for _ in range(3)] == [500, 503, 200]
    assert sendgrid_server.flush_webhooks(WAIT)
    assert [(d["attempt"], d["delivered"]) for d in sendgrid_server.webhook_deliveries()] == [
        (1, False),
        (2, False),
        (3, True),
    ]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (SmsOutcomes(failed=0, undelivered=0), [("sent", None), ("delivered", None)]),
        (SmsOutcomes(failed=0, undelivered=1), [("sent", None), ("undelivered", "code")]),
        (SmsOutcomes(failed=1), [("failed", "30008")]),
    ],
)
def test_twilio_status_callbacks_are_signed_for_request_validator(
    twilio_server: TwilioServer, receiver: Receiver, outcomes: SmsOutcomes, expected: list[tuple[str, Any]]
) -> None:
    callback = f"{receiver.url}/twilio/status?lc=1"
    message = tw_client(twilio_server).messages.create(
        to=RECIPIENT, from_=DEFAULT_FROM, body="hi", status_callback=callback
    )

    twilio_server.emit(outcomes=outcomes)

    seen = []
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    for _ in expected:
        post = receiver.next()
        params = {k: v[0] for k, v in parse_qs(post["body"].decode()).items()}
        assert validator.validate(
            f"{receiver.url}{post['path']}", params, post["headers"]["X-Twilio-Signature"]
        )
        assert not validator.validate(f"{receiver.url}{post['path']}", {**params, "To": "+1"}, "x")
        assert params["MessageSid"] == message.sid and params["AccountSid"] == DEFAULT_ACCOUNT_SID
        code = params.get("ErrorCode")
        seen.append(
            (params["MessageStatus"], "code" if code in {"30003", "30005", "30006", "30007"} else code)
        )
    # Twilio does not promise callback order (nor does this server: each is its own POST).
    assert sorted(seen, key=repr) == sorted(expected, key=repr)
    assert twilio_server.messages()[0]["status"] == expected[-1][0]


def test_emit_is_driven_over_http_too(twilio_server: TwilioServer, receiver: Receiver) -> None:
    message = tw_client(twilio_server).messages.create(
        to=RECIPIENT, from_=DEFAULT_FROM, body="hi", status_callback=receiver.url
    )
    with httpx.Client(base_url=twilio_server.base_url) as http:
        answer = http.post("/_sandbox/emit_status", json={"sid": message.sid, "status": "delivered"})
        assert answer.status_code == 200
        assert http.post("/_sandbox/emit_status", json={"sid": "SMnope", "status": "sent"}).status_code == 400
        assert http.get("/_sandbox/messages").json()[0]["status"] == "delivered"
    assert parse_qs(receiver.next()["body"].decode())["MessageStatus"] == ["delivered"]


# -- running as a process ---------------------------------------------------------------------------
def test_cli_serves_both_contracts_as_a_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lifecycle.provider_servers", "--sendgrid-port", "0", "--twilio-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        client = SendGridAPIClient(DEFAULT_API_KEY, host=urls["sendgrid_url"])
        assert client.client.mail.send.post(request_body=mail()).status_code == 202
        twilio = twilio_client_for(urls["twilio_url"], DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
        assert twilio.messages.create(to=RECIPIENT, from_=DEFAULT_FROM, body="hi").status == "queued"
    finally:
        process.terminate()
        assert process.wait(timeout=WAIT) == 0
