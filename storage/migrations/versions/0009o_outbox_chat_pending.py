"""the outbox's indexes hold only pending messages: per chat in order (the claim looks up
each candidate chat's oldest one in it, whatever the planner's statistics say) and in the
order they fall due (the claim reads the first ones and stops)

Revision ID: 0009o
Revises: 0008s
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009o"
down_revision: str | None = "0008s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("delivered_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_chat", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_outbox_chat_pending",
        "outbox",
        ["channel", "address", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_pending", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "failed_at", "next_attempt_at"])
    op.create_index("ix_outbox_chat", "outbox", ["channel", "address", "id"])
