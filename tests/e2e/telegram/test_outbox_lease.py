"""A send slower than its lease is not taken for a crash (issue 11): while the dispatcher
holds a message it renews the lease, so another instance neither reports it as cut
(INTERRUPTED) nor hands it out again; a dispatcher that is gone renews nothing, and its
message is still reported once the lease runs out. The send hangs at the emulator (which
has the message); the test's clock stands for the hours that pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import bot.dispatcher as dispatcher_module
from bot.app import App
from storage.models import OutboxRow
from storage.outbox import INTERRUPTED
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import running_bot

CHAT = 6701
LEASE = timedelta(seconds=dispatcher_module.LEASE_SECONDS)


async def _rows(app: App) -> list[OutboxRow]:
    async with app.sessions() as session:
        return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())


async def _until(check: Callable[[], Awaitable[bool]], what: str, *, limit: float = 20) -> bool:
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            if what:
                raise TimeoutError(f"timed out waiting for {what}")
            return False
        await asyncio.sleep(0.01)
    return True


async def _queue(app: App, *texts: str) -> None:
    async with app.uow() as uow:
        for text in texts:
            await uow.outbox.enqueue(
                channel="telegram", address=str(CHAT), payload={"text": text}, user_id=None
            )
        await uow.commit()


def _renewed_at(app: App, now: datetime) -> Callable[[], Awaitable[bool]]:
    """Whether the first message's lease runs from `now` (renewed since the clock moved
    there)."""

    async def check() -> bool:
        return (await _rows(app))[0].claimed_until == now + LEASE

    return check


async def test_a_send_slower_than_its_lease_is_neither_reported_cut_nor_sent_again(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    clock = Clock()
    user = emu.user(id=CHAT)
    emu.stall_after(1)
    async with running_bot(emu, tmp_path, clock) as bot:
        app = bot.app
        await _queue(app, "first", "second")  # the second waits for the first
        app.dispatcher.renew_seconds = 0.02
        app.dispatcher.start()
        await emu.wait_for(lambda: emu.stalled, 30, "the first send to hang")
        for _ in range(5):  # 250 s in the channel's call: more than two leases
            clock.advance(seconds=50)
            now = clock.now()
            # A renewal period or many, so another instance comes after a renewal (if any).
            await _until(_renewed_at(app, now), "", limit=3)
            # Another instance, meanwhile: nothing to take, nothing to report.
            assert await app.outbox.claim(["telegram"], clock.now()) == []
            assert await app.outbox.interrupted() == 0
        first, second = await _rows(app)
        assert first.sending_at is not None and first.failed_at is None
        assert second.sending_at is None and second.failed_at is None
        emu.release_stall()
        await emu.wait_for(lambda: app.dispatcher.delivered == 2, 30, "both delivered")
        assert [m.text for m in user.inbox] == ["first", "second"]  # once each, in order
        assert await app.outbox.interrupted() == 0
        rows = await _rows(app)
        assert all(row.delivered_at and row.claimed_until is None for row in rows)


async def test_a_dispatcher_that_is_gone_renews_nothing_and_its_send_is_reported(
    emu: TelegramEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher_module, "STOP_GRACE_SECONDS", 0.1)
    clock = Clock()
    user = emu.user(id=CHAT)
    emu.stall_after(1)
    async with running_bot(emu, tmp_path, clock) as bot:
        app = bot.app
        await _queue(app, "cut")
        app.dispatcher.renew_seconds = 0.02
        app.dispatcher.start()
        await emu.wait_for(lambda: emu.stalled, 30, "the send to hang")
        clock.advance(seconds=50)
        now = clock.now()
        await _until(_renewed_at(app, now), "the lease to be renewed")
        await app.dispatcher.stop()  # as if the process died in the call
        await asyncio.sleep(0.1)  # five renewal periods: none may come
        [row] = await _rows(app)
        assert row.claimed_until == now + LEASE
        clock.set(now + LEASE)
        assert await app.outbox.claim(["telegram"], clock.now()) == []
        assert await app.outbox.interrupted() == 0  # not before the lease runs out
        clock.advance(seconds=1)
        assert await app.outbox.claim(["telegram"], clock.now()) == []
        [row] = await _rows(app)
        assert (row.last_error, row.delivered_at) == (INTERRUPTED, None)
        assert await app.outbox.interrupted() == 1
        emu.release_stall()
        assert [m.text for m in user.inbox] == ["cut"]  # Telegram had it: never sent again
