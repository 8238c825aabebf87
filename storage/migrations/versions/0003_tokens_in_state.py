"""button tokens live in the conversation state: drop choice_tokens and the prompt counter

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("choice_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_choice_tokens_user_id"))
    op.drop_table("choice_tokens")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("prompt")


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "choice_tokens",
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_choice_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_choice_tokens")),
    )
    with op.batch_alter_table("choice_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_choice_tokens_user_id"), ["user_id"], unique=False)
