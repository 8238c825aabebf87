"""Migration 0008s on SQLite and PostgreSQL: the hours booked ahead backfilled from each
appointment's start and creation (rounded as the service rounds them), its index, and the
way back down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import AppointmentRow, StaffRow, UserRow
from storage.repositories.appointments import lead_hours
from tests.migrations_kit import engine, migrate

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
        await connection.execute(insert(StaffRow.__table__), [{"id": "anna", "name": "Anna",
                                                               "active": True}])  # fmt: skip
        await connection.execute(
            insert(UserRow.__table__),
            [{"id": 1, "channel": "memory", "external_id": "u1", "address": "u1",
              "display_name": "", "language": "ca", "email": "", "unreachable": False,
              "created_at": BEGINS}],
        )  # fmt: skip
        await connection.execute(
            insert(AppointmentRow.__table__),
            [_appointment(n, ahead) for n, ahead in enumerate(AHEAD, start=1)],
        )


async def _columns_and_indexes(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    def read(connection: Any) -> tuple[set[str], set[str]]:
        found = inspect(connection)
        columns = {column["name"] for column in found.get_columns("appointments")}
        indexes = {str(index["name"]) for index in found.get_indexes("appointments")}
        return columns, indexes

    async with engine.connect() as connection:
        return await connection.run_sync(read)


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
    columns, indexes = await _columns_and_indexes(engine)
    assert "lead_hours" in columns and "ix_appointments_leads" in indexes

    await migrate(engine, backend, "downgrade", "0007t")
    columns, indexes = await _columns_and_indexes(engine)
    assert "lead_hours" not in columns and "ix_appointments_leads" not in indexes

    await migrate(engine, backend, "upgrade", "head")
    columns, _ = await _columns_and_indexes(engine)
    assert "lead_hours" in columns
