"""Staff and administrator commands for configured Telegram ids only; groups get nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.models import UserRow
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import ANNA_TG, LAIA_TG, running_bot
from .test_booking import book


async def test_staff_and_admin_commands(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        pere = bot.person(emu.user(id=6601, first_name="Pere", language_code="ca"))
        await book(pere, time="9:00")

        anna = bot.person(emu.user(id=ANNA_TG, first_name="Anna", language_code="ca"))
        await anna.command("today")
        assert "Agenda del dilluns 30 de novembre (1)" in anna.text, anna.text
        assert "9:00" in anna.text and "Pere" in anna.text
        await anna.command("stats")
        assert "Això és només per als administradors." in anna.text

        laia = bot.person(emu.user(id=LAIA_TG, first_name="Laia", language_code="ca"))
        await laia.command("stats")
        assert "Cites: 1 (fetes 0, anul·lades 0, no presentades 0, encara per fer 1)" in laia.text

        await pere.command("today")
        assert "Això és només per al personal de l'oficina." in pere.text
        assert "Agenda" not in pere.text
        await pere.command("stats")
        assert "Això és només per als administradors." in pere.text


async def test_groups_get_only_a_pointer_to_private_chats(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        neighbour = bot.person(emu.user(id=6701, first_name="Veí", language_code="ca"))
        await book(neighbour, time="12:00")
        group = await neighbour.user.add_bot_to_group("Veïns del carrer Major")
        await bot.settle()
        await neighbour.user.send_command("my", chat=group, mention=True)
        await neighbour.user.send_text("@videotramit_test_bot la meva cita?", chat=group)
        await neighbour.user.send_command("book", chat=group)
        await bot.settle()

        said = [m.text or "" for m in group.inbox]
        assert len(said) == 1, said  # once, not once per command
        assert "només atenc en xats privats" in said[0]
        assert "https://t.me/videotramit_test_bot" in said[0]
        assert not any(m.buttons for m in group.inbox)
        assert "VT-" not in said[0] and "12:00" not in said[0]
        # Nothing from the group reached the engine.
        assert bot.channel.counters["turns"] == 8  # the booking, in private
        async with bot.app.sessions() as session:
            addresses = (await session.execute(select(UserRow.address))).scalars().all()
        assert addresses == [str(neighbour.user.id)]


async def test_session_panel_is_updated_in_place(emu: TelegramEmulator, tmp_path: Path) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        joan = bot.person(emu.user(id=6801, first_name="Joan", language_code="ca"))
        await book(joan, time="9:00")
        clock.advance(minutes=45)  # 8:45: the session can be opened
        anna = bot.person(emu.user(id=ANNA_TG, first_name="Anna", language_code="ca"))
        await anna.command("today")
        await anna.press("9:00")
        await anna.press("Obrir la sessió")
        panel = next(m for m in anna.last if "Actualitzar" in m.button_texts)
        assert "1 Identitat: pendent" in (panel.text or "")
        sent_before = len(anna.user.inbox)

        await anna.press("Actualitzar")
        # The same message was redrawn (edited), with live buttons; no new panel was sent.
        live = emu.chats[ANNA_TG].messages[panel.message_id]
        assert len(live.history) >= 1 and "Actualitzar" in live.button_texts
        assert "1 Identitat: pendent" in (live.text or "")
        assert not [m for m in anna.last if "Actualitzar" in m.button_texts]
        assert len(anna.user.inbox) == sent_before + len(anna.last)
        await anna.press("Actualitzar")  # the redrawn panel's buttons work
        assert len(emu.chats[ANNA_TG].messages[panel.message_id].history) >= 2
