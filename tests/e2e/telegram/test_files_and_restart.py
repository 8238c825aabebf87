"""Photos and PDFs reach the engine as bytes; huge files are refused before downloading;
stale buttons are answered politely; a restart mid-booking loses nothing."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from pypdf import PdfWriter
from sqlalchemy import select

from storage.models import DocumentRow
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock
from tests.unit.documents.imaging import document_image

from .conftest import running_bot
from .test_booking import book

MiB = 1 << 20


def photo_bytes() -> bytes:
    out = io.BytesIO()
    document_image(1600, 1200).save(out, "JPEG", quality=90)
    return out.getvalue()


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_photo_and_pdf_reach_the_engine(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        nobody = bot.person(emu.user(id=6001, first_name="Pau", language_code="ca"))
        await nobody.send_photo(photo_bytes())  # no appointment yet: not expected
        assert "ara no esperava cap fitxer" in nobody.text

        rosa = bot.person(emu.user(id=6002, first_name="Rosa", language_code="ca"))
        reference = await book(rosa)
        photo, pdf = photo_bytes(), pdf_bytes()
        await rosa.send_photo(photo)
        assert "Quin document és" in rosa.text, rosa.text  # sent unasked: which one?
        await rosa.press("DNI")
        assert f"(cita {reference})" in rosa.text, rosa.text
        await rosa.send_document(pdf, "contracte.pdf")
        await rosa.press("Un altre document")
        assert f"(cita {reference})" in rosa.text, rosa.text

        # The largest photo size was fetched, and the PDF arrived byte for byte.
        downloads = [c.params["file_path"] for c in emu.calls_to("download")]
        largest = next(f for f in emu.files.values() if f.data == photo)
        assert largest.file_path in downloads
        async with bot.app.sessions() as session:
            rows = (await session.execute(select(DocumentRow))).scalars().all()
        by_type = {row.content_type: row for row in rows}
        assert by_type["application/pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
        assert by_type["image/jpeg"].size > 0


async def test_a_25_mb_document_is_refused_without_downloading(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        for user_id, language, expected in (
            (6011, "ca", "massa gran"),
            (6012, "es", "demasiado grande"),
            (6013, "en", "too big"),
        ):
            person = bot.person(emu.user(id=user_id, language_code=language))
            before = len(emu.calls_to("getFile")), len(emu.calls_to("download"))
            await person.send_document(b"%PDF-1.4\n" + bytes(25 * MiB), "escriptura.pdf")
            assert expected in person.text and "20 MB" in person.text
            assert (len(emu.calls_to("getFile")), len(emu.calls_to("download"))) == before
        assert bot.channel.counters["refused_files"] == 3


async def test_stale_button_is_answered_politely(emu: TelegramEmulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        jordi = bot.person(emu.user(id=6021, first_name="Jordi", language_code="ca"))
        await jordi.command("start")
        language_question = jordi.last[-1].snapshot()  # as an old client still shows it
        await jordi.press("Català")
        await jordi.press("D'acord")
        assert "Què vols fer?" in jordi.text

        press = await jordi.user.press(language_question, "English", stale=True)
        await bot.settle()
        assert press.answered  # the spinner stops even for a stale button
        jordi._new()
        assert "Aquest botó és d'un missatge anterior" in jordi.text, jordi.text
        assert "Què vols fer?" in jordi.text  # ...and says where we are now


async def test_restart_mid_booking(emu: TelegramEmulator, tmp_path: Path) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        marta = bot.person(emu.user(id=6031, first_name="Marta", language_code="ca"))
        await marta.command("start")
        await marta.press("Català")
        await marta.press("D'acord")
        await marta.press("Demanar cita")
        await marta.press("Alta")
        assert "Quin dia et va bé?" in marta.text
        # She taps a day just as the service is being stopped: the turn is in flight...
        message, label = marta.keyboard_message("dl. 30 de nov.")
        day = await marta.user.press(message, label)
        target = emu._next_update_id - 1
        await emu.wait_for(lambda: bot.channel.last_update_id >= target, 5)
    # ...and is finished before the channel stops: its answer is there.
    marta._new()
    assert "Hores lliures el dl. 30 de nov." in marta.text, marta.text
    # While the service is down she taps a time: that update waits at Telegram.
    message, label = marta.keyboard_message("9:30")
    time_press = await marta.user.press(message, label)

    async with running_bot(emu, tmp_path, clock) as bot:  # a new process, the same database
        marta.bot = bot
        await bot.settle()
        assert day.answered and time_press.answered
        marta._new()
        assert "Ho confirmes?" in marta.text, marta.text
        await marta.press("Confirmar")
        assert "Fet! La teva cita és la VT-" in marta.text
        texts = [m.text or "" for m in marta.user.inbox]
        assert sum("Hores lliures el dl. 30 de nov." in t for t in texts) == 1  # not twice
