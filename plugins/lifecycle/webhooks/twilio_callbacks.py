"""Twilio's status callbacks and inbound messages, accepted only with a valid ``X-Twilio-Signature``.

The signature covers the URL Twilio requested, which behind a proxy or under Airflow's URL prefix is
not the URL this process sees; the request is accepted if it verifies against any URL it could have
been sent to (as seen, as forwarded, or the configured public base URL), all under the same token.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from twilio.twiml.messaging_response import MessagingResponse

from lifecycle.ops_store.events import (
    DeliveryEvent,
    Effect,
    Lift,
    Suppress,
    message_keys_by_provider_id,
    record_events,
)
from lifecycle.ops_store.suppressions import normalize_address
from lifecycle.settings import Brand
from lifecycle.sms_rules import OPT_OUT_WORDS, Keyword, match_keyword
from lifecycle.webhooks.state import ReceiverState

log = logging.getLogger(__name__)
router = APIRouter()

PROVIDER = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
# The dispatcher may add this to the StatusCallback URL; it is signed with the URL, so it can be trusted,
# and it is what ties a callback to a message whose send timed out before Twilio's sid came back.
MESSAGE_KEY_PARAM = "lc_message_key"
OPT_OUT_ERROR = "21610"  # the recipient replied STOP earlier: Twilio refuses the pair
LANDLINE_ERROR = "30006"  # a landline never receives SMS: stop trying
# An opt-in lifts the person's own opt-outs, never a landline or an invalid number.
SMS_OPT_OUT_REASONS = frozenset({word.lower() for word in OPT_OUT_WORDS} | {"provider_opt_out"})

_FIELD_MAX_LENGTH = 64  # sids, statuses, error codes and E.164 numbers are far shorter
_FIELDS = ("MessageSid", "MessageStatus", "ErrorCode", "From", "To")

Params = ImmutableMultiDict[str, str]


def candidate_urls(request: Request, public_base_url: str) -> list[str]:
    """The URLs Twilio may have signed: as seen, as rebuilt from ``X-Forwarded-*``, and as configured."""
    url = request.url
    urls = [str(url)]
    forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    if forwarded_proto or forwarded_host:
        urls.append(
            str(url.replace(scheme=forwarded_proto or url.scheme, netloc=forwarded_host or url.netloc))
        )
    root_path = request.scope.get("root_path", "")
    app_path = url.path[len(root_path) :] if url.path.startswith(root_path) else url.path
    urls.append(f"{public_base_url}{app_path}" + (f"?{url.query}" if url.query else ""))
    return list(dict.fromkeys(urls))


async def verified_params(request: Request) -> Params | Response:
    """The form parameters of a request Twilio provably signed, or the refusal to answer with."""
    state: ReceiverState = request.app.state.receiver
    if state.twilio is None:
        return Response("Twilio webhook verification is not configured", status_code=503)
    signature = request.headers.get(SIGNATURE_HEADER)
    try:
        params = ImmutableMultiDict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        params = None
    urls = candidate_urls(request, state.settings.public_base_url)
    if not signature or params is None or not any(state.twilio.validate(u, params, signature) for u in urls):
        log.warning("twilio webhook refused on %s: missing or invalid signature", request.url.path)
        return Response("invalid signature", status_code=403)
    return params


def form_problem(params: Params, *required: str) -> Response | None:
    """A 400 answer for a signed request that still lacks a field or carries an implausible one."""
    if any(not params.get(name) for name in required) or any(
        len(params.get(name, "")) > _FIELD_MAX_LENGTH for name in _FIELDS
    ):
        detail = f"malformed request: {' and '.join(required)} required, fields of at most {_FIELD_MAX_LENGTH} characters"
        return Response(detail, status_code=400)
    return None


def _status_effect(params: Params, sid: str) -> Effect | None:
    to, error_code = params.get("To"), params.get("ErrorCode")
    if not to:
        return None
    if error_code == OPT_OUT_ERROR:
        evidence = f"Twilio error {OPT_OUT_ERROR} on message {sid}"
        return Suppress("sms", to, "provider_opt_out", PROVIDER, consent_evidence=evidence)
    if error_code == LANDLINE_ERROR:
        return Suppress("sms", to, "landline", PROVIDER)
    return None


def store_status(state: ReceiverState, params: Params, message_key: str | None) -> bool:
    sid, status = params["MessageSid"], params["MessageStatus"]
    if message_key is None and params.get("To"):
        known = message_keys_by_provider_id(state.engine, "sms", [sid])
        message_key = known.get((sid, normalize_address("sms", params["To"])))
    event = DeliveryEvent(
        provider=PROVIDER,
        provider_event_id=f"{sid}:{status}",
        event_type=status[:32],  # the column is 32 wide
        occurred_at=state.now(),
        payload=dict(params),
        message_key=message_key,
        provider_message_id=sid,
    )
    [new] = record_events(state.engine, [(event, _status_effect(params, sid))], event.occurred_at)
    log.info(
        "twilio status %s for message %s (error %s)%s",
        status,
        message_key or "not in the ledger",
        params.get("ErrorCode") or "none",
        "" if new else ", a duplicate",
    )
    return new


@router.post("/webhooks/twilio/status")
async def twilio_status(request: Request) -> Response:
    params = await verified_params(request)
    if isinstance(params, Response):
        return params
    if problem := form_problem(params, "MessageSid", "MessageStatus"):
        return problem
    message_key = request.query_params.get(MESSAGE_KEY_PARAM)
    if message_key is not None and not 0 < len(message_key) <= 200:
        message_key = None  # not a ledger key: match by sid instead
    await run_in_threadpool(store_status, request.app.state.receiver, params, message_key)
    return Response(status_code=204)


def help_reply(brand: Brand) -> str:
    return (
        f"{brand.sender_name}: account and product tips by SMS. Help: {brand.app_url}. Reply STOP to opt out."
    )


def store_inbound(state: ReceiverState, params: Params) -> Keyword | None:
    """Store an inbound message once (keyed by its sid) with its consent effect; returns its keyword."""
    sid, sender = params["MessageSid"], params["From"]
    match = match_keyword(params.get("Body", ""))
    effect: Effect | None = None
    if match is not None:
        evidence = f"MessageSid {sid}: {match.word}"
        if match.kind is Keyword.OPT_OUT:
            effect = Suppress("sms", sender, match.word.lower(), "sms_keyword", consent_evidence=evidence)
        elif match.kind is Keyword.OPT_IN:
            effect = Lift("sms", sender, SMS_OPT_OUT_REASONS, "sms_keyword", consent_evidence=evidence)
    kind = f"sms_{match.kind.value}" if match else "sms_inbound"
    event = DeliveryEvent(
        provider=PROVIDER,
        provider_event_id=sid,
        event_type=kind,
        occurred_at=state.now(),
        payload=dict(params),
        provider_message_id=sid,
    )
    [new] = record_events(state.engine, [(event, effect)], event.occurred_at)
    log.info("twilio inbound %s: %s%s", sid, kind, "" if new else ", a duplicate")
    return match.kind if match else None


@router.post("/webhooks/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    params = await verified_params(request)
    if isinstance(params, Response):
        return params
    if problem := form_problem(params, "MessageSid", "From"):
        return problem
    state: ReceiverState = request.app.state.receiver
    keyword = await run_in_threadpool(store_inbound, state, params)
    # Twilio itself confirms STOP and START; only HELP needs our answer (again on a retried request).
    reply = MessagingResponse()
    if keyword is Keyword.HELP:
        reply.message(help_reply(state.settings.brand))
    return Response(str(reply), media_type="application/xml")
