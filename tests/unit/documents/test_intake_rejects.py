"""Bad input: each refused with its exact reason code, and nothing is stored."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from PIL import Image
from pypdf import PdfWriter

from documents.intake import REJECTION_CODES, IntakeLimits, IntakeRejected, intake
from storage.blobs import InMemoryBlobStore
from tests.unit.documents.imaging import document_image, encode


async def receive(store: InMemoryBlobStore, data: bytes, name: str) -> str:
    """What the conversation layer does with a file: intake, then store."""
    result = intake(data, name, limits=IntakeLimits())
    return await store.put(result.data)


async def assert_refused(data: bytes, name: str, reason: str) -> None:
    store = InMemoryBlobStore()
    with pytest.raises(IntakeRejected) as caught:
        await receive(store, data, name)
    assert caught.value.reason == reason
    assert reason in REJECTION_CODES
    assert len(store) == 0


@pytest.fixture(scope="module")
def good_jpeg() -> bytes:
    return encode(document_image(800, 600), "JPEG", quality=90)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


async def test_zero_byte_file() -> None:
    await assert_refused(b"", "photo.jpg", "empty")


async def test_truncated_jpeg(good_jpeg: bytes) -> None:
    await assert_refused(good_jpeg[: len(good_jpeg) // 2], "photo.jpg", "corrupt")


async def test_jpeg_missing_only_its_end_marker(good_jpeg: bytes) -> None:
    await assert_refused(good_jpeg[:-2], "photo.jpg", "corrupt")


async def test_random_bytes_named_jpg() -> None:
    data = random.Random(4).randbytes(50_000)
    await assert_refused(data, "holiday.jpg", "not_an_image")


async def test_jpeg_zip_polyglot(good_jpeg: bytes) -> None:
    polyglot = good_jpeg + zip_archive()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))  # really is both
    await assert_refused(polyglot, "photo.jpg", "polyglot")


async def test_zip_hidden_inside_a_jpeg_comment() -> None:
    small = encode(document_image(300, 200), "JPEG", quality=80)
    archive = zip_archive()
    segment = b"\xff\xfe" + (len(archive) + 2).to_bytes(2, "big") + archive
    polyglot = small[:2] + segment + small[2:]
    Image.open(io.BytesIO(polyglot)).load()  # a valid JPEG...
    with zipfile.ZipFile(io.BytesIO(polyglot)) as opened:  # ...and a valid ZIP
        assert opened.namelist() == ["payload.html"]
    await assert_refused(polyglot, "photo.jpg", "polyglot")


async def test_pdf_zip_polyglot() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    await assert_refused(out.getvalue() + zip_archive(), "form.pdf", "polyglot")


async def test_100_megapixel_png_of_50_kb() -> None:
    bomb = encode(Image.new("1", (10_000, 10_000), 1), "PNG", optimize=True)
    assert len(bomb) < 100_000
    await assert_refused(bomb, "scan.png", "too_many_pixels")


async def test_25_mb_file(good_jpeg: bytes) -> None:
    big = good_jpeg + b"\x00" * (25 * 1024 * 1024 - len(good_jpeg))
    await assert_refused(big, "photo.jpg", "too_large")


async def test_encrypted_pdf() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    await assert_refused(out.getvalue(), "bank.pdf", "encrypted_pdf")


async def test_2000_page_pdf() -> None:
    writer = PdfWriter()
    for _ in range(2000):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    await assert_refused(out.getvalue(), "everything.pdf", "too_many_pages")


async def test_truncated_pdf() -> None:
    await assert_refused(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "x.pdf", "corrupt")


async def test_gif_is_an_unsupported_type() -> None:
    await assert_refused(encode(document_image(200, 100), "GIF"), "anim.jpg", "unsupported_type")


async def test_svg_is_an_unsupported_type() -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    await assert_refused(svg, "logo.png", "unsupported_type")


async def test_zip_is_an_unsupported_type() -> None:
    await assert_refused(zip_archive(), "documents.pdf", "unsupported_type")


async def test_png_header_with_garbage_body() -> None:
    data = b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(2000)
    await assert_refused(data, "x.png", "corrupt")


async def test_limits_are_configurable(good_jpeg: bytes) -> None:
    with pytest.raises(IntakeRejected) as caught:
        intake(good_jpeg, "x.jpg", limits=IntakeLimits(max_bytes=1000))
    assert caught.value.reason == "too_large"
    with pytest.raises(IntakeRejected) as caught:
        intake(good_jpeg, "x.jpg", limits=IntakeLimits(max_pixels=1000))
    assert caught.value.reason == "too_many_pixels"


def test_unknown_reason_codes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        IntakeRejected("something_else")
