"""The scheduler: one tick runs every job on the app's clock, if this instance leads;
reminders are planned again after a restart without doubling; the clerks' morning
summary goes once a day."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.scheduler import AlwaysLeader
from storage.models import OutboxRow
from tests.dialog import run_dialog
from tests.support import MADRID, Clock, book_directly, person


class Follower:
    async def held(self) -> bool:
        return False


async def _reminders(app: App) -> int:
    async with app.sessions() as session:
        query = select(func.count()).where(OutboxRow.kind == "reminder")
        return int((await session.execute(query)).scalar_one())


async def _appointment(app: App, start: datetime) -> None:
    async with app.uow() as uow:
        rosa = await uow.users.get_or_create(
            "memory", "rosa", address="rosa", display_name="Rosa", language="en"
        )
        await book_directly(uow, citizen_id=rosa.id, start=start, reference="VT-SCH1")
        await uow.commit()


async def test_after_a_restart_reminders_are_planned_once(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=MADRID).astimezone(UTC)
    await _appointment(app, start)  # written without planning, as before an upgrade
    assert await _reminders(app) == 0
    app.scheduler.leader = Follower()
    assert await app.scheduler.tick() is False  # another instance leads: nothing runs
    assert await _reminders(app) == 0
    app.scheduler.leader = AlwaysLeader()
    assert await app.scheduler.tick() is True
    assert await _reminders(app) == 2  # 24 h and 1 h before
    await app.scheduler.tick()
    assert await _reminders(app) == 2  # planned again: nothing doubled
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=MADRID))
    await app.dispatcher.drain()
    [reminder] = channel.inbox["rosa"]
    assert "Tuesday 1 December at 10:00" in reminder.text and reminder.choices


async def test_the_morning_summary_goes_once_at_its_time(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(anna, [("/today", [])])  # Anna has talked to the bot
    await _appointment(app, datetime(2026, 12, 1, 10, 0, tzinfo=MADRID).astimezone(UTC))
    channel.inbox["staff:anna"].clear()
    clock.set(datetime(2026, 12, 1, 7, 59, tzinfo=MADRID))
    await app.scheduler.tick()
    await app.dispatcher.drain()
    assert channel.inbox["staff:anna"] == []
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=MADRID))
    await app.scheduler.tick()
    clock.advance(minutes=5)
    await app.scheduler.tick()
    await app.dispatcher.drain()
    [summary] = channel.inbox["staff:anna"]
    assert "Good morning! Your appointments for Tuesday 1 December (1)" in summary.text
    assert "10:00 VT-SCH1" in summary.text
