"""Table definitions the code queries through (SQLAlchemy Core, portable across SQLite and PostgreSQL).

The migrations under ``migrations/versions`` create and evolve these tables; a test checks that the
migrated database matches this module, so the two cannot drift apart silently.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()

# Message states. A key moves planned -> sending -> sent | failed | unknown, or planned -> skipped /
# held_out; `unknown` means the provider may have accepted it, so it is reconciled, never resent blindly.
PLANNED, SENDING, SENT, FAILED, SKIPPED, UNKNOWN, HELD_OUT = (
    "planned",
    "sending",
    "sent",
    "failed",
    "skipped",
    "unknown",
    "held_out",
)
MESSAGE_STATES = (PLANNED, SENDING, SENT, FAILED, SKIPPED, UNKNOWN, HELD_OUT)
TERMINAL_STATES = (SENT, FAILED, SKIPPED, HELD_OUT)


class UtcDateTime(sa.types.TypeDecorator):
    """Timestamps are aware UTC in Python on both backends (SQLite would otherwise return naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


messages = sa.Table(
    "messages",
    metadata,
    sa.Column("message_key", sa.String(200), primary_key=True),
    sa.Column("enrollment_id", sa.String(200), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("sequence", sa.String(64), nullable=False),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("template", sa.String(128), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("time_zone", sa.String(64)),
    sa.Column("context_json", sa.Text, nullable=False),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("send_after", UtcDateTime(), nullable=False),
    # The end of the recipient's window that day (null only for rows planned before it existed).
    sa.Column("send_before", UtcDateTime()),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("provider", sa.String(32)),
    sa.Column("provider_message_id", sa.String(128)),
    sa.Column("error_code", sa.String(32)),
    sa.Column("error_reason", sa.Text),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("planned_at", UtcDateTime(), nullable=False),
    sa.Column("sending_at", UtcDateTime()),
    sa.Column("request_started_at", UtcDateTime()),
    sa.Column("sent_at", UtcDateTime()),
    sa.Column("failed_at", UtcDateTime()),
    sa.Column("skipped_at", UtcDateTime()),
    sa.Column("unknown_at", UtcDateTime()),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(f"state in {MESSAGE_STATES!r}", name="ck_messages_state"),
    sa.Index("ix_messages_state_send_after", "state", "send_after"),
    sa.Index("ix_messages_updated_at", "updated_at"),
    sa.Index("ix_messages_provider_message_id", "provider_message_id"),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

consent_changes = sa.Table(
    "consent_changes",
    metadata,
    sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("evidence", sa.Text),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("status in ('granted', 'revoked')", name="ck_consent_changes_status"),
    sa.Index("ix_consent_changes_recorded_at", "recorded_at"),
)

delivery_events = sa.Table(
    "delivery_events",
    metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("provider_event_id", sa.String(128), primary_key=True),
    sa.Column("message_key", sa.String(200)),
    sa.Column("provider_message_id", sa.String(128)),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("payload_json", sa.Text, nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_delivery_events_received_at", "received_at"),
    sa.Index("ix_delivery_events_message_key", "message_key"),
)
