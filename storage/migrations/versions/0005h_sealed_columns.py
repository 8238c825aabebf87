"""personal columns sealed at rest: appointments.details, outbox.payload and
conversations.data hold sealed text (storage/sealed.py), no longer JSON

Revision ID: 0005h
Revises: 0004e

SQLite keeps any text in a JSON-declared column, so only PostgreSQL changes the type
(the JSON text already there stays readable; a row is sealed the next time it is written).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005h"
down_revision: str | None = "0004e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("appointments", "details"), ("outbox", "payload"), ("conversations", "data"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Text(),
            existing_type=sa.JSON(),
            postgresql_using=f"{column}::text",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.JSON(),
            existing_type=sa.Text(),
            postgresql_using=f"{column}::json",
        )
