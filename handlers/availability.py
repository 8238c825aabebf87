"""Free days and times, and the race-free booking itself, over the repositories."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.assignment import pick_staff
from domain.model import Appointment
from domain.procedures import Procedure
from domain.references import new_reference
from domain.slots import Busy, Slot, free_slots, slot_cells
from handlers.ports import Office, SlotTaken, UnitOfWork


async def open_slots(
    uow: UnitOfWork,
    office: Office,
    procedure: Procedure,
    now: datetime,
    *,
    day: date | None = None,
    ignore: int | None = None,
    holder: int | None = None,
) -> list[Slot]:
    """Bookable slots (all days, or one local day). `ignore` leaves one appointment out,
    so that rescheduling can offer the citizen's own current time."""
    staff = office.eligible_staff(procedure.code)
    if not staff:
        return []
    start = now - timedelta(days=1)
    end = now + timedelta(days=office.rules.horizon_days + 2)
    busy = await uow.appointments.busy([m.id for m in staff], start, end)
    # A freed time held for the first on the waitlist is taken for everyone else.
    cell = timedelta(minutes=office.rules.slot_minutes)
    busy += [
        Busy(held.staff_id, held.start, held.start + cell)
        for citizen, held in await uow.waitlist.holds(now)
        if citizen != holder
    ]
    if ignore is not None:
        mine = await uow.appointments.get(ignore)
        if mine is not None:
            busy = [b for b in busy if not (b.staff_id == mine.staff_id and b.start == mine.start)]
    return free_slots(
        procedure.duration_minutes, staff, office.holidays, busy, office.rules, now, day, day
    )


def slot_at(slots: list[Slot], start: datetime) -> Slot | None:
    return next((s for s in slots if s.start == start), None)


async def _candidates(uow: UnitOfWork, office: Office, slot: Slot, now: datetime) -> list[str]:
    """The slot's free staff, least loaded first (over the coming weeks)."""
    load = await uow.appointments.load(
        list(slot.staff_ids), now, now + timedelta(days=office.rules.horizon_days)
    )
    ordered: list[str] = []
    remaining = list(slot.staff_ids)
    while remaining:
        chosen = pick_staff(remaining, load)
        ordered.append(chosen)
        remaining.remove(chosen)
    return ordered


async def book_slot(
    uow: UnitOfWork,
    office: Office,
    *,
    procedure: Procedure,
    start: datetime,
    citizen_id: int,
    citizen_name: str,
    language: str,
    email: str,
    now: datetime,
) -> Appointment:
    """Book `start` if it is still free. Raises SlotTaken when it has just gone."""
    slot = slot_at(await open_slots(uow, office, procedure, now, holder=citizen_id), start)
    if slot is None:
        raise SlotTaken
    for staff_id in await _candidates(uow, office, slot, now):
        try:
            return await uow.appointments.book(
                reference=new_reference(),
                citizen_id=citizen_id,
                procedure=procedure.code,
                staff_id=staff_id,
                start=slot.start,
                end=slot.end,
                language=language,
                email=email,
                citizen_name=citizen_name,
                cells=slot_cells(slot.start, slot.end, office.rules.slot_minutes),
                now=now,
            )
        except SlotTaken:
            continue  # another clerk may still be free at that time
    raise SlotTaken


async def move_appointment(
    uow: UnitOfWork,
    office: Office,
    appointment: Appointment,
    procedure: Procedure,
    start: datetime,
    now: datetime,
) -> Appointment:
    slots = await open_slots(uow, office, procedure, now, ignore=appointment.id)
    slot = slot_at(slots, start)
    if slot is None:
        raise SlotTaken
    candidates = await _candidates(uow, office, slot, now)
    if appointment.staff_id in candidates:  # keep the same clerk when possible
        candidates.remove(appointment.staff_id)
        candidates.insert(0, appointment.staff_id)
    for staff_id in candidates:
        try:
            return await uow.appointments.reschedule(
                appointment.id,
                staff_id=staff_id,
                start=slot.start,
                end=slot.end,
                cells=slot_cells(slot.start, slot.end, office.rules.slot_minutes),
                now=now,
            )
        except SlotTaken:
            continue
    raise SlotTaken
