"""Files through python-telegram-bot 22: getFile + download, size caps, multipart uploads."""

from __future__ import annotations

import io

import pytest
from telegram import InputFile
from telegram.error import BadRequest, NetworkError

from tests.fakes.telegram import DOWNLOAD_LIMIT, RateLimits, TelegramEmulator

from .conftest import Seen, echo_app, jpeg, polling, ptb_bot


async def test_user_photo_downloaded_by_ptb(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=3001)
    original = jpeg(1600, 1200)
    async with polling(echo_app(emu, seen)):
        sent = await anna.send_photo(original, caption="el DNI")
        [reply] = await anna.wait_for_messages(1, timeout=5)
    assert not seen.errors
    assert seen.downloads == [original]  # photo[-1] is the original, bytes intact
    sizes = sent.data["photo"]
    assert [s["width"] for s in sizes] == [90, 320, 800, 1600]
    assert len({s["file_unique_id"] for s in sizes}) == len(sizes)
    assert reply.text == f"rebut {len(original)} bytes"
    [download] = emu.calls_to("download")
    assert download.status == 200 and "%3A" in download.params["raw_path"]  # reference §1.2


async def test_file_over_20_mb_is_refused_by_getfile(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=3002)
    async with polling(echo_app(emu, seen)):
        await anna.send_document(b"\0" * (DOWNLOAD_LIMIT + 1), "gran.pdf", "application/pdf")
        [reply] = await anna.wait_for_messages(1, timeout=5)
    assert reply.text == "massa gran"
    [error] = seen.errors
    assert isinstance(error, BadRequest) and str(error) == "File is too big"
    assert emu.calls_to("getFile")[0].description == "Bad Request: file is too big"


async def test_file_of_exactly_20_mib_downloads(emu: TelegramEmulator) -> None:
    data = bytes(range(256)) * (DOWNLOAD_LIMIT // 256)
    anna = emu.user(id=3003)
    msg = await anna.send_document(data, "limit.bin")
    async with ptb_bot(emu) as bot:
        tg_file = await bot.get_file(msg.data["document"]["file_id"])
        assert tg_file.file_path is not None and tg_file.file_path.startswith(emu.file_base_url)
        assert bytes(await tg_file.download_as_bytearray()) == data


async def test_send_document_multipart_bytes_intact(emu: TelegramEmulator) -> None:
    anna = emu.user(id=3004)
    payload = bytes(range(256)) * 1000 + b"\r\n--boundary--\r\n"
    async with ptb_bot(emu) as bot:
        m1 = await bot.send_document(
            anna.id,
            InputFile(io.BytesIO(payload), filename="rebut.pdf"),
            caption="<b>Rebut</b>",
            parse_mode="HTML",
        )
        m2 = await bot.send_document(anna.id, b"sense nom")
        assert m1.document is not None
        m3 = await bot.send_document(anna.id, m1.document.file_id)  # re-send by file_id
    call = emu.calls_to("sendDocument")[0]
    assert call.content_type is not None and call.content_type.startswith("multipart/form-data")
    assert call.files["document"].filename == "rebut.pdf"
    first, second, third = anna.inbox
    assert first.document is not None and first.document.data == payload
    assert first.data["document"]["file_name"] == "rebut.pdf"
    assert first.data["document"]["mime_type"] == "application/pdf"
    assert first.text == "Rebut" and first.entities[0]["type"] == "bold"
    assert m1.caption == "Rebut"
    assert second.document is not None and second.document.file_name == "application.octet-stream"
    assert m2.document is not None and m2.document.file_size == len(b"sense nom")
    assert m3.document is not None and m3.document.file_id == m1.document.file_id
    assert third.document is first.document


async def test_send_photo_from_bot(emu: TelegramEmulator) -> None:
    anna = emu.user(id=3005)
    async with ptb_bot(emu) as bot:
        msg = await bot.send_photo(anna.id, jpeg(400, 300))
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_photo(anna.id, "no-such-file-id")
    assert [p.width for p in msg.photo] == [90, 320, 400]
    [stored] = anna.inbox
    assert stored.photo is not None and stored.photo.width == 400


async def test_upload_over_50_mb_is_refused() -> None:
    async with TelegramEmulator(limits=RateLimits.off()) as emu:
        anna = emu.user(id=3006)
        async with ptb_bot(emu) as bot:
            with pytest.raises(NetworkError, match="Request Entity Too Large"):
                await bot.send_document(anna.id, b"x" * (50 * 1024 * 1024 + 1), filename="a.bin")
        assert anna.inbox == []
