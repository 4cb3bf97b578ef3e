"""A server honouring SendGrid's ``POST /v3/mail/send`` contract and its signed Event Webhook.

The request body is validated against SendGrid's own document (``tsg_mail_v3.json``) with
openapi-core; the rules the document leaves out (auth, recipient limits, one address once per
request, custom_args size, content and subject requirements, 30 MB) are enforced here, answering
in SendGrid's error shape ``{"errors": [{"message", "field", "help"}]}``.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from lifecycle.provider_servers import faults as f
from lifecycle.provider_servers.base import (
    ACCEPTED,
    REJECTED,
    SANDBOX,
    Answer,
    ProviderServer,
    SandboxError,
    json_object,
)
from lifecycle.provider_servers.contracts import SENDGRID_MAIL_SEND_PATH, Problem, sendgrid_mail_contract
from lifecycle.provider_servers.faults import Decision, FaultConfig
from lifecycle.provider_servers.outcomes import EmailOutcomes, email_events
from lifecycle.provider_servers.seeding import IdSequence
from lifecycle.provider_servers.signing import EventWebhookSigner
from lifecycle.provider_servers.store import Record

DEFAULT_API_KEY = "SG.local-sandbox.provider-server-key"
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000  # per personalization (the mail send document, `substitutions`)
MAX_REQUEST_BYTES = 30 * 1024 * 1024
EVENTS_PER_POST = 500
EVENT_NAMES = frozenset(
    [
        "processed",
        "dropped",
        "delivered",
        "deferred",
        "bounce",
        "open",
        "click",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
        "group_resubscribe",
    ]
)
# Seconds after ``at`` at which simulated events are dated, when the caller dates them.
_EVENT_OFFSETS = {"processed": 0, "dropped": 0, "deferred": 30, "delivered": 60, "bounce": 60, "open": 1800}
_EVENT_OFFSETS |= {"click": 1860, "unsubscribe": 1920, "spamreport": 1980}
_EVENT_DETAILS: dict[str, dict[str, Any]] = {
    "delivered": {"response": "250 2.0.0 OK", "ip": "127.0.0.1", "tls": 1},
    "deferred": {"response": "421 4.7.0 Try again later", "attempt": "1"},
    "bounce": {
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "bounce_classification": "Invalid Address",
    },
    "dropped": {"reason": "Bounced Address", "status": "5.0.0"},
    "open": {"useragent": "Mozilla/5.0", "ip": "127.0.0.1", "sg_machine_open": False},
    "click": {"useragent": "Mozilla/5.0", "ip": "127.0.0.1"},
}
_HREF = re.compile(r"""href\s*=\s*["'](https?://[^"']+)["']""", re.IGNORECASE)
_ANGLE_URL = re.compile(r"<(https?://[^>]+)>")


def sendgrid_error(status: int, *problems: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """SendGrid's error body: one entry per problem, ``help`` always null here."""
    errors = [{"message": p.message, "field": p.field, "help": None} for p in problems]
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


class SendGridServer(ProviderServer):
    """``POST /v3/mail/send`` plus the sandbox API; signs Event Webhook posts with ``signer``."""

    name = "sendgrid"
    outcomes_type = EmailOutcomes

    def __init__(
        self,
        api_key: str | None = DEFAULT_API_KEY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        faults: FaultConfig | None = None,
        webhook_url: str | None = None,
        auto_emit: bool = False,
        outcomes: EmailOutcomes | None = None,
        signer: EventWebhookSigner | None = None,
        spec_dir: Path | None = None,
    ) -> None:
        """``api_key=None`` accepts any bearer key; otherwise only this one."""
        self.api_key = api_key
        self.signer = signer or EventWebhookSigner.from_seed(seed)
        self._contract = sendgrid_mail_contract(spec_dir)
        self._message_ids = IdSequence(seed, "x-message-id")
        self._event_ids = IdSequence(seed, "sg_event_id")
        super().__init__(
            host=host,
            port=port,
            seed=seed,
            faults=faults,
            webhook_url=webhook_url,
            auto_emit=auto_emit,
            outcomes=outcomes,
        )

    @property
    def public_key(self) -> str:
        """The Event Webhook verification key: base64 DER SubjectPublicKeyInfo, as SendGrid publishes it."""
        return self.signer.public_key_b64

    # -- mail send ----------------------------------------------------------------------------------
    def _process(self, request: Request, body: bytes) -> Answer:
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return Answer(sendgrid_error(401, Problem(None, "authorization required")), REJECTED)
        if self.api_key is not None and not hmac.compare_digest(key.strip().encode(), self.api_key.encode()):
            invalid = Problem(None, "The provided authorization grant is invalid, expired, or revoked")
            return Answer(sendgrid_error(401, invalid), REJECTED)
        if len(body) >= MAX_REQUEST_BYTES:
            return Answer(
                sendgrid_error(413, Problem(None, "The message must be smaller than 30 MB.")), REJECTED
            )
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Answer(
                sendgrid_error(400, Problem(None, "The JSON you have submitted cannot be parsed.")), REJECTED
            )
        problems = self._contract.problems(
            "post",
            SENDGRID_MAIL_SEND_PATH,
            body,
            request.headers.get("content-type", ""),
            dict(request.headers),
        ) or _unwritten_rules(payload)
        if problems:
            return Answer(sendgrid_error(400, *problems), REJECTED)
        if payload.get("mail_settings", {}).get("sandbox_mode", {}).get("enable"):
            return Answer(Response(status_code=200), SANDBOX)
        x_message_id = self._message_ids.token22()
        records = _records(x_message_id, payload)
        for record in records:
            aliases = [x_message_id, *(r["sg_message_id"] for r in record["recipients"])]
            self.store.add_message(record, aliases)
        response = Response(status_code=202, headers={"X-Message-Id": x_message_id})
        return Answer(response, ACCEPTED, tuple(r["id"] for r in records))

    def _fault_response(self, fault: str, decision: Decision) -> Response:
        if fault in (f.RATE_LIMITED, f.OVER_CAPACITY):
            headers = {
                "X-RateLimit-Limit": str(decision.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(decision.retry_at),
            }
            return sendgrid_error(429, Problem(None, "too many requests"), headers=headers)
        if fault == f.UNAVAILABLE:
            return sendgrid_error(503, Problem(None, "service unavailable"))
        return sendgrid_error(500, Problem(None, "internal server error"))

    # -- event webhook -----------------------------------------------------------------------------
    def emit_event(
        self, sg_message_id: str, event: str, *, timestamp: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Post one chosen event (e.g. the demo's simulated click) for the recipient of ``sg_message_id``."""
        if event not in EVENT_NAMES:
            raise SandboxError(f"unknown SendGrid event {event!r}; known: {sorted(EVENT_NAMES)}")
        record = self.store.message(sg_message_id)
        if record is None:
            raise SandboxError(f"no accepted message with sg_message_id {sg_message_id!r}")
        recipient = next((r for r in record["recipients"] if r["sg_message_id"] == sg_message_id), None)
        if recipient is None:
            raise SandboxError(
                f"{sg_message_id!r} names a message, not a recipient: use a recipient's sg_message_id"
            )
        payload = {**self._event(record, recipient, event, timestamp or int(time.time())), **fields}
        self.store.append_event(record["id"], event)
        self._post_events([payload])
        return payload

    def _emit_records(
        self, records: list[Record], outcomes: EmailOutcomes, seed: int, at: float | None
    ) -> list[dict[str, Any]]:
        events = []
        for record in records:
            for recipient in record["recipients"]:
                names = email_events(outcomes, seed, recipient["sg_message_id"])
                for name in names:
                    stamp = int(time.time()) if at is None else int(at) + _EVENT_OFFSETS[name]
                    events.append(self._event(record, recipient, name, stamp))
                    self.store.append_event(record["id"], name)
                if "unsubscribe" in names:
                    self._one_click_unsubscribe(record)
        self._post_events(events)
        return events

    def _event(self, record: Record, recipient: dict[str, Any], name: str, timestamp: int) -> dict[str, Any]:
        event: dict[str, Any] = dict(record["custom_args"])  # echoed first, so reserved names win
        event.update(
            {
                "email": recipient["email"],
                "timestamp": timestamp,
                "event": name,
                "sg_event_id": self._event_ids.token22(),
                "sg_message_id": recipient["sg_message_id"],
                "smtp-id": f"<{record['x_message_id']}@sandbox.sendgrid.local>",
            }
        )
        if record["categories"]:
            event["category"] = record["categories"]
        if record.get("asm"):
            event["asm_group_id"] = record["asm"]["group_id"]
        event.update(_EVENT_DETAILS.get(name, {}))
        if name == "click":
            event["url"] = _first_link(record)
        return event

    def _post_events(self, events: list[dict[str, Any]]) -> None:
        url = self._webhook_settings.url
        if not url:
            return
        for start in range(0, len(events), EVENTS_PER_POST):
            body = json.dumps(events[start : start + EVENTS_PER_POST], separators=(",", ":")).encode()
            self.webhooks.submit("sendgrid_event", url, body, "application/json", self.signer.headers)

    def _one_click_unsubscribe(self, record: Record) -> None:
        """Do what a mailbox provider does for RFC 8058: POST ``List-Unsubscribe=One-Click`` to the URL."""
        headers = {k.lower(): v for k, v in record["headers"].items()}
        target = _ANGLE_URL.search(headers.get("list-unsubscribe", ""))
        if target and headers.get("list-unsubscribe-post", "").strip() == "List-Unsubscribe=One-Click":
            body = b"List-Unsubscribe=One-Click"
            self.webhooks.submit(
                "one_click_unsubscribe",
                target.group(1),
                body,
                "application/x-www-form-urlencoded",
                lambda _: {},
            )

    # -- routes ------------------------------------------------------------------------------------
    def _add_vendor_routes(self, app: FastAPI) -> None:
        @app.post(SENDGRID_MAIL_SEND_PATH)
        async def mail_send(request: Request) -> Response:
            return await self.serve(request, self._process)

        @app.get("/_sandbox/webhook_public_key")
        async def webhook_public_key() -> dict[str, str]:
            return {"id": "", "public_key": self.public_key}

        @app.post("/_sandbox/emit_event")
        async def emit_event(request: Request) -> dict[str, Any]:
            data = json_object(await request.body())
            try:
                return self.emit_event(
                    data["sg_message_id"],
                    data["event"],
                    timestamp=data.get("timestamp"),
                    **data.get("fields", {}),
                )
            except KeyError as exc:
                raise SandboxError(f"missing {exc}") from exc


def _unwritten_rules(payload: dict[str, Any]) -> list[Problem]:
    """SendGrid's rules that its document does not express."""
    personalizations = payload["personalizations"]
    if not personalizations:
        return [
            Problem("personalizations", "The personalizations field must have at least one personalization.")
        ]
    problems: list[Problem] = []
    seen: set[str] = set()
    total = 0
    for i, p in enumerate(personalizations):
        if not p["to"]:
            problems.append(
                Problem(f"personalizations.{i}.to", "The to array must have at least one email object.")
            )
        for kind in ("to", "cc", "bcc"):
            for address in p.get(kind, []):
                total += 1
                email = address["email"].lower()
                if email in seen:
                    problems.append(
                        Problem(
                            f"personalizations.{i}.{kind}",
                            "Each email address should be unique within a request. "
                            f"Found a duplicate in personalizations.{i}.{kind}.",
                        )
                    )
                seen.add(email)
        if len(json.dumps(p.get("substitutions", {})).encode()) > MAX_SUBSTITUTIONS_BYTES:
            problems.append(
                Problem(
                    f"personalizations.{i}.substitutions",
                    "The total size of substitutions may not exceed 10,000 bytes per personalization.",
                )
            )
        merged = {**payload.get("custom_args", {}), **p.get("custom_args", {})}
        if any(not isinstance(v, str) for v in merged.values()):
            problems.append(
                Problem(f"personalizations.{i}.custom_args", "custom_args values must be strings.")
            )
        elif len(json.dumps(merged).encode()) > MAX_CUSTOM_ARGS_BYTES:
            problems.append(
                Problem(
                    f"personalizations.{i}.custom_args", "custom_args may not exceed 10,000 bytes in total."
                )
            )
    if total > MAX_RECIPIENTS:
        problems.append(
            Problem("personalizations", f"A request may have at most {MAX_RECIPIENTS} recipients.")
        )
    if not payload.get("template_id"):
        if not payload.get("content"):
            problems.append(
                Problem("content", "Unless a valid template_id is provided, content is required.")
            )
        if not payload.get("subject") and not all(p.get("subject") for p in personalizations):
            problems.append(
                Problem("subject", "The subject is required unless every personalization has a subject.")
            )
    return problems


def _substitute(text: str | None, substitutions: dict[str, str]) -> str | None:
    for tag, value in substitutions.items():
        text = text.replace(tag, value) if text is not None else None
    return text


def _records(x_message_id: str, payload: dict[str, Any]) -> list[Record]:
    """One record per personalization, as the recipient would see it (substitutions applied)."""
    records = []
    for i, p in enumerate(payload["personalizations"]):
        subs = p.get("substitutions", {})
        recipients = [
            {"email": a["email"], "name": a.get("name"), "kind": kind}
            for kind in ("to", "cc", "bcc")
            for a in p.get(kind, [])
        ]
        for r, recipient in enumerate(recipients):
            recipient["sg_message_id"] = f"{x_message_id}.filterdrecv-{i}-{r}.0"
        records.append(
            {
                "id": f"{x_message_id}.{i}",
                "x_message_id": x_message_id,
                "personalization": i,
                "from": p.get("from", payload["from"]),
                "reply_to": payload.get("reply_to"),
                "to": [a["email"] for a in p["to"]],
                "recipients": recipients,
                "subject": _substitute(p.get("subject", payload.get("subject")), subs),
                "content": [
                    {"type": c["type"], "value": _substitute(c["value"], subs)}
                    for c in payload.get("content", [])
                ],
                "custom_args": {**payload.get("custom_args", {}), **p.get("custom_args", {})},
                "categories": payload.get("categories", []),
                "headers": {**payload.get("headers", {}), **p.get("headers", {})},
                "template_id": payload.get("template_id"),
                "dynamic_template_data": p.get("dynamic_template_data"),
                "send_at": p.get("send_at", payload.get("send_at")),
                "asm": payload.get("asm"),
                "received_at": time.time(),
                "events": [],
            }
        )
    return records


def _first_link(record: Record) -> str:
    """The first non-unsubscribe link in the HTML part, which a simulated click follows."""
    for part in record["content"]:
        for url in _HREF.findall(part["value"] or ""):
            if "unsubscribe" not in url.lower():
                return url
    return "https://example.com/"
