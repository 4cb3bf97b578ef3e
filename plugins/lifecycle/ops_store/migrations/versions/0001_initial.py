"""The ledger, suppressions, consent changes and delivery events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "messages",
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
        sa.Column("send_after", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("provider", sa.String(32)),
        sa.Column("provider_message_id", sa.String(128)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error_reason", sa.Text),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("planned_at", TS, nullable=False),
        sa.Column("sending_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("failed_at", TS),
        sa.Column("skipped_at", TS),
        sa.Column("unknown_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state in ('planned', 'sending', 'sent', 'failed', 'skipped', 'unknown', 'held_out')",
            name="ck_messages_state",
        ),
    )
    op.create_index("ix_messages_state_send_after", "messages", ["state", "send_after"])
    op.create_index("ix_messages_updated_at", "messages", ["updated_at"])
    op.create_index("ix_messages_provider_message_id", "messages", ["provider_message_id"])

    op.create_table(
        "suppressions",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )

    op.create_table(
        "consent_changes",
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("evidence", sa.Text),
        sa.Column("recorded_at", TS, nullable=False),
        sa.CheckConstraint("status in ('granted', 'revoked')", name="ck_consent_changes_status"),
    )
    op.create_index("ix_consent_changes_recorded_at", "consent_changes", ["recorded_at"])

    op.create_table(
        "delivery_events",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("provider_event_id", sa.String(128), primary_key=True),
        sa.Column("message_key", sa.String(200)),
        sa.Column("provider_message_id", sa.String(128)),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_delivery_events_received_at", "delivery_events", ["received_at"])
    op.create_index("ix_delivery_events_message_key", "delivery_events", ["message_key"])
