"""Invite -> greeting, and a whole booking by numbers, in plain and encrypted rooms."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import Clock
from tests.synapse import Synapse

from .conftest import Talk, running_bot


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_invite_greeting_and_booking_by_numbers(
    synapse: Synapse, tmp_path: Path, encrypted: bool
) -> None:
    async with running_bot(synapse, tmp_path, Clock()) as bot:
        maria = Talk(bot, await bot.person("maria", display_name="Maria"))
        greeting = await maria.opened(encrypted=encrypted)
        assert "Hola!" in maria.text
        assert all(seen.msgtype == "m.notice" for seen in greeting)
        assert all(seen.encrypted is encrypted for seen in greeting)
        assert "1. Català" in maria.text and "3. English" in maria.text
        await maria.say("1")
        assert "Abans de començar" in maria.text
        await maria.choose("D'acord")
        await maria.choose("Demanar cita")
        await maria.say("alta o canvi")  # the words of an option pick it too
        await maria.choose("dl. 30")
        await maria.choose("9:30")
        await maria.choose("Confirmar")
        assert "Fet! La teva cita és la VT-" in maria.text, maria.text
