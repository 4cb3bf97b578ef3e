"""Delivery events, opt-outs and opt-ins arriving from outside (provider webhooks, unsubscribe links).

An event is stored once, keyed by (provider, provider_event_id); its effects (a suppression, a lifted
suppression, a consent change, a reconciled ledger row) are applied in the same transaction and only
when the event is new. So a provider's retry or a replayed request changes nothing, and a crash can
never leave an event stored without its effect.

Suppressions and consent follow the address's state rather than the event count: a second opt-out of
an already suppressed address records no second consent change, and a lift only removes opt-out
reasons (a hard bounce stays suppressed whatever the recipient clicks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lifecycle.ops_store.ledger import utcnow
from lifecycle.ops_store.schema import SENT, UNKNOWN, consent_changes, delivery_events, messages, suppressions
from lifecycle.ops_store.suppressions import normalize_address

REVOKED, GRANTED = "revoked", "granted"
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class DeliveryEvent:
    provider: str
    provider_event_id: str
    event_type: str
    occurred_at: datetime
    payload: Mapping[str, Any]
    message_key: str | None = None
    provider_message_id: str | None = None


@dataclass(frozen=True)
class Suppress:
    """Stop messaging an address. ``consent_evidence`` is set when the person withdrew consent (an
    unsubscribe, a STOP), not for a delivery failure such as a hard bounce."""

    channel: str
    address: str
    reason: str
    source: str
    consent_evidence: str | None = None


@dataclass(frozen=True)
class Lift:
    """The person opted back in: remove a suppression whose reason is one of ``reasons``."""

    channel: str
    address: str
    reasons: frozenset[str]
    source: str
    consent_evidence: str


Effect = Suppress | Lift


@dataclass(frozen=True)
class MessageRecipient:
    channel: str
    recipient: str


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _record_consent(
    conn: sa.Connection, channel: str, address: str, status: str, source: str, evidence: str, at: datetime
) -> None:
    conn.execute(
        consent_changes.insert().values(
            channel=channel, address=address, status=status, source=source, evidence=evidence, recorded_at=at
        )
    )


def _apply(conn: sa.Connection, effect: Effect, at: datetime) -> bool:
    """Apply one effect; True when it changed the address's state."""
    address = normalize_address(effect.channel, effect.address)
    if isinstance(effect, Suppress):
        inserted = conn.execute(
            _dialect_insert(conn, suppressions)
            .values(
                channel=effect.channel,
                address=address,
                reason=effect.reason,
                source=effect.source,
                created_at=at,
            )
            .on_conflict_do_nothing()
            .returning(suppressions.c.address)
        ).first()
        if inserted is not None and effect.consent_evidence is not None:
            _record_consent(
                conn, effect.channel, address, REVOKED, effect.source, effect.consent_evidence, at
            )
        return inserted is not None
    lifted = conn.execute(
        suppressions.delete()
        .where(
            suppressions.c.channel == effect.channel,
            suppressions.c.address == address,
            suppressions.c.reason.in_(sorted(effect.reasons)),
        )
        .returning(suppressions.c.address)
    ).first()
    if lifted is not None:
        _record_consent(conn, effect.channel, address, GRANTED, effect.source, effect.consent_evidence, at)
    return lifted is not None


def _reconcile_unknown(conn: sa.Connection, event: DeliveryEvent, at: datetime) -> int:
    """A provider event proves the provider accepted a message whose send was ambiguous: ``unknown`` ->
    ``sent``. Guarded on ``unknown`` so no other state ever moves. ``sent_at`` becomes the moment the
    send started, the best estimate of when the provider took it."""
    statement = (
        messages.update()
        .where(messages.c.message_key == event.message_key, messages.c.state == UNKNOWN)
        .values(
            state=SENT,
            sent_at=messages.c.sending_at,
            updated_at=at,
            provider=event.provider,
            provider_message_id=sa.func.coalesce(messages.c.provider_message_id, event.provider_message_id),
            error_code=None,
            error_reason=f"reconciled: a {event.provider} {event.event_type} event proves the provider accepted it",
        )
    )
    return conn.execute(statement).rowcount


def record_events(
    engine: sa.Engine,
    events: Iterable[tuple[DeliveryEvent, Effect | None]],
    received_at: datetime | None = None,
) -> list[bool]:
    """Store events in one transaction, applying each new event's effect and reconciling its message.

    Returns, per event and in order, whether it was new (False: a duplicate, nothing changed).
    """
    received_at = received_at or utcnow()
    new: list[bool] = []
    with engine.begin() as conn:
        for event, effect in events:
            stored = conn.execute(
                _dialect_insert(conn, delivery_events)
                .values(
                    provider=event.provider,
                    provider_event_id=event.provider_event_id,
                    message_key=event.message_key,
                    provider_message_id=event.provider_message_id,
                    event_type=event.event_type,
                    occurred_at=event.occurred_at,
                    payload_json=json.dumps(event.payload, sort_keys=True, default=str),
                    received_at=received_at,
                )
                .on_conflict_do_nothing()
                .returning(delivery_events.c.provider_event_id)
            ).first()
            new.append(stored is not None)
            if stored is None:
                continue
            if effect is not None:
                _apply(conn, effect, received_at)
            if event.message_key is not None:
                _reconcile_unknown(conn, event, received_at)
    return new


def apply_effect(engine: sa.Engine, effect: Effect, at: datetime | None = None) -> bool:
    """Apply an opt-out or opt-in that is not a provider event (an unsubscribe link). True if it changed
    anything; repeating it is harmless."""
    with engine.begin() as conn:
        return _apply(conn, effect, at or utcnow())


def message_keys_by_provider_id(
    engine: sa.Engine, channel: str, provider_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """Ledger keys by (provider message id, normalised recipient), for events that do not carry the key.

    The id alone is ambiguous: one SendGrid request, hence one ``X-Message-Id``, carries up to 1,000
    recipients (each address once), so the recipient completes the match.
    """
    found: dict[tuple[str, str], str] = {}
    unique = sorted(set(provider_ids))
    with engine.connect() as conn:
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            rows = conn.execute(
                sa.select(messages.c.provider_message_id, messages.c.recipient, messages.c.message_key).where(
                    messages.c.channel == channel,
                    messages.c.provider_message_id.in_(unique[start : start + _LOOKUP_CHUNK]),
                )
            )
            for row in rows:
                found[(row.provider_message_id, normalize_address(channel, row.recipient))] = row.message_key
    return found


def message_recipient(engine: sa.Engine, message_key: str) -> MessageRecipient | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(messages.c.channel, messages.c.recipient).where(messages.c.message_key == message_key)
        ).first()
    return None if row is None else MessageRecipient(row.channel, row.recipient)
