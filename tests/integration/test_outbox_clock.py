"""The outbox's contract with the clock: a message is due exactly when the injected clock
says so, whether that clock is behind the machine's or ahead of it.

The test clock is put a month behind and a month ahead of the machine's clock (read once,
through SystemClock), so a row stamped or claimed by the wall clock anywhere would show:
behind, every message would look due at once or never; ahead, a delayed one too early."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.clock import ManualClock, SystemClock
from domain.model import ConversationState
from storage.models import ConversationRow, OutboxRow, UserRow
from tests.support import office_settings, ready_app

OFFSETS = [timedelta(days=-30), timedelta(days=30)]


async def _texts(app: App, channel: MemoryChannel) -> list[str]:
    await app.dispatcher.drain()
    return [reply.text for reply in channel.inbox.get("rosa", [])]


@pytest.mark.parametrize("offset", OFFSETS, ids=["clock-behind-the-wall", "clock-ahead-of-it"])
async def test_queued_messages_are_due_by_the_injected_clock(
    tmp_path: Path, offset: timedelta
) -> None:
    clock = ManualClock((SystemClock().now() + offset).replace(microsecond=0))
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    app, channel = await ready_app(settings, clock)
    queued_at = clock.now()
    try:
        async with app.uow() as uow:
            user = await uow.users.get_or_create(
                "memory", "rosa", address="rosa", display_name="Rosa", language="ca"
            )
            await uow.conversations.save(user.id, ConversationState(flow="menu", step="main"))
            await uow.outbox.enqueue(
                channel="memory", address="rosa", payload={"text": "now"}, user_id=user.id
            )
            await uow.outbox.enqueue(
                channel="memory",
                address="rosa",
                payload={"text": "in an hour"},
                user_id=user.id,
                not_before=queued_at + timedelta(hours=1),
            )
            await uow.commit()

        # Every stamp is the injected clock's, to the microsecond.
        async with app.sessions() as session:
            rows = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars()
            stamps = [(row.created_at, row.next_attempt_at) for row in rows]
            user_row = (await session.execute(select(UserRow))).scalar_one()
            conversation = (await session.execute(select(ConversationRow))).scalar_one()
        assert stamps == [(queued_at, queued_at), (queued_at, queued_at + timedelta(hours=1))]
        assert user_row.created_at == queued_at
        assert conversation.updated_at == queued_at

        assert await _texts(app, channel) == ["now"]
        clock.advance(minutes=59, seconds=59)
        assert await _texts(app, channel) == ["now"]  # a second early: not yet
        clock.advance(seconds=1)
        assert await _texts(app, channel) == ["now", "in an hour"]  # due on the dot
        assert await app.outbox.pending() == 0
    finally:
        await app.close()


@pytest.mark.parametrize("offset", OFFSETS, ids=["clock-behind-the-wall", "clock-ahead-of-it"])
async def test_a_failed_delivery_is_retried_after_its_backoff_by_the_injected_clock(
    tmp_path: Path, offset: timedelta
) -> None:
    clock = ManualClock((SystemClock().now() + offset).replace(microsecond=0))
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    app, channel = await ready_app(settings, clock)
    try:
        async with app.uow() as uow:
            user = await uow.users.get_or_create(
                "memory", "rosa", address="rosa", display_name="Rosa", language="ca"
            )
            await uow.outbox.enqueue(
                channel="memory", address="rosa", payload={"text": "hello"}, user_id=user.id
            )
            await uow.commit()
        channel.fail_next = 1
        assert await _texts(app, channel) == []
        async with app.sessions() as session:
            row = (await session.execute(select(OutboxRow))).scalar_one()
        # The first backoff is 5 s with ±20 % jitter, counted from the injected clock.
        retry_in = row.next_attempt_at - clock.now()
        assert timedelta(seconds=4) <= retry_in <= timedelta(seconds=6)
        clock.set(row.next_attempt_at - timedelta(microseconds=1))
        assert await _texts(app, channel) == []
        clock.set(row.next_attempt_at)
        assert await _texts(app, channel) == ["hello"]
    finally:
        await app.close()
