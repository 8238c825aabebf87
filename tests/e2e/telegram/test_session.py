"""A whole video session on Telegram: the clerk and the citizen both in their chats; the
citizen photographs a missing document mid-call, agrees by tapping, gets the receipt PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock, document_photo

from .conftest import ANNA_TG, running_bot
from .test_booking import book


@pytest.mark.any_hour
async def test_session_on_telegram(emu: TelegramEmulator, tmp_path: Path) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock, dispatcher=True) as bot:
        maria = bot.person(emu.user(id=6901, first_name="Maria", language_code="ca"))
        reference = await book(maria, procedure="Volant", time="9:00")
        clock.advance(minutes=50)

        anna = bot.person(emu.user(id=ANNA_TG, first_name="Anna", language_code="ca"))
        await anna.command("today")
        await anna.press("9:00")
        await anna.press("Obrir la sessió")
        assert f"Sessió {reference}" in anna.text and "#jwt=" in anna.text

        await emu.wait_for(lambda: any("#jwt=" in (m.text or "") for m in maria.user.inbox), 10)
        await anna.press("Identitat")
        await anna.press("DNI")
        await anna.say("12345678Z")
        await anna.press("Sí, coincideix")
        assert "Identitat validada" in anna.text
        await anna.press("Documents")
        await anna.press("Demanar DNI")
        await emu.wait_for(
            lambda: any(
                "Ara necessito aquest document" in (m.text or "") for m in maria.user.inbox
            ),
            10,
        )
        await maria.send_photo(document_photo())
        assert "Gràcies, ja l'he rebut" in maria.text, maria.text
        await emu.wait_for(lambda: any("s'ha rebut" in (m.text or "") for m in anna.user.inbox), 10)

        await anna.press("Dades")
        await anna.say("12345678Z")  # identity number field
        await anna.press("Individual")
        await anna.press("No")
        await anna.say("Per a l'escola")
        assert "Tots els camps" in anna.text, anna.text
        await anna.press("Tornar al tauler")
        await anna.press("Enviar per conformitat")
        await emu.wait_for(
            lambda: any("Hi estic d'acord" in m.button_texts for m in maria.user.inbox), 10
        )
        maria._new()
        await maria.press("Hi estic d'acord")
        assert "Hem registrat la teva conformitat" in maria.text

        await anna.press("Justificant")
        await emu.wait_for(lambda: any(m.document for m in maria.user.inbox), 10)
        [receipt] = [m for m in maria.user.inbox if m.document]
        assert receipt.document is not None
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.document.data)).pages)
        assert "Justificant de registre d'entrada" in text and reference in text
        await anna.press("Finalitzar")
        await anna.press("Finalitzar la sessió")
        assert "ha finalitzat" in anna.text
