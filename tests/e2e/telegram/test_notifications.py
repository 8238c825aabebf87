"""Notifications on Telegram: the statistics chart arrives as a photo; typed
notifications arrive exactly once each through faults."""

from __future__ import annotations

from pathlib import Path

from handlers import notify
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import LAIA_TG, running_bot


async def test_the_statistics_chart_is_a_photo(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        laia = bot.person(emu.user(id=LAIA_TG, first_name="Laia", language_code="en"))
        await laia.command("stats")
        assert "Statistics from 1 January 2026 to 31 December 2026" in laia.text
        await laia.press("Chart")
        assert len(emu.calls_to("sendPhoto")) == 1
        assert emu.calls_to("sendDocument") == []
        assert any(m.photo for m in laia.last)


async def test_typed_notifications_arrive_once_each_despite_faults(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    """20 notifications to distinct chats, a fifth of the Bot API calls answered 429 or
    502: every one is delivered, none twice (the outbox retries what failed)."""
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        people = [emu.user(id=6300 + n, language_code="ca") for n in range(20)]
        async with bot.app.uow() as uow:
            for person in people:
                user = await uow.users.get_or_create(
                    "telegram",
                    str(person.id),
                    address=str(person.id),
                    display_name="",
                    language="ca",
                )
                await notify.said(uow, user, "session.ended_citizen", {"reference": "VT-F"})
            await uow.commit()
        emu.inject_faults(0.2, ("429", "502"), methods=("sendMessage",), retry_after=1, seed=3)
        try:
            for _ in range(40):
                await bot.app.dispatcher.drain()
                if bot.app.dispatcher.delivered >= len(people):
                    break
                clock.advance(minutes=16)  # past any backoff: what failed is due again
        finally:
            emu.clear_faults()
        assert emu.stats.throttled_by_fault + emu.stats.bad_gateway > 0
        assert [len(p.inbox) for p in people] == [1] * len(people)
        assert all("La sessió VT-F ha acabat" in (p.inbox[0].text or "") for p in people)
