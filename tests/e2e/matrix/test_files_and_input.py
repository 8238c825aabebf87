"""Photos and PDFs in plain and encrypted rooms (authenticated media; encrypted attachments
decrypted and hash-checked); files too big either way; stale numbers; markup in names."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import select

from handlers.messages import OutFile, Reply
from storage.models import DocumentRow
from tests.support import Clock, document_photo
from tests.synapse import UPLOAD_LIMIT_MB, Synapse

from .conftest import Talk, book, running_bot, unique

MiB = 1 << 20


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_photo_and_pdf_reach_the_engine(
    synapse: Synapse, tmp_path: Path, encrypted: bool
) -> None:
    async with running_bot(synapse, tmp_path, Clock()) as bot:
        rosa = Talk(bot, await bot.person("rosa", display_name="Rosa"))
        reference = await book(rosa, encrypted=encrypted)
        photo, pdf = document_photo(), pdf_bytes()
        await rosa.send_file(photo, "dni.jpg", "image/jpeg")
        assert "Quin document és" in rosa.text, rosa.text  # sent unasked: which one?
        await rosa.say(rosa.number_of("DNI"))
        assert f"(cita {reference})" in rosa.text, rosa.text
        await rosa.send_file(pdf, "contracte.pdf", "application/pdf")
        await rosa.say(rosa.number_of("Un altre document"))
        assert f"(cita {reference})" in rosa.text, rosa.text
        async with bot.app.sessions() as session:
            rows = (await session.execute(select(DocumentRow))).scalars().all()
        by_type = {row.content_type: row for row in rows}
        assert by_type["application/pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
        assert by_type["image/jpeg"].size > 0


async def test_a_tampered_encrypted_attachment_is_refused(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path, Clock()) as bot:
        pau = Talk(bot, await bot.person("pau"))
        await book(pau, encrypted=True)
        # The ciphertext's SHA-256 in the event does not match what was uploaded.
        person = pau.person
        photo = document_photo()
        answer, keys = await person.client.upload(
            lambda *_: io.BytesIO(photo), "image/jpeg", "dni.jpg", True, filesize=len(photo)
        )
        assert keys is not None
        keys["hashes"]["sha256"] = "A" * 43
        expected = bot.channel.counters["events"] + 1
        await person.send(
            {
                "msgtype": "m.image",
                "body": "dni.jpg",
                "info": {"mimetype": "image/jpeg"},
                "file": {**keys, "url": answer.content_uri},  # type: ignore[union-attr]
            }
        )
        await pau.settle(expected)
        assert "No he pogut rebre aquest fitxer" in pau.text
        async with bot.app.sessions() as session:
            assert not (await session.execute(select(DocumentRow))).scalars().all()


async def test_files_too_big_both_ways(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path, Clock(), download_limit=1 * MiB) as bot:
        assert bot.channel.upload_limit == UPLOAD_LIMIT_MB * MiB  # m.upload.size, read at start
        ona = Talk(bot, await bot.person("ona"))
        await book(ona, encrypted=True)
        await ona.send_file(b"%PDF-1.4\n" + b"0" * (2 * MiB), "gran.pdf", "application/pdf")
        assert "massa gran" in ona.text and "1 MB" in ona.text
        assert bot.channel.counters["refused_files"] == 1
        # A file for her over the homeserver's upload limit is not sent; she is told why.
        big = OutFile("justificant.pdf", b"0" * (UPLOAD_LIMIT_MB * MiB + 1), "application/pdf")
        await bot.channel.deliver(ona.person.room_id, Reply(text="", file=big, language="ca"))
        seen = await ona.wait_seen("justificant.pdf")
        assert "més gran del que aquest servidor accepta" in seen.body
        assert not any(s.file for s in ona.person.seen)


async def test_a_stale_number_is_answered_politely(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path, Clock()) as bot:
        joan = Talk(bot, await bot.person("joan"))
        greeting = await joan.opened(encrypted=False)
        languages = next((s for s in greeting if "1. Català" in s.body), None)
        assert languages is not None, [s.body for s in greeting]
        await joan.choose("Català")
        assert "Abans de començar" in joan.text
        # "2" in answer to the language question, which is no longer open.
        await joan.say("2", reply_to=languages.event_id)
        assert "ja no funciona" in joan.text, joan.text
        assert "Abans de començar" in joan.text  # ...and where the conversation is now
        await joan.say("7")  # no such option: asked again
        assert "No t'he entès" in joan.text


async def test_markup_in_names_is_shown_literally(synapse: Synapse, tmp_path: Path) -> None:
    clerk = synapse.register(unique("anna"))
    async with running_bot(synapse, tmp_path, Clock(), staff={"anna": clerk.user_id}) as bot:
        joan = Talk(bot, await bot.person("joan", display_name="<b>Joan & Co</b>"))
        await book(joan, encrypted=True, time="10:00")
        anna = Talk(bot, await bot.person(account=clerk))
        await anna.opened(encrypted=True)
        await anna.say("!today")
        agenda = next(s for s in anna.last if "10:00" in s.body)
        assert "<b>Joan & Co</b>" in agenda.body  # the clerk sees the name as typed
        assert "&lt;b&gt;Joan &amp; Co&lt;/b&gt;" in agenda.formatted  # ...not as bold
        assert "<b>" not in agenda.formatted
