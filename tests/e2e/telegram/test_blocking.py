"""A person who blocks the bot is marked unreachable at once (from Telegram's
my_chat_member update), and reachable again when they unblock it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import UserRow
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import RunningBot, running_bot


async def _unreachable(bot: RunningBot, external_id: str) -> bool:
    async with bot.app.sessions() as session:
        query = select(UserRow.unreachable).where(
            UserRow.channel == "telegram", UserRow.external_id == external_id
        )
        return bool((await session.execute(query)).scalar_one())


@pytest.mark.any_hour
async def test_blocking_and_unblocking_the_bot(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        rosa = bot.person(emu.user(id=6951, first_name="Rosa", language_code="ca"))
        await rosa.command("start")
        assert not await _unreachable(bot, "6951")
        emu.block(rosa.user)
        await bot.settle()
        assert await _unreachable(bot, "6951")
        emu.unblock(rosa.user)
        await bot.settle()
        assert not await _unreachable(bot, "6951")
