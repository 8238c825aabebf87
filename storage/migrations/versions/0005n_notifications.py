"""typed notifications: outbox kind and appointment, standing buttons, attendance,
surveys, waitlist

Revision ID: 0005n
Revises: 0005h
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005n"
down_revision: str | None = "0005h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_appointment_id"), ["appointment_id"], unique=False
        )
    op.create_table(
        "notice_buttons",
        sa.Column("token", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_buttons_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_notice_buttons")),
    )
    op.create_index(op.f("ix_notice_buttons_user_id"), "notice_buttons", ["user_id"])
    op.create_table(
        "attendance",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_attendance_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_attendance")),
    )
    op.create_table(
        "surveys",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", UTC_TIME, nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("again", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("answered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_surveys_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_surveys")),
    )
    op.create_index(op.f("ix_surveys_answered_at"), "surveys", ["answered_at"])
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=64), nullable=False),
        sa.Column("day_from", sa.String(length=10), nullable=False),
        sa.Column("day_to", sa.String(length=10), nullable=False),
        sa.Column("joined_at", UTC_TIME, nullable=False),
        sa.Column("left_at", UTC_TIME, nullable=True),
        sa.Column("offer_start", UTC_TIME, nullable=True),
        sa.Column("offer_staff", sa.String(length=40), nullable=False),
        sa.Column("offer_until", UTC_TIME, nullable=True),
        sa.Column("declined", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["users.id"], name=op.f("fk_waitlist_citizen_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    op.create_index(op.f("ix_waitlist_citizen_id"), "waitlist", ["citizen_id"])
    op.create_index(op.f("ix_waitlist_procedure"), "waitlist", ["procedure"])


def downgrade() -> None:
    op.drop_table("waitlist")
    op.drop_table("surveys")
    op.drop_table("attendance")
    op.drop_table("notice_buttons")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_appointment_id"))
        batch_op.drop_column("appointment_id")
        batch_op.drop_column("kind")
