"""When the provider request for a claimed message began: a claim that never got this far provably
never reached the provider, so a worker's crash before it returns the message to ``planned``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("request_started_at", sa.DateTime(timezone=True)))
