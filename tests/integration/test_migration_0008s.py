"""Migration 0008s on SQLite and PostgreSQL: the hours booked ahead backfilled from each
appointment's start and creation (rounded as the service rounds them), its index, and the
way back down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import AppointmentRow
from storage.repositories.appointments import lead_hours
from tests.migrations_kit import (
    add_clerk_and_citizen,
    appointments_columns_and_indexes,
    engine,
    migrate,
)

__all__ = ["engine"]  # the fixture, used by name

BEGINS = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
# Booked this long before the start: whole days, a half hour that rounds up, a few minutes.
AHEAD = [timedelta(days=3), timedelta(hours=2, minutes=30), timedelta(minutes=20)]


def _appointment(number: int, ahead: timedelta) -> dict[str, Any]:
    return {
        "id": number, "reference": f"VT-L{number}", "citizen_id": 1, "procedure": "informacio",
        "staff_id": "anna", "start": BEGINS, "end": BEGINS + timedelta(minutes=30),
        "status": "booked", "language": "ca", "email": "", "citizen_name": "", "room": "",
        "details": {}, "created_at": BEGINS - ahead, "updated_at": BEGINS - ahead,
    }  # fmt: skip


async def _seed(engine: AsyncEngine) -> None:
    # Written as the schema of 0007t has them: no lead_hours in any row.
    async with engine.begin() as connection:
        await add_clerk_and_citizen(connection, BEGINS)
        await connection.execute(
            insert(AppointmentRow.__table__),
            [_appointment(n, ahead) for n, ahead in enumerate(AHEAD, start=1)],
        )


async def test_upgrade_backfills_the_hours_ahead_and_downgrade_removes_them(
    engine: AsyncEngine, backend: str
) -> None:
    await migrate(engine, backend, "upgrade", "0007t")
    await _seed(engine)
    await migrate(engine, backend, "upgrade", "0008s")

    a = AppointmentRow.__table__.c
    async with engine.connect() as connection:
        rows = (await connection.execute(select(a.lead_hours).order_by(a.id))).scalars().all()
    assert rows == [72, 3, 0]
    # The database rounds as the service does when it books.
    assert rows == [lead_hours(BEGINS - ahead, BEGINS) for ahead in AHEAD]
    columns, indexes = await appointments_columns_and_indexes(engine)
    assert "lead_hours" in columns and "ix_appointments_leads" in indexes

    await migrate(engine, backend, "downgrade", "0007t")
    columns, indexes = await appointments_columns_and_indexes(engine)
    assert "lead_hours" not in columns and "ix_appointments_leads" not in indexes

    await migrate(engine, backend, "upgrade", "head")
    columns, _ = await appointments_columns_and_indexes(engine)
    assert "lead_hours" in columns
