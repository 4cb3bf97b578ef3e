"""The message ledger: claim a key before the provider is called, and record every state durably.

Every transition is a guarded UPDATE (``where state = <expected>``) in its own transaction, so a
crashed or duplicated worker can never move a message backwards or send it twice: a key that is not
``planned`` cannot be claimed, and one stuck in ``sending`` is resolved by reconciliation, not resent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lifecycle.ops_store.schema import (
    FAILED,
    HELD_OUT,
    PLANNED,
    SENDING,
    SENT,
    SKIPPED,
    UNKNOWN,
    messages,
)

_INSERT_CHUNK = 1000


@dataclass(frozen=True)
class PlannedMessage:
    """One message due for a recipient, as the planner hands it to the ledger."""

    message_key: str
    enrollment_id: str
    customer_id: str
    contact_id: str
    sequence: str
    step: str
    channel: str
    template: str
    recipient: str
    time_zone: str | None
    context: dict[str, Any]
    as_of_date: date
    send_after: datetime
    # The end of the recipient's window that day; None: the message has no window end.
    send_before: datetime | None = None


@dataclass(frozen=True)
class ClaimedMessage:
    """A message this worker now owns in state ``sending``."""

    message_key: str
    customer_id: str
    contact_id: str
    sequence: str
    step: str
    channel: str
    template: str
    recipient: str
    context: dict[str, Any]
    attempts: int


def utcnow() -> datetime:
    return datetime.now(UTC)


def _insert_ignoring_existing(dialect_name: str) -> Any:
    if dialect_name == "postgresql":
        return postgresql.insert(messages).on_conflict_do_nothing(index_elements=["message_key"])
    if dialect_name == "sqlite":
        return sqlite.insert(messages).on_conflict_do_nothing(index_elements=["message_key"])
    raise NotImplementedError(f"operational store dialect {dialect_name!r} is not supported")


def plan(
    engine: sa.Engine, planned: Iterable[PlannedMessage], now: datetime | None = None, state: str = PLANNED
) -> int:
    """Insert messages as ``planned`` (or ``held_out``: recorded for lift, never sent); keys already in
    the ledger are left untouched. Returns new rows."""
    if state not in (PLANNED, HELD_OUT):
        raise ValueError(f"messages are planned as {PLANNED!r} or {HELD_OUT!r}, not {state!r}")
    now = now or utcnow()
    inserted = 0
    # RETURNING counts the rows really inserted (rowcount is unreliable for executemany on PostgreSQL).
    statement = _insert_ignoring_existing(engine.dialect.name).returning(messages.c.message_key)
    batch: list[dict[str, Any]] = []

    def flush() -> int:
        if not batch:
            return 0
        with engine.begin() as conn:
            inserted_keys = conn.execute(statement, batch).all()
        batch.clear()
        return len(inserted_keys)

    for message in planned:
        batch.append(
            {
                "message_key": message.message_key,
                "enrollment_id": message.enrollment_id,
                "customer_id": message.customer_id,
                "contact_id": message.contact_id,
                "sequence": message.sequence,
                "step": message.step,
                "channel": message.channel,
                "template": message.template,
                "recipient": message.recipient,
                "time_zone": message.time_zone,
                "context_json": json.dumps(message.context, sort_keys=True, default=str),
                "as_of_date": message.as_of_date,
                "send_after": message.send_after,
                "send_before": message.send_before,
                "state": state,
                "attempts": 0,
                "planned_at": now,
                "updated_at": now,
            }
        )
        if len(batch) >= _INSERT_CHUNK:
            inserted += flush()
    inserted += flush()
    return inserted


def claim_due(
    engine: sa.Engine,
    worker_id: str,
    limit: int,
    now: datetime | None = None,
    channel: str | None = None,
    as_of_dates: tuple[date, date] | None = None,
    within_window: bool = True,
) -> list[ClaimedMessage]:
    """Atomically move up to ``limit`` due ``planned`` messages to ``sending`` for this worker.

    ``as_of_dates`` (first, last) limits the claim to messages planned for those run dates.
    ``within_window`` leaves out messages whose window has closed (``send_before`` passed): they wait
    to be moved to their next window (or expire). A simulated run, which sends nothing, claims them
    regardless.

    Oldest ``send_after`` first, and only that: the index on (state, send_after) then yields rows in
    claim order, so a claim reads about ``limit`` rows. A tie-breaker such as the key would make it sort
    every planned row that shares the earliest ``send_after`` (a whole day's backlog) on every claim.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets many workers claim disjoint sets without waiting.
    SQLite: the single UPDATE statement is atomic because SQLite serialises writers.
    """
    now = now or utcnow()
    due = sa.select(messages.c.message_key).where(messages.c.state == PLANNED, messages.c.send_after <= now)
    if within_window:
        due = due.where(sa.or_(messages.c.send_before.is_(None), messages.c.send_before > now))
    if channel is not None:
        due = due.where(messages.c.channel == channel)
    if as_of_dates is not None:
        due = due.where(messages.c.as_of_date.between(*as_of_dates))
    due = due.order_by(messages.c.send_after).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # A CTE, not `IN (subquery)`: PostgreSQL may re-run an IN subquery, and with SKIP LOCKED a re-run
    # picks other rows, so a claim could exceed its limit. A locking CTE is evaluated exactly once.
    due_keys = due.cte("due_keys")
    claim = (
        messages.update()
        .where(messages.c.message_key == due_keys.c.message_key, messages.c.state == PLANNED)
        .values(
            state=SENDING,
            sending_at=now,
            updated_at=now,
            attempts=messages.c.attempts + 1,
            claimed_by=worker_id,
        )
        .returning(
            messages.c.message_key,
            messages.c.customer_id,
            messages.c.contact_id,
            messages.c.sequence,
            messages.c.step,
            messages.c.channel,
            messages.c.template,
            messages.c.recipient,
            messages.c.context_json,
            messages.c.attempts,
        )
    )
    with engine.begin() as conn:
        rows = conn.execute(claim).all()
    # Positional: RETURNING lists the columns in ClaimedMessage's field order (a claim can hold
    # thousands of rows, and access by name costs more than the rest of this loop).
    claimed = [
        ClaimedMessage(key, customer, contact, sequence, step, channel, template, to, json.loads(context), n)
        for key, customer, contact, sequence, step, channel, template, to, context, n in rows
    ]
    return sorted(claimed, key=lambda message: message.message_key)


@dataclass(frozen=True)
class Outcome:
    """The end of one send attempt, as the ledger records it."""

    message_key: str
    state: str  # SENT, FAILED, SKIPPED or UNKNOWN
    error_code: str | None = None
    error_reason: str | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    content_hash: str | None = None


_STATE_TIMESTAMP = {SENT: "sent_at", FAILED: "failed_at", SKIPPED: "skipped_at", UNKNOWN: "unknown_at"}


def record_outcomes(engine: sa.Engine, outcomes: Sequence[Outcome]) -> None:
    """Record outcomes of claimed messages in one transaction.

    Only ``sending`` rows move, so a late or duplicate worker cannot overwrite a recorded outcome.
    The guarded UPDATE is compiled once and its rows go straight to the driver's ``executemany``:
    SQLAlchemy's per-row parameter processing cost as much CPU as the UPDATEs themselves, and a
    set-based ``UPDATE ... FROM (VALUES ...)`` measured slower on both backends (docs/benchmarks.md).
    """
    if not outcomes:
        return
    dialect = engine.dialect
    stamp = messages.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = stamp(utcnow()) if stamp else utcnow()
    with engine.begin() as conn:
        for state in sorted({o.state for o in outcomes}):
            sql, defaults, order = _outcome_update(dialect, state)
            rows = [
                {
                    **defaults,
                    "b_now": now,
                    "b_key": o.message_key,
                    "b_code": o.error_code,
                    "b_reason": o.error_reason,
                    "b_provider": o.provider,
                    "b_provider_id": o.provider_message_id,
                    "b_hash": o.content_hash,
                }
                for o in outcomes
                if o.state == state
            ]
            conn.exec_driver_sql(sql, [tuple(row[n] for n in order) for row in rows] if order else rows)


@lru_cache(maxsize=64)
def _outcome_update(dialect: sa.Dialect, state: str) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    """The outcome UPDATE for ``state`` in the driver's SQL: the text, the values of its fixed
    parameters, and the parameter order when the driver's style is positional."""
    statement = (
        messages.update()
        .where(messages.c.message_key == sa.bindparam("b_key"), messages.c.state == SENDING)
        .values(
            state=state,
            updated_at=sa.bindparam("b_now"),
            **{_STATE_TIMESTAMP[state]: sa.bindparam("b_now")},
            error_code=sa.bindparam("b_code"),
            error_reason=sa.bindparam("b_reason"),
            provider=sa.bindparam("b_provider"),
            provider_message_id=sa.bindparam("b_provider_id"),
            content_hash=sa.bindparam("b_hash"),
        )
    )
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return compiled.string, dict(compiled.params), order


def release(engine: sa.Engine, keys: Sequence[str], reason: str) -> int:
    """Give claimed messages back (``sending`` -> ``planned``) when the provider certainly queued nothing."""
    statement = (
        messages.update()
        .where(messages.c.message_key.in_(list(keys)), messages.c.state == SENDING)
        .values(state=PLANNED, updated_at=utcnow(), error_reason=reason, claimed_by=None)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount


def mark_request_started(engine: sa.Engine, keys: Sequence[str]) -> None:
    """Recorded just before the provider is called: from here on, a crash leaves the outcome unknown."""
    now = utcnow()
    statement = (
        messages.update()
        .where(messages.c.message_key.in_(list(keys)), messages.c.state == SENDING)
        .values(request_started_at=now, updated_at=now)
    )
    with engine.begin() as conn:
        conn.execute(statement)


def expire_stale_claims(engine: sa.Engine, lease: timedelta, now: datetime | None = None) -> tuple[int, int]:
    """Resolve claims older than their lease (their worker died): returns (replanned, unknown).

    A claim whose provider request never started provably never left: it goes back to ``planned``.
    One whose request started may have been accepted: it becomes ``unknown``, reconciled from provider
    events, never resent blindly.
    """
    now = now or utcnow()
    stale = sa.and_(messages.c.state == SENDING, messages.c.sending_at < now - lease)
    with engine.begin() as conn:
        replanned = conn.execute(
            messages.update()
            .where(stale, messages.c.request_started_at.is_(None))
            .values(
                state=PLANNED,
                updated_at=now,
                claimed_by=None,
                error_reason="its worker stopped before calling the provider; planned again",
            )
        ).rowcount
        unknown = conn.execute(
            messages.update()
            .where(stale, messages.c.request_started_at.is_not(None))
            .values(
                state=UNKNOWN,
                unknown_at=now,
                updated_at=now,
                error_code="claim_expired",
                error_reason=f"its worker stopped during the provider request (lease {lease}); reconcile from provider events",
            )
        ).rowcount
    return replanned, unknown


@dataclass(frozen=True)
class MissedWindow:
    """A planned message whose send window closed before it was sent."""

    message_key: str
    time_zone: str | None
    send_after: datetime
    send_before: datetime
    as_of_date: date  # the run date it was planned for


def missed_windows(engine: sa.Engine, now: datetime | None = None) -> list[MissedWindow]:
    now = now or utcnow()
    statement = sa.select(
        messages.c.message_key,
        messages.c.time_zone,
        messages.c.send_after,
        messages.c.send_before,
        messages.c.as_of_date,
    ).where(messages.c.state == PLANNED, messages.c.send_before <= now)
    with engine.connect() as conn:
        return [MissedWindow(*row) for row in conn.execute(statement)]


def _still_missed() -> sa.Update:
    """An UPDATE of the message ``b_key`` only while it is still planned with the window
    ``b_old_before`` it missed: one claimed or moved meanwhile by another worker is left alone."""
    return messages.update().where(
        messages.c.message_key == sa.bindparam("b_key"),
        messages.c.state == PLANNED,
        messages.c.send_before == sa.bindparam("b_old_before"),
    )


def _execute_in_chunks(engine: sa.Engine, statement: sa.Update, rows: list[dict[str, Any]]) -> int:
    """One guarded UPDATE per row, in one transaction; returns the rows it changed."""
    changed = 0
    with engine.begin() as conn:
        for start in range(0, len(rows), _INSERT_CHUNK):
            changed += conn.execute(statement, rows[start : start + _INSERT_CHUNK]).rowcount
    return changed


def move_windows(engine: sa.Engine, moves: Sequence[tuple[MissedWindow, datetime, datetime]]) -> int:
    """Give missed messages a new window (missed, send_after, send_before). Guarded by the old window,
    so a message claimed or moved meanwhile by another worker is left alone. Returns rows moved."""
    if not moves:
        return 0
    now = utcnow()
    statement = _still_missed().values(
        send_after=sa.bindparam("b_after"), send_before=sa.bindparam("b_before"), updated_at=now
    )
    rows = [
        {"b_key": m.message_key, "b_old_before": m.send_before, "b_after": after, "b_before": before}
        for m, after, before in moves
    ]
    return _execute_in_chunks(engine, statement, rows)


def expire_windows(engine: sa.Engine, expired: Sequence[tuple[MissedWindow, str]]) -> int:
    """Skip missed messages (with the reason) that would go out too late to make sense, with code
    ``window_expired``. Guarded like ``move_windows``: a message claimed or moved meanwhile is left
    alone. Returns rows skipped."""
    if not expired:
        return 0
    now = utcnow()
    statement = _still_missed().values(
        state=SKIPPED,
        skipped_at=now,
        updated_at=now,
        error_code="window_expired",
        error_reason=sa.bindparam("b_reason"),
    )
    rows = [
        {"b_key": m.message_key, "b_old_before": m.send_before, "b_reason": reason} for m, reason in expired
    ]
    return _execute_in_chunks(engine, statement, rows)


def day_counts(engine: sa.Engine, as_of: date) -> dict[tuple[str, str, str, str], int]:
    """What was planned for one run date: (sequence, step, channel, state) -> messages."""
    columns = (messages.c.sequence, messages.c.step, messages.c.channel, messages.c.state)
    statement = sa.select(*columns, sa.func.count()).where(messages.c.as_of_date == as_of).group_by(*columns)
    with engine.connect() as conn:
        return {(row[0], row[1], row[2], row[3]): row[4] for row in conn.execute(statement)}


def state_counts(engine: sa.Engine) -> dict[str, int]:
    statement = sa.select(messages.c.state, sa.func.count()).group_by(messages.c.state)
    with engine.connect() as conn:
        return {state: count for state, count in conn.execute(statement)}
