"""several instances on one database: the outbox's per-chat index, shared state tables
(link_bindings, channel_panels, channel_notices, jibri_status, instances), side effects
done after the turn (side_effects)

Revision ID: 0005s
Revises: 0005n
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005s"
down_revision: str | None = "0005n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_chat", ["channel", "address", "id"], unique=False)
    op.create_table(
        "link_bindings",
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("cookie", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_link_bindings")),
    )
    op.create_index(op.f("ix_link_bindings_expires_at"), "link_bindings", ["expires_at"])
    op.create_table(
        "channel_panels",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat", sa.String(length=255), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat", "panel", name=op.f("pk_channel_panels")),
    )
    op.create_index("ix_channel_panels_message", "channel_panels", ["channel", "chat", "message"])
    op.create_table(
        "channel_notices",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "key", name=op.f("pk_channel_notices")),
    )
    op.create_table(
        "jibri_status",
        sa.Column("jibri_id", sa.String(length=128), nullable=False),
        sa.Column("busy_status", sa.String(length=32), nullable=False),
        sa.Column("health_status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jibri_id", name=op.f("pk_jibri_status")),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_index(op.f("ix_instances_seen_at"), "instances", ["seen_at"])
    op.create_table(
        "side_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_side_effects_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_side_effects")),
    )
    op.create_index("ix_side_effects_pending", "side_effects", ["done_at", "due_at"])
    op.create_index(op.f("ix_side_effects_appointment_id"), "side_effects", ["appointment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_side_effects_appointment_id"), table_name="side_effects")
    op.drop_index("ix_side_effects_pending", table_name="side_effects")
    op.drop_table("side_effects")
    op.drop_index(op.f("ix_instances_seen_at"), table_name="instances")
    op.drop_table("instances")
    op.drop_table("jibri_status")
    op.drop_table("channel_notices")
    op.drop_index("ix_channel_panels_message", table_name="channel_panels")
    op.drop_table("channel_panels")
    op.drop_index(op.f("ix_link_bindings_expires_at"), table_name="link_bindings")
    op.drop_table("link_bindings")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat")
