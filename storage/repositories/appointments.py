"""Appointments and the slot claims that make booking race-free."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.appointments import Status, transition
from domain.evidence import EventKind
from domain.model import (
    Appointment,
)
from domain.slots import Busy
from handlers.ports import SlotTaken
from storage.models import (
    AppointmentRow,
    EvidenceRow,
    SlotClaimRow,
)

ACTIVE = (Status.BOOKED.value, Status.IN_SESSION.value)
SECONDS_AN_HOUR = 3600


def lead_hours(booked: datetime, start: datetime) -> int:
    """Whole hours from booking to the start, half away from zero (as migration 0008s)."""
    hours = (start - booked).total_seconds() / SECONDS_AN_HOUR
    return int(math.copysign(math.floor(abs(hours) + 0.5), hours))


def to_appointment(row: AppointmentRow) -> Appointment:
    return Appointment(
        id=row.id,
        reference=row.reference,
        citizen_id=row.citizen_id,
        procedure=row.procedure,
        staff_id=row.staff_id,
        start=row.start,
        end=row.end,
        status=Status(row.status),
        language=row.language,
        email=row.email,
        room=row.room,
        citizen_name=row.citizen_name,
        details=dict(row.details or {}),
    )


class SqlAppointments:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _claim(
        self,
        appointment_id: int,
        staff_id: str,
        cells: Sequence[datetime],
        *,
        release_first: bool = False,
    ) -> None:
        # One savepoint: on conflict the old claims (when moving) are kept as they were.
        try:
            async with self._s.begin_nested():
                if release_first:
                    await self._s.execute(
                        delete(SlotClaimRow).where(SlotClaimRow.appointment_id == appointment_id)
                    )
                self._s.add_all(
                    SlotClaimRow(staff_id=staff_id, cell=cell, appointment_id=appointment_id)
                    for cell in cells
                )
        except IntegrityError as exc:
            raise SlotTaken from exc

    async def book(
        self,
        *,
        reference: str,
        citizen_id: int,
        procedure: str,
        staff_id: str,
        start: datetime,
        end: datetime,
        language: str,
        email: str,
        citizen_name: str,
        cells: Sequence[datetime],
        now: datetime,
    ) -> Appointment:
        row = AppointmentRow(
            reference=reference,
            citizen_id=citizen_id,
            procedure=procedure,
            staff_id=staff_id,
            start=start,
            end=end,
            status=Status.BOOKED.value,
            language=language,
            email=email,
            citizen_name=citizen_name,
            details={},
            created_at=now,
            updated_at=now,
            lead_hours=lead_hours(now, start),
        )
        # The appointment and its claims stand or fall together: on a conflict nothing of
        # this booking remains in the session, whatever the caller commits afterwards.
        try:
            async with self._s.begin_nested():
                self._s.add(row)
                await self._s.flush()
                self._s.add_all(
                    SlotClaimRow(staff_id=staff_id, cell=cell, appointment_id=row.id)
                    for cell in cells
                )
        except IntegrityError as exc:
            raise SlotTaken from exc
        return to_appointment(row)

    async def reschedule(
        self,
        appointment_id: int,
        *,
        staff_id: str,
        start: datetime,
        end: datetime,
        cells: Sequence[datetime],
        now: datetime,
    ) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        await self._claim(appointment_id, staff_id, cells, release_first=True)
        row.staff_id, row.start, row.end, row.updated_at = staff_id, start, end, now
        row.lead_hours = lead_hours(row.created_at, start)
        return to_appointment(row)

    async def set_status(self, appointment_id: int, status: Status, now: datetime) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        row.status = transition(row.status, status).value
        row.updated_at = now
        if status is Status.COMPLETED:
            row.session_seconds = await self._session_seconds(appointment_id, now)
        if status.value not in ACTIVE and status is not Status.COMPLETED:
            # A cancelled or missed appointment gives its slot back.
            await self._s.execute(
                delete(SlotClaimRow).where(SlotClaimRow.appointment_id == appointment_id)
            )
        return to_appointment(row)

    async def _session_seconds(self, appointment_id: int, ended: datetime) -> int | None:
        """How long the session lasted, from its first session_started record to `ended`."""
        query = (
            select(EvidenceRow.at)
            .where(
                EvidenceRow.appointment_id == appointment_id,
                EvidenceRow.kind == EventKind.SESSION_STARTED.value,
            )
            .order_by(EvidenceRow.seq)
            .limit(1)
        )
        at = (await self._s.execute(query)).scalar_one_or_none()
        if at is None:
            return None
        seconds = round((ended - datetime.fromisoformat(at)).total_seconds())
        return seconds if seconds >= 0 else None

    async def get(self, appointment_id: int) -> Appointment | None:
        row = await self._s.get(AppointmentRow, appointment_id)
        return to_appointment(row) if row else None

    async def by_reference(self, reference: str) -> Appointment | None:
        query = select(AppointmentRow).where(AppointmentRow.reference == reference)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_appointment(row) if row else None

    async def for_citizen(self, citizen_id: int, *, active_only: bool) -> list[Appointment]:
        query = select(AppointmentRow).where(AppointmentRow.citizen_id == citizen_id)
        if active_only:
            query = query.where(AppointmentRow.status.in_(ACTIVE))
        rows = (await self._s.execute(query.order_by(AppointmentRow.start))).scalars()
        return [to_appointment(r) for r in rows]

    async def for_staff(
        self, staff_id: str | None, start: datetime, end: datetime
    ) -> list[Appointment]:
        query = select(AppointmentRow).where(
            AppointmentRow.start >= start, AppointmentRow.start < end
        )
        if staff_id is not None:
            query = query.where(AppointmentRow.staff_id == staff_id)
        rows = (await self._s.execute(query.order_by(AppointmentRow.start))).scalars()
        return [to_appointment(r) for r in rows]

    async def busy(self, staff_ids: Sequence[str], start: datetime, end: datetime) -> list[Busy]:
        query = select(AppointmentRow.staff_id, AppointmentRow.start, AppointmentRow.end).where(
            AppointmentRow.staff_id.in_(staff_ids),
            AppointmentRow.status.in_(ACTIVE),
            AppointmentRow.end > start,
            AppointmentRow.start < end,
        )
        rows = (await self._s.execute(query)).all()
        return [Busy(staff_id=s, start=a, end=b) for s, a, b in rows]

    async def load(
        self, staff_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, int]:
        query = (
            select(AppointmentRow.staff_id, func.count())
            .where(
                AppointmentRow.staff_id.in_(staff_ids),
                AppointmentRow.status.in_(ACTIVE),
                AppointmentRow.start >= start,
                AppointmentRow.start < end,
            )
            .group_by(AppointmentRow.staff_id)
        )
        counts = {staff_id: 0 for staff_id in staff_ids}
        for staff_id, count in (await self._s.execute(query)).all():
            counts[staff_id] = count
        return counts

    async def update(
        self, appointment_id: int, *, details: dict[str, Any] | None = None, room: str | None = None
    ) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        if details is not None:
            row.details = dict(details)
        if room is not None:
            row.room = room
        return to_appointment(row)

    async def by_room(self, room: str) -> Appointment | None:
        query = select(AppointmentRow).where(AppointmentRow.room == room)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_appointment(row) if row else None

    async def counts(
        self, start: datetime | None, end: datetime | None
    ) -> list[tuple[str, str, int]]:
        query = select(AppointmentRow.procedure, AppointmentRow.status, func.count())
        if start is not None:
            query = query.where(AppointmentRow.start >= start)
        if end is not None:
            query = query.where(AppointmentRow.start < end)
        query = query.group_by(AppointmentRow.procedure, AppointmentRow.status)
        return [(p, s, c) for p, s, c in (await self._s.execute(query)).all()]
