"""The scheduler's planning pass on SQLite and PostgreSQL: every reminder of every
booked appointment ahead is queued once, a second pass queues nothing, and what it
queues is exactly what a booking queues (the same keys, times and payloads), so a
restart never sends a reminder twice."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text

from bot.app import App
from domain.model import Appointment
from domain.slots import slot_cells
from handlers import notify
from handlers.planner import Jobs
from storage.models import OutboxRow
from tests.dialog import run_dialog
from tests.e2e.test_reminders import BOOK_TUESDAY_10
from tests.support import Clock, book_directly, person

# What a row says, without what only the moment of queuing decides (id, created_at).
FIELDS = ("channel", "address", "user_id", "dedupe_key", "kind", "appointment_id")


async def _citizen_id(app: App) -> int:
    async with app.uow() as uow:
        citizen = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="ca"
        )
        await uow.commit()
    return citizen.id


async def _book(app: App, citizen_id: int, start: Any, reference: str, email: str) -> Appointment:
    async with app.uow() as uow:
        booked = await uow.appointments.book(
            reference=reference,
            citizen_id=citizen_id,
            procedure="informacio",
            staff_id="anna",
            start=start,
            end=start + timedelta(minutes=30),
            language="ca",
            email=email,
            citizen_name="",
            cells=slot_cells(start, start + timedelta(minutes=30), 30),
            now=start - timedelta(days=1),
        )
        await uow.commit()
    return booked


async def _queued(app: App) -> list[dict[str, Any]]:
    async with app.sessions() as session:
        rows = (
            (await session.execute(select(OutboxRow).order_by(OutboxRow.dedupe_key)))
            .scalars()
            .all()
        )
        return [
            {
                **{name: getattr(row, name) for name in FIELDS},
                "due": row.next_attempt_at,
                "payload": dict(row.payload),
                "pending": (row.attempts, row.last_error, row.claimed_until, row.delivered_at),
            }
            for row in rows
        ]


async def test_planning_twice_queues_each_reminder_once(app: App, clock: Clock) -> None:
    citizen_id = await _citizen_id(app)
    async with app.uow() as uow:
        for day in range(5):
            start = clock.now() + timedelta(days=day + 2, hours=1)
            await book_directly(uow, citizen_id=citizen_id, start=start, reference=f"VT-P{day}")
        await uow.commit()
    jobs = Jobs(app.uow, app.office)
    assert await jobs.plan_reminders(clock.now()) == 10  # 24 h and 1 h before each
    assert await jobs.plan_reminders(clock.now()) == 0
    async with app.sessions() as session:
        keys = (await session.execute(select(OutboxRow.dedupe_key))).scalars().all()
        count = await session.scalar(select(func.count()).select_from(OutboxRow))
    assert count == 10 and len(set(keys)) == 10
    assert all(key is not None and key.startswith("rem:") for key in keys)


async def test_the_planner_queues_what_a_booking_queues(app: App, clock: Clock) -> None:
    """Row for row the same as handlers.notify.plan_reminders (the booking's path): a
    reminder planned by one is never planned again by the other."""
    office = dataclasses.replace(app.office, email_enabled=True)
    citizen_id = await _citizen_id(app)
    now = clock.now()
    starts = [
        (now + timedelta(days=3, hours=2), "joan@example.org"),  # both reminders, an email
        (now + timedelta(hours=5), ""),  # the 24 h one is past: the 1 h one is the full one
        (now + timedelta(minutes=40), ""),  # both past: none
        (now + timedelta(days=2, seconds=7, microseconds=250), "j@example.org"),  # odd instant
    ]
    booked = [
        await _book(app, citizen_id, start, f"VT-Q{n}", email)
        for n, (start, email) in enumerate(starts)
    ]
    async with app.uow() as uow:
        joan = await uow.users.get(citizen_id)
        assert joan is not None
        for appointment in booked:
            await notify.plan_reminders(uow, office, appointment, joan, now)
        await uow.commit()
    by_booking = await _queued(app)
    assert len(by_booking) == 7  # 2 + the 24 h one's email, 1, none, 2 + email
    async with app.sessions() as session, session.begin():
        await session.execute(delete(OutboxRow))
    assert await Jobs(app.uow, office).plan_reminders(now) == 7
    assert await _queued(app) == by_booking
    # And the other way round: what the bookings queued, the planner leaves alone.
    async with app.sessions() as session, session.begin():
        await session.execute(delete(OutboxRow))
    async with app.uow() as uow:
        for appointment in booked:
            await notify.plan_reminders(uow, office, appointment, joan, now)
        await uow.commit()
    assert await Jobs(app.uow, office).plan_reminders(now) == 0


async def test_after_a_booking_in_the_chat_a_restart_plans_nothing_more(
    app: App, clock: Clock
) -> None:
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, BOOK_TUESDAY_10)
    async with app.sessions() as session:
        before = (await session.execute(select(OutboxRow.dedupe_key))).scalars().all()
    assert sum(1 for key in before if key and key.startswith("rem:")) == 2
    assert await Jobs(app.uow, app.office).plan_reminders(clock.now()) == 0


async def test_a_pass_with_nothing_to_add_uses_up_no_row_ids(app: App, clock: Clock) -> None:
    """On PostgreSQL an insert that meets its dedupe key still takes an id from the
    sequence: a pass every 30 s over the coming day's reminders would run the outbox's
    ids out. Rows planned already are skipped before they are inserted."""
    citizen_id = await _citizen_id(app)
    async with app.uow() as uow:
        for hour in range(3):  # inside the coming two days that the later passes look at
            start = clock.now() + timedelta(hours=25 + hour)
            await book_directly(uow, citizen_id=citizen_id, start=start, reference=f"VT-S{hour}")
        await uow.commit()
    jobs = Jobs(app.uow, app.office)
    assert await jobs.plan_reminders(clock.now()) == 6
    for _ in range(3):
        assert await jobs.plan_reminders(clock.now()) == 0
    async with app.uow() as uow:
        joan = await uow.users.get(citizen_id)
        assert joan is not None
        await notify.queue(uow, joan, "staff_day", {"day": "2026-12-01"})
        await uow.commit()
    async with app.sessions() as session:
        ids = list((await session.execute(select(OutboxRow.id).order_by(OutboxRow.id))).scalars())
    assert ids == list(range(1, 8)), "ids used up by passes that added nothing"


async def test_what_the_planner_leaves_unsealed_holds_no_personal_data(
    app: App, clock: Clock
) -> None:
    """A planned reminder's payload is written by the database (not sealed row by row):
    it holds its kind, the appointment's id and time and whether it is the full one,
    nothing about the person (who it goes to is in the row's columns, as for every
    message). Everything else in the outbox stays sealed."""
    office = dataclasses.replace(app.office, email_enabled=True)
    citizen_id = await _citizen_id(app)
    await _book(app, citizen_id, clock.now() + timedelta(days=3), "VT-R1", "joan@example.org")
    assert await Jobs(app.uow, office).plan_reminders(clock.now()) == 3
    async with app.uow() as uow:
        joan = await uow.users.get(citizen_id)
        assert joan is not None
        await notify.queue(uow, joan, "staff_day", {"day": "2026-12-01"})
        await uow.commit()
    async with app.sessions() as session:
        raw = (await session.execute(text("SELECT kind, payload FROM outbox"))).all()
    plain = [json.loads(payload) for kind, payload in raw if not payload.startswith("vt1:")]
    assert len(plain) == 3 and len(raw) == 4
    for payload in plain:
        assert set(payload) == {"kind", "params", "appointment_id"}
        assert set(payload["params"]) <= {"start", "full"}
        assert payload["kind"] in ("reminder", "reminder_email")
