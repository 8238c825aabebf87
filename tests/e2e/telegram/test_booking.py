"""A citizen books, moves and cancels an appointment on Telegram by pressing buttons."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import Person, running_bot


async def book(
    person: Person, procedure: str = "Alta", day: str = "dl. 30 de nov.", time: str = "9:30"
) -> str:
    """/start → Català → D'acord → Demanar cita → procedure → day → time → Confirmar;
    returns the booking reference."""
    await person.command("start")
    await person.press("Català")
    await person.press("D'acord")
    await person.press("Demanar cita")
    await person.press(procedure)
    await person.press(day)
    await person.press(time)
    await person.press("Confirmar")
    assert "Fet! La teva cita és la VT-" in person.text, person.text
    return person.text.split("La teva cita és la ")[1].split(".")[0]


async def test_book_move_and_cancel_by_buttons(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        maria = bot.person(emu.user(id=5001, first_name="Maria", language_code="ca"))
        await maria.command("start")
        assert "Hola!" in maria.text
        question = maria.last[-1]
        rows = question.reply_markup["inline_keyboard"]
        assert [b["text"] for b in rows[0]] == ["Català", "Castellano", "English"]  # columns=3

        await maria.press("Català")
        # The pressed message lost its buttons and shows what was chosen.
        live = emu.chats[maria.user.id].messages[question.message_id]
        assert live.buttons == []
        assert live.text.endswith("→ Català")
        assert "Abans de començar" in maria.text
        await maria.press("D'acord")
        assert "Què vols fer?" in maria.text
        await maria.press("Demanar cita")
        assert "Quin tràmit vols fer?" in maria.text
        await maria.press("Alta")
        assert "Quin dia et va bé?" in maria.text
        await maria.press("dl. 30 de nov.")
        assert "Hores lliures el dl. 30 de nov." in maria.text
        await maria.press("9:30")
        assert "dilluns 30 de novembre a les 9:30" in maria.text
        await maria.press("Confirmar")
        assert "Fet! La teva cita és la VT-" in maria.text

        # Move it
        await maria.press("Les meves cites")
        assert "dl. 30 de nov. 9:30" in maria.text
        await maria.press_nth(0)
        await maria.press("Canviar el dia")
        await maria.press("dt. 1 de des.")
        await maria.press("11:00")
        assert "dimarts 1 de desembre a les 11:00" in maria.text
        await maria.press("Confirmar")
        assert "ara és el dimarts 1 de desembre a les 11:00" in maria.text

        # ... and cancel it
        await maria.command("my")
        assert "dt. 1 de des. 11:00" in maria.text
        await maria.press_nth(0)
        await maria.press("Anul·lar la cita")
        await maria.press("Sí, anul·la-la")
        assert "ha quedat anul·lada" in maria.text
        await maria.command("my")
        assert "No tens cap cita pendent." in maria.text

        # Every press was answered, and no pressed keyboard can be pressed again.
        assert len(emu.answered_callbacks) == 16
        messages = emu.chats[maria.user.id].messages
        for answer in emu.answered_callbacks:
            pressed = messages[answer["message_id"]]
            assert not pressed.buttons and "→ " in pressed.text
        assert not [c for c in emu.calls if c.status >= 400]


async def test_language_from_the_client_and_deep_link(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        neus = bot.person(emu.user(id=5002, first_name="Neus", language_code="es-ES"))
        await neus.command("start", "oac-poster")  # a deep link t.me/<bot>?start=oac-poster
        assert "¡Hola!" in neus.text
        await neus.press("Castellano")
        await neus.press("De acuerdo")
        assert "¿Qué quieres hacer?" in neus.text
        ben = bot.person(emu.user(id=5003, first_name="Ben", language_code="en"))
        await ben.command("book")
        assert "Before we start" in ben.text or "Which language" in ben.text


async def test_command_menus_per_language_and_role(emu: TelegramEmulator, tmp_path: Path) -> None:
    from .conftest import ANNA_TG, LAIA_TG

    async with running_bot(emu, tmp_path, Clock()):
        for user_id, language, book_text in (
            (5011, "ca", "Demanar una cita"),
            (5012, "es", "Pedir una cita"),
            (5013, "en", "Book an appointment"),
        ):
            citizen = emu.user(id=user_id, language_code=language)
            menu = {c["command"]: c["description"] for c in citizen.visible_commands()}
            assert list(menu) == ["start", "book", "my", "help", "language", "cancel"]
            assert menu["book"] == book_text
        anna = emu.user(id=ANNA_TG, first_name="Anna", language_code="ca")
        assert [c["command"] for c in anna.visible_commands()][-1] == "today"
        laia = emu.user(id=LAIA_TG, first_name="Laia", language_code="en")
        assert [c["command"] for c in laia.visible_commands()][-2:] == ["today", "stats"]


async def test_markup_in_names_and_texts_is_shown_literally(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    from .conftest import ANNA_TG

    async with running_bot(emu, tmp_path, Clock()) as bot:
        joan = bot.person(emu.user(id=5020, first_name="<b>Joan", last_name="& Co</b>"))
        await book(joan, day="dl. 30 de nov.", time="10:00")
        await joan.say("<i>hola</i> & <a href='x'>adeu</a>")
        assert joan.last and all(not m.entities for m in joan.last)
        anna = bot.person(emu.user(id=ANNA_TG, first_name="Anna", language_code="ca"))
        await anna.command("today")
        agenda = next(m for m in anna.last if "10:00" in (m.text or ""))
        assert "<b>Joan & Co</b>" in agenda.text  # the clerk sees the name as typed
        assert not agenda.entities  # ...not as bold text
        assert "&lt;b&gt;Joan &amp; Co&lt;/b&gt;" in agenda.sent_text
        assert all(c.status < 400 for c in emu.calls_to("sendMessage"))
