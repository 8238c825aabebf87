"""The scheduler's planning pass on SQLite and PostgreSQL: every reminder of every
booked appointment ahead is queued once, in several bulk batches, and a second pass
queues nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

import storage.repositories.records as records
from bot.app import App
from handlers.planner import Jobs
from storage.models import OutboxRow
from tests.support import Clock, book_directly


async def test_planning_twice_queues_each_reminder_once(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "ENQUEUE_BATCH", 3)  # 10 reminders: four batches
    async with app.uow() as uow:
        citizen = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="ca"
        )
        for day in range(5):
            start = clock.now() + timedelta(days=day + 2, hours=1)
            await book_directly(uow, citizen_id=citizen.id, start=start, reference=f"VT-P{day}")
        await uow.commit()
    jobs = Jobs(app.uow, app.office)
    assert await jobs.plan_reminders(clock.now()) == 10  # 24 h and 1 h before each
    assert await jobs.plan_reminders(clock.now()) == 0
    async with app.sessions() as session:
        keys = (await session.execute(select(OutboxRow.dedupe_key))).scalars().all()
        count = await session.scalar(select(func.count()).select_from(OutboxRow))
    assert count == 10 and len(set(keys)) == 10
    assert all(key is not None and key.startswith("rem:") for key in keys)


async def test_a_large_planning_refreshes_the_planners_statistics(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without statistics PostgreSQL plans the outbox claim as a nested loop over every
    pending row; a bulk planning past ANALYZE_AFTER rows analyzes the table at once."""
    monkeypatch.setattr(records, "ANALYZE_AFTER", 4)
    async with app.uow() as uow:
        citizen = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="ca"
        )
        for day in range(3):
            start = clock.now() + timedelta(days=day + 2, hours=1)
            await book_directly(uow, citizen_id=citizen.id, start=start, reference=f"VT-A{day}")
        await uow.commit()
    assert await Jobs(app.uow, app.office).plan_reminders(clock.now()) == 6
    if app.settings.database_url.startswith("postgresql"):
        async with app.sessions() as session:
            rows = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'")
            )
        assert rows == 6  # never analyzed: -1
    async with app.sessions() as session:  # and on either backend, the rows are there
        assert await session.scalar(select(func.count()).select_from(OutboxRow)) == 6
