"""A server honouring Twilio's ``CreateMessage`` contract, its status callbacks and inbound messages.

The form body is validated against Twilio's own document (``twilio_api_v2010.json``) with
openapi-core; the rest of the contract is enforced here: Basic auth, the x-twilio conditional
parameters, E.164, the 1,600-character limit, opt-outs (a recipient who replied STOP to a sender
cannot be messaged by it: 21610) and the test-credential magic numbers. Errors use Twilio's body
``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from lifecycle.provider_servers import faults as f
from lifecycle.provider_servers.base import (
    ACCEPTED,
    REJECTED,
    Answer,
    ProviderServer,
    SandboxError,
    json_object,
)
from lifecycle.provider_servers.contracts import TWILIO_MESSAGES_PATH, twilio_api_contract
from lifecycle.provider_servers.faults import Decision, FaultConfig
from lifecycle.provider_servers.outcomes import SmsOutcomes, sms_statuses
from lifecycle.provider_servers.seeding import IdSequence
from lifecycle.provider_servers.signing import TWILIO_SIGNATURE_HEADER, twilio_signature
from lifecycle.provider_servers.store import Record
from lifecycle.sms_rules import ALPHANUMERIC_SENDER, E164, Keyword, match_keyword, num_segments

DEFAULT_ACCOUNT_SID = "AC" + "5a" * 16
DEFAULT_AUTH_TOKEN = "sandbox-auth-token-0000000000000"
DEFAULT_FROM = "+15005550006"
MAX_BODY_CHARS = 1600
API_VERSION = "2010-04-01"
STATUSES = frozenset({"queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled"})
# Test-credential magic "To" numbers and the errors they produce.
MAGIC_TO = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}
ERRORS = {
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
    20001: (400, "Invalid parameter"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21212: (400, "The 'From' number {from_} is not a valid phone number or alphanumeric sender ID."),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    ),
    21602: (400, "A text message body, MediaUrl or ContentSid is required."),
    21603: (400, "A 'From' phone number or MessagingServiceSid is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21612: (400, "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number."),
    21614: (400, "'To' number {to} is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}


def twilio_error(code: int, detail: str | None = None, **values: str) -> JSONResponse:
    status, template = ERRORS[code]
    message = template.format(**values) if values else template
    body = {
        "code": code,
        "message": f"{message} {detail}" if detail else message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))  # "Thu, 24 Aug 2023 05:01:45 +0000", as Twilio


class TwilioServer(ProviderServer):
    """``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` plus the sandbox API."""

    name = "twilio"
    outcomes_type = SmsOutcomes

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        faults: FaultConfig | None = None,
        inbound_url: str | None = None,
        auto_emit: bool = False,
        outcomes: SmsOutcomes | None = None,
        spec_dir: Path | None = None,
    ) -> None:
        """``inbound_url`` receives simulated inbound messages (STOP/START/HELP replies)."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._contract = twilio_api_contract(spec_dir)
        self._sids = IdSequence(seed, "message-sid")
        self._opt_outs: set[tuple[str, str]] = set()  # (sender, recipient) pairs Twilio blocks
        self._last_sender: dict[str, str] = {}  # recipient -> who messaged them last (where a reply goes)
        self._lock = threading.Lock()
        super().__init__(
            host=host,
            port=port,
            seed=seed,
            faults=faults,
            webhook_url=inbound_url,
            auto_emit=auto_emit,
            outcomes=outcomes,
        )

    # -- create message ----------------------------------------------------------------------------
    def _authorised(self, request: Request, account_sid: str) -> bool:
        """Basic ``AccountSid:AuthToken`` of the account named in the path."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            scheme.lower() == "basic"
            and user == account_sid == self.account_sid
            and hmac.compare_digest(password.encode(), self.auth_token.encode())
        )

    def _process(self, request: Request, body: bytes) -> Answer:
        account_sid = request.path_params["AccountSid"]
        if not self._authorised(request, account_sid):
            return Answer(twilio_error(20003), REJECTED)
        problems = self._contract.problems(
            "post", request.url.path, body, request.headers.get("content-type", ""), dict(request.headers)
        )
        if problems:
            if any(p.field == "To" and p.message.endswith("is required") for p in problems):
                return Answer(twilio_error(21604), REJECTED)
            return Answer(
                twilio_error(20001, "; ".join(f"{p.field}: {p.message}" for p in problems)), REJECTED
            )
        form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        rejection = self._rejection(form)
        if rejection is not None:
            return Answer(rejection, REJECTED)
        record = self._record(account_sid, form)
        self.store.add_message(record)
        return Answer(JSONResponse(self._resource(record), status_code=201), ACCEPTED, (record["id"],))

    def _rejection(self, form: dict[str, str]) -> JSONResponse | None:
        """The first synchronous error Twilio would answer for this (schema-valid) request."""
        to, from_, service = form["To"], form.get("From"), form.get("MessagingServiceSid")
        if not from_ and not service:
            return twilio_error(21603)
        if not any(form.get(k) for k in ("Body", "MediaUrl", "ContentSid")):
            return twilio_error(21602)
        if not E164.match(to):
            return twilio_error(21211, to=to)
        if from_ and not (E164.match(from_) or ALPHANUMERIC_SENDER.match(from_)):
            return twilio_error(21212, from_=from_)
        if to in MAGIC_TO:
            return twilio_error(MAGIC_TO[to], to=to)
        with self._lock:
            if (from_ or service, to) in self._opt_outs:
                return twilio_error(21610)
        if len(form.get("Body", "")) > MAX_BODY_CHARS:
            return twilio_error(21617)
        return None

    def _record(self, account_sid: str, form: dict[str, str]) -> Record:
        sid = "SM" + self._sids.hex32()
        sender = form.get("From") or form["MessagingServiceSid"]
        with self._lock:
            self._last_sender[form["To"]] = sender
        now = datetime.now(UTC)
        return {
            "id": sid,
            "sid": sid,
            "account_sid": account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "num_segments": num_segments(form.get("Body", "")),
            "status": "queued" if form.get("From") else "accepted",
            "status_callback": form.get("StatusCallback"),
            "error_code": None,
            "date_created": _rfc2822(now),
            "received_at": now.timestamp(),
            "params": form,
        }

    def _resource(self, record: Record) -> dict[str, Any]:
        """The Message resource as Twilio answers it (fields per the document's api.v2010.account.message)."""
        uri = f"/{API_VERSION}/Accounts/{record['account_sid']}/Messages/{record['sid']}"
        return {
            "account_sid": record["account_sid"],
            "api_version": API_VERSION,
            "body": record["body"],
            "date_created": record["date_created"],
            "date_sent": None,
            "date_updated": record["date_created"],
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": record["from"],
            "messaging_service_sid": record["messaging_service_sid"],
            "num_media": "0",
            "num_segments": str(record["num_segments"]),
            "price": None,
            "price_unit": "USD",
            "sid": record["sid"],
            "status": record["status"],
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": record["to"],
            "uri": f"{uri}.json",
        }

    def _fault_response(self, fault: str, decision: Decision) -> Response:
        if fault in (f.RATE_LIMITED, f.OVER_CAPACITY):
            return twilio_error(20429)
        return twilio_error(20503 if fault == f.UNAVAILABLE else 20500)

    # -- status callbacks and inbound messages -----------------------------------------------------
    def emit_status(self, sid: str, status: str, error_code: int | None = None) -> dict[str, str]:
        """Move a message to ``status`` and post its status callback (if it asked for one)."""
        if status not in STATUSES:
            raise SandboxError(f"unknown message status {status!r}; known: {sorted(STATUSES)}")
        record = self.store.message(sid)
        if record is None:
            raise SandboxError(f"no accepted message with sid {sid!r}")
        self.store.update_message(sid, status=status, error_code=error_code)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": record["account_sid"],
            "To": record["to"],
            "ApiVersion": API_VERSION,
        }
        params |= {"From": record["from"]} if record["from"] else {}
        params |= (
            {"MessagingServiceSid": record["messaging_service_sid"]}
            if record["messaging_service_sid"]
            else {}
        )
        params |= {"ErrorCode": str(error_code)} if error_code is not None else {}
        if record["status_callback"]:
            self._post_form("twilio_status", record["status_callback"], params)
        return params

    def inbound(self, from_: str, body: str, to: str | None = None) -> dict[str, str]:
        """A phone number replies: opt-out/opt-in words change what Twilio allows, then the inbound URL is told.

        ``to`` defaults to whoever last messaged ``from_`` (the sender a reply goes to).
        """
        with self._lock:
            to = to or self._last_sender.get(from_, DEFAULT_FROM)
            match = match_keyword(body)
            if match and match.kind is Keyword.OPT_OUT:
                self._opt_outs.add((to, from_))
            elif match and match.kind is Keyword.OPT_IN:
                self._opt_outs.discard((to, from_))
        sid = "SM" + self._sids.hex32()
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(num_segments(body)),
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        if to.startswith("MG"):
            params["MessagingServiceSid"] = to
        if match and match.kind is Keyword.OPT_OUT:
            params["OptOutType"] = "STOP"
        url = self._webhook_settings.url
        if url:
            self._post_form("twilio_inbound", url, params)
        return params

    def opted_out(self, sender: str, recipient: str) -> bool:
        """Whether Twilio would refuse ``sender`` -> ``recipient`` (21610) after a STOP."""
        with self._lock:
            return (sender, recipient) in self._opt_outs

    def _emit_records(
        self, records: list[Record], outcomes: SmsOutcomes, seed: int, at: float | None
    ) -> list[dict[str, Any]]:
        emitted: list[dict[str, Any]] = []
        for record in records:
            statuses, replies_stop = sms_statuses(outcomes, seed, record["sid"])
            emitted.extend(self.emit_status(record["sid"], status, code) for status, code in statuses)
            if replies_stop:
                sender = record["from"] or record["messaging_service_sid"]
                emitted.append(self.inbound(record["to"], "STOP", sender))
        return emitted

    def _post_form(self, kind: str, url: str, params: dict[str, str]) -> None:
        signature = twilio_signature(self.auth_token, url, params)
        body = urlencode(params).encode()
        self.webhooks.submit(
            kind,
            url,
            body,
            "application/x-www-form-urlencoded",
            lambda _: {TWILIO_SIGNATURE_HEADER: signature},
        )

    # -- routes ------------------------------------------------------------------------------------
    def _add_vendor_routes(self, app: FastAPI) -> None:
        @app.post(TWILIO_MESSAGES_PATH)
        async def create_message(request: Request) -> Response:
            return await self.serve(request, self._process)

        @app.post("/_sandbox/emit_status")
        async def emit_status(request: Request) -> dict[str, str]:
            data = json_object(await request.body())
            try:
                return self.emit_status(data["sid"], data["status"], data.get("error_code"))
            except KeyError as exc:
                raise SandboxError(f"missing {exc}") from exc

        @app.post("/_sandbox/inbound")
        async def inbound(request: Request) -> dict[str, str]:
            data = json_object(await request.body())
            try:
                return self.inbound(data["from"], data["body"], data.get("to"))
            except KeyError as exc:
                raise SandboxError(f"missing {exc}") from exc
