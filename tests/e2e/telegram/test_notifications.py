"""What the bot sends on Telegram beyond text: the statistics chart arrives as a photo."""

from __future__ import annotations

from pathlib import Path

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
