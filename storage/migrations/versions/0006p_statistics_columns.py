"""statistics read narrow: the session length stored on the appointment (backfilled from
the evidence's session_started/session_ended records), covering indexes for the period and the sessions' lengths

Revision ID: 0006p
Revises: 0006n
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006p"
down_revision: str | None = "0006n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERIOD_COLUMNS = [
    "start", "status", "procedure", "staff_id", "citizen_id", "created_at", "session_seconds",
]  # fmt: skip


def _backfill() -> None:
    """Completed appointments get the seconds between their first session_started and
    last session_ended record (the evidence's `at` is ISO text on every backend, so the
    difference is taken here, not in SQL)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT e.appointment_id, e.kind, e.at FROM evidence e"
            " JOIN appointments a ON a.id = e.appointment_id"
            " WHERE a.status = 'completed'"
            " AND e.kind IN ('session_started', 'session_ended')"
        )
    ).all()
    started: dict[int, datetime] = {}
    ended: dict[int, datetime] = {}
    for appointment_id, kind, at in rows:
        moment = datetime.fromisoformat(at)
        if kind == "session_started":
            first = started.get(appointment_id)
            started[appointment_id] = moment if first is None else min(first, moment)
        else:
            last = ended.get(appointment_id)
            ended[appointment_id] = moment if last is None else max(last, moment)
    lengths = [
        {"id": appointment_id, "seconds": round((ended[appointment_id] - begun).total_seconds())}
        for appointment_id, begun in started.items()
        if appointment_id in ended and ended[appointment_id] >= begun
    ]
    if lengths:
        connection.execute(
            sa.text("UPDATE appointments SET session_seconds = :seconds WHERE id = :id"), lengths
        )


def upgrade() -> None:
    # In place, not as a batch copy: on SQLite a copy would drop the table other tables'
    # foreign keys point at. Both backends add and drop a nullable column natively.
    op.add_column("appointments", sa.Column("session_seconds", sa.Integer(), nullable=True))
    _backfill()
    op.create_index("ix_appointments_period", "appointments", PERIOD_COLUMNS)
    op.create_index(
        "ix_appointments_sessions", "appointments", ["status", "session_seconds", "start"]
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_sessions", table_name="appointments")
    op.drop_index("ix_appointments_period", table_name="appointments")
    op.execute("ALTER TABLE appointments DROP COLUMN session_seconds")  # SQLite >= 3.35
