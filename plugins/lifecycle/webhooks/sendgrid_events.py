"""SendGrid's signed Event Webhook: verify the raw body, store each event once, mirror opt-outs.

SendGrid retries for 24 hours on any non-2xx answer and sends duplicates anyway, so a request is only
refused when it is not provably SendGrid's (403: unsigned, forged or outside the timestamp window)
or not an event batch at all (400). Every valid event is stored; a malformed one never costs the
others in its batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sendgrid.helpers.eventwebhook import EventWebhook
from starlette.concurrency import run_in_threadpool

from lifecycle.ops_store.events import (
    DeliveryEvent,
    Effect,
    Lift,
    Suppress,
    message_keys_by_provider_id,
    record_events,
)
from lifecycle.ops_store.suppressions import normalize_address
from lifecycle.providers.sendgrid_email import MESSAGE_KEY_ARG
from lifecycle.webhooks.state import ReceiverState

log = logging.getLogger(__name__)
router = APIRouter()

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_MAX_ID_LENGTH = 128  # delivery_events.provider_event_id and provider_message_id
_MAX_KEY_LENGTH = 200  # messages.message_key
_MAX_ADDRESS_LENGTH = 320  # suppressions.address

# The person's own opt-outs: a group_resubscribe lifts these, never a bounce or an invalid address.
EMAIL_OPT_OUT_REASONS = frozenset({"unsubscribe", "group_unsubscribe", "spamreport"})
# SendGrid drops a message when the address is on one of its own lists; those lists become ours too.
_DROP_REASONS = {
    "bounced address": "hard_bounce",
    "invalid": "invalid_address",
    "unsubscribed address": "unsubscribe",
    "spam reporting address": "spamreport",
}


def _text(event: Mapping[str, Any], name: str, max_length: int) -> str | None:
    """A string field that fits its column, else None (a malformed field must not fail the batch)."""
    value = event.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= max_length else None


def signature_problem(
    verifier: EventWebhook,
    max_age_s: float,
    now: datetime,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
) -> str | None:
    """Why the request is not provably SendGrid's and fresh, or None when it is. The helper does not
    check the timestamp's age: that is what makes a captured request useless later."""
    if not signature or not timestamp:
        return "unsigned request"
    try:
        stamp = int(timestamp)
        payload = body.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "malformed timestamp or body"
    try:
        valid = verifier.verify_signature(payload, signature, timestamp)
    except ValueError:  # signature header that is not base64 or not DER
        valid = False
    if not valid:
        return "invalid signature"
    if abs(now.timestamp() - stamp) > max_age_s:
        return "stale timestamp"
    return None


def _event_id(event: Mapping[str, Any]) -> str:
    """``sg_event_id``; for an event without a usable one, a digest of its content, so a retried batch
    still dedupes instead of storing the event again."""
    event_id = _text(event, "sg_event_id", _MAX_ID_LENGTH)
    if event_id:
        return event_id
    return "sha256:" + hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()


def _occurred_at(event: Mapping[str, Any], received_at: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(event["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return received_at


def _id_prefixes(sg_message_id: str) -> list[str]:
    """``sg_message_id`` starts with the send's ``X-Message-Id``: every dot-separated prefix, so the
    ledger's id is found by an indexed ``IN`` whatever the id's format."""
    parts = sg_message_id.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def suppression_effect(event: Mapping[str, Any], evidence: str) -> Effect | None:
    """The suppression change an event asks for, if any."""
    email, kind = _text(event, "email", _MAX_ADDRESS_LENGTH), event.get("event")
    if email is None or not email.strip():
        return None
    if kind == "bounce":
        # `blocked` is a temporary refusal by the receiving server, not a dead address.
        return None if event.get("type") == "blocked" else Suppress("email", email, "hard_bounce", PROVIDER)
    if kind == "dropped":
        reason = _DROP_REASONS.get(str(event.get("reason", "")).strip().lower())
        return None if reason is None else Suppress("email", email, reason, PROVIDER)
    if kind in EMAIL_OPT_OUT_REASONS:
        return Suppress("email", email, kind, PROVIDER, consent_evidence=evidence)
    if kind == "group_resubscribe":
        return Lift("email", email, EMAIL_OPT_OUT_REASONS, PROVIDER, consent_evidence=evidence)
    return None


def _message_key(event: Mapping[str, Any], known: Mapping[tuple[str, str], str]) -> str | None:
    """``lc_message_key`` (echoed from custom_args), else the ledger row with the event's message id
    prefix and address."""
    key = _text(event, MESSAGE_KEY_ARG, _MAX_KEY_LENGTH)
    sg_message_id = _text(event, "sg_message_id", _MAX_ID_LENGTH)
    email = _text(event, "email", _MAX_ADDRESS_LENGTH)
    if key is not None or sg_message_id is None or email is None:
        return key
    address = normalize_address("email", email)
    prefixes = reversed(_id_prefixes(sg_message_id))  # the longest known prefix wins
    return next((known[(p, address)] for p in prefixes if (p, address) in known), None)


def store_batch(state: ReceiverState, batch: list[Any]) -> dict[str, int]:
    """Store a verified batch; returns counts for the answer and the log (never addresses)."""
    received_at = state.now()
    events = [event for event in batch if isinstance(event, dict)]
    ignored = len(batch) - len(events)
    if ignored:
        log.warning("sendgrid webhook: ignored %d batch item(s) that are not JSON objects", ignored)
    unkeyed = [
        sg_id
        for event in events
        if _text(event, MESSAGE_KEY_ARG, _MAX_KEY_LENGTH) is None
        and (sg_id := _text(event, "sg_message_id", _MAX_ID_LENGTH))
    ]
    known = message_keys_by_provider_id(
        state.engine, "email", [prefix for sg_id in unkeyed for prefix in _id_prefixes(sg_id)]
    )
    items: list[tuple[DeliveryEvent, Effect | None]] = []
    for event in events:
        event_id, kind, key = (
            _event_id(event),
            str(event.get("event") or "unknown")[:32],
            _message_key(event, known),
        )
        delivery_event = DeliveryEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            event_type=kind,
            occurred_at=_occurred_at(event, received_at),
            payload=event,
            message_key=key,
            provider_message_id=_text(event, "sg_message_id", _MAX_ID_LENGTH),
        )
        evidence = f"SendGrid {kind} event {event_id}" + (f" for message {key}" if key else "")
        items.append((delivery_event, suppression_effect(event, evidence)))
    # Apply in event time, so an unsubscribe and a resubscribe in one batch end in the right state.
    items.sort(key=lambda item: (item[0].occurred_at, item[0].provider_event_id))
    new = record_events(state.engine, items, received_at)
    counts = {"received": len(batch), "new": sum(new), "duplicates": len(new) - sum(new), "ignored": ignored}
    log.info("sendgrid webhook: %s", counts)
    return counts


@router.post("/webhooks/sendgrid/events")
async def sendgrid_events(request: Request) -> JSONResponse:
    state: ReceiverState = request.app.state.receiver
    if state.sendgrid is None:
        return JSONResponse({"detail": "signed event webhook is not configured"}, status_code=503)
    body = await request.body()
    problem = signature_problem(
        state.sendgrid,
        state.max_age_s,
        state.now(),
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        body,
    )
    if problem:
        log.warning("sendgrid webhook refused: %s", problem)
        return JSONResponse({"detail": problem}, status_code=403)
    try:
        batch = json.loads(body)
    except ValueError:
        batch = None
    if not isinstance(batch, list):
        return JSONResponse({"detail": "the body must be a JSON array of events"}, status_code=400)
    return JSONResponse(await run_in_threadpool(store_batch, state, batch))
