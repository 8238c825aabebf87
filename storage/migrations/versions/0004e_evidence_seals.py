"""signed chain heads and the daily journal: evidence_seals, evidence_journal

Revision ID: 0004e
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004e"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_seals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timestamp", sa.LargeBinary(), nullable=True),
        sa.Column("timestamp_attempts", sa.Integer(), nullable=False),
        sa.Column("timestamp_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_evidence_seals_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_seals")),
        sa.UniqueConstraint("record_hash", name=op.f("uq_evidence_seals_record_hash")),
    )
    with op.batch_alter_table("evidence_seals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_seals_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_seals_day"), ["day"], unique=False)
    op.create_table(
        "evidence_journal",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_evidence_journal")),
        sa.UniqueConstraint("hash", name=op.f("uq_evidence_journal_hash")),
    )


def downgrade() -> None:
    op.drop_table("evidence_journal")
    with op.batch_alter_table("evidence_seals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_seals_day"))
        batch_op.drop_index(batch_op.f("ix_evidence_seals_appointment_id"))
    op.drop_table("evidence_seals")
