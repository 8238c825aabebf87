"""outbox: when the channel was called for a row (sending_at), so a message cut mid-send
by a crash is reported instead of sent again

Revision ID: 0006n
Revises: 0005s
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006n"
down_revision: str | None = "0005s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sending_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sending_at")
