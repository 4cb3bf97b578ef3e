"""The end of the recipient's send window: a planned message whose window closed before it could be
sent moves to the same local window on the next day instead of going out at night. Rows planned
before this revision have none (no window end is enforced for them).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("send_before", sa.DateTime(timezone=True)))
