"""Migration 0006p on SQLite and PostgreSQL: the session length backfilled from the
evidence of appointments already completed, the period index, and the way back down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import AppointmentRow, EvidenceRow
from tests.migrations_kit import (
    add_clerk_and_citizen,
    appointments_columns_and_indexes,
    engine,
    migrate,
)

__all__ = ["engine"]  # the fixture, used by name

BEGINS = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _appointment(number: int, status: str) -> dict[str, Any]:
    return {
        "id": number, "reference": f"VT-M{number}", "citizen_id": 1, "procedure": "informacio",
        "staff_id": "anna", "start": BEGINS, "end": BEGINS + timedelta(minutes=30),
        "status": status, "language": "ca", "email": "", "citizen_name": "", "room": "",
        "details": {}, "created_at": BEGINS, "updated_at": BEGINS,
    }  # fmt: skip


def _event(number: int, seq: int, kind: str, minutes: int) -> dict[str, Any]:
    at = (BEGINS + timedelta(minutes=minutes)).isoformat()
    return {
        "appointment_id": number, "seq": seq, "kind": kind, "at": at, "actor": "staff",
        "data": {}, "prev_hash": "0" * 64, "hash": f"{number}{seq}".ljust(64, "0"),
    }  # fmt: skip


async def _seed(engine: AsyncEngine) -> None:
    # Written as the schema of 0005s has them: no session_seconds in any row.
    appointments = [_appointment(1, "completed"), _appointment(2, "completed"),
                    _appointment(3, "in_session")]  # fmt: skip
    events = [
        _event(1, 0, "session_started", 0), _event(1, 1, "document_received", 5),
        _event(1, 2, "session_ended", 25),
        _event(3, 0, "session_started", 0),  # still in session: nothing to backfill
    ]  # fmt: skip
    async with engine.begin() as connection:
        await add_clerk_and_citizen(connection, BEGINS)
        await connection.execute(insert(AppointmentRow.__table__), appointments)
        await connection.execute(insert(EvidenceRow.__table__), events)


async def test_upgrade_backfills_session_lengths_and_downgrade_removes_them(
    engine: AsyncEngine, backend: str
) -> None:
    await migrate(engine, backend, "upgrade", "0005s")
    await _seed(engine)
    await migrate(engine, backend, "upgrade", "0006p")

    a = AppointmentRow.__table__.c
    async with engine.connect() as connection:
        rows = (await connection.execute(select(a.id, a.session_seconds).order_by(a.id))).all()
    # 1: 25 minutes from started to ended; 2: completed with no session records; 3: open.
    assert [tuple(row) for row in rows] == [(1, 25 * 60), (2, None), (3, None)]
    columns, indexes = await appointments_columns_and_indexes(engine)
    assert "session_seconds" in columns
    assert {"ix_appointments_period", "ix_appointments_sessions"} <= indexes

    await migrate(engine, backend, "downgrade", "0005s")
    columns, indexes = await appointments_columns_and_indexes(engine)
    assert "session_seconds" not in columns
    assert not {"ix_appointments_period", "ix_appointments_sessions"} & indexes

    await migrate(engine, backend, "upgrade", "head")
    columns, _ = await appointments_columns_and_indexes(engine)
    assert "session_seconds" in columns
