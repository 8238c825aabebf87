"""statistics without a sort: the hours each appointment was booked ahead, stored on it
(backfilled from its start and creation), with an index in that order

Revision ID: 0008s
Revises: 0007t
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008s"
down_revision: str | None = "0007t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whole hours between creation and start, rounded as the service rounds them when it books
# (from whole seconds: julianday's fractions of a day would put 2.5 hours at 2.4999).
BACKFILL = {
    "sqlite": "UPDATE appointments SET lead_hours ="
    " CAST(round((strftime('%s', start) - strftime('%s', created_at)) / 3600.0) AS INTEGER)",
    "postgresql": "UPDATE appointments SET lead_hours ="
    " CAST(round(extract(epoch FROM start - created_at) / 3600) AS INTEGER)",
}


def upgrade() -> None:
    # In place, as 0006p: a batch copy on SQLite would drop the table others point at.
    op.add_column("appointments", sa.Column("lead_hours", sa.Integer(), nullable=True))
    op.execute(BACKFILL[op.get_bind().dialect.name])
    op.create_index("ix_appointments_leads", "appointments", ["lead_hours", "start", "status"])


def downgrade() -> None:
    op.drop_index("ix_appointments_leads", table_name="appointments")
    op.execute("ALTER TABLE appointments DROP COLUMN lead_hours")  # SQLite >= 3.35
