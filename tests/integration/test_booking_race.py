"""200 simultaneous attempts on 20 slots: exactly 20 bookings, no slot twice; 400 on 40
through two instances on one PostgreSQL: exactly 40.

Runs against SQLite on disk and against the machine's PostgreSQL. Each attempt is its own
unit of work, as concurrent citizens' turns are; the slot claims' primary key decides.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from handlers.availability import book_slot, open_slots
from handlers.ports import SlotTaken
from tests.support import Clock, book_directly, office_settings, ready_app

ATTEMPTS = 200


async def _race(
    app: App, *others: App, attempts: int = ATTEMPTS, wanted_slots: int = 20
) -> tuple[int, int]:
    """`attempts` bookings at once on `wanted_slots` slots, spread over `app` and `others`
    (instances on the same database)."""
    procedure = app.office.catalog.get("volant_empadronament")  # only one clerk serves it
    now = app.clock.now()
    instances = [app, *others]
    async with app.uow() as uow:
        slots = (await open_slots(uow, app.office, procedure, now))[:wanted_slots]
        citizens = []
        for n in range(attempts):
            user = await uow.users.get_or_create(
                "memory", f"racer-{n}", address=f"racer-{n}", display_name=f"R{n}", language="ca"
            )
            citizens.append(user.id)
        await uow.commit()
    assert len(slots) == wanted_slots
    rng = random.Random(7)
    wanted = [slots[n % wanted_slots].start for n in range(attempts)]
    rng.shuffle(wanted)

    async def attempt(citizen: int, start: datetime) -> bool:
        async with instances[citizen % len(instances)].uow() as uow:
            try:
                await book_slot(
                    uow,
                    app.office,
                    procedure=procedure,
                    start=start,
                    citizen_id=citizen,
                    citizen_name="",
                    language="ca",
                    email="",
                    now=now,
                )
            except SlotTaken:
                return False
            await uow.commit()
            return True

    results = await asyncio.gather(*(attempt(c, s) for c, s in zip(citizens, wanted, strict=True)))
    async with app.uow() as uow:
        booked = await uow.appointments.for_staff(
            None, now - timedelta(days=1), now + timedelta(days=30)
        )
    starts = Counter((a.staff_id, a.start) for a in booked)
    assert max(starts.values()) == 1, "a slot was booked twice"
    return sum(results), len(booked)


async def test_race(tmp_path: Path, backend: str) -> None:
    settings = office_settings(backend, tmp_path)
    app, _ = await ready_app(settings, Clock())
    try:
        won, stored = await _race(app)
    finally:
        await app.close()
    assert (won, stored) == (20, 20)


async def test_race_between_two_instances_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """400 attempts on 40 slots through two instances (two connection pools): 40."""
    settings = office_settings(postgres_url, tmp_path)
    first, _ = await ready_app(settings, Clock())
    second, _ = await ready_app(settings, Clock())
    try:
        won, stored = await _race(first, second, attempts=400, wanted_slots=40)
    finally:
        await first.close()
        await second.close()
    assert (won, stored) == (40, 40)


async def test_database_constraint_alone_refuses_an_overlap(app: App) -> None:
    """Even if the availability check were skipped, the claim key refuses a double booking."""
    now = app.clock.now()
    start = now + timedelta(hours=3)
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "x", address="x", display_name="", language="ca"
        )
        await book_directly(uow, citizen_id=user.id, start=start, reference="VT-AAAAAAA")
        with pytest.raises(SlotTaken):
            await book_directly(uow, citizen_id=user.id, start=start, reference="VT-BBBBBBB")
        await uow.commit()
    async with app.uow() as uow:
        assert await uow.appointments.by_reference("VT-AAAAAAA") is not None
        assert await uow.appointments.by_reference("VT-BBBBBBB") is None
