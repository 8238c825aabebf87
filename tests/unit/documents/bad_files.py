"""The bad files a citizen might send, each with the reason intake must refuse it for.

One table, used twice: by the unit test of documents/intake.py (the pure reason code) and
by the end-to-end test that sends each file through the bot and checks nothing is stored.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image
from pypdf import PdfWriter

from tests.unit.documents.imaging import document_image, encode


@dataclass(frozen=True)
class BadFile:
    id: str
    name: str  # as the citizen's phone names it (intake must not trust it)
    reason: str  # the code documents.intake.IntakeRejected must carry
    make: Callable[[], bytes]


@cache
def good_jpeg() -> bytes:
    return encode(document_image(800, 600), "JPEG", quality=90)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def jpeg_zip_polyglot() -> bytes:
    return good_jpeg() + zip_archive()


def zip_in_a_jpeg_comment() -> bytes:
    small = encode(document_image(300, 200), "JPEG", quality=80)
    archive = zip_archive()
    segment = b"\xff\xfe" + (len(archive) + 2).to_bytes(2, "big") + archive
    return small[:2] + segment + small[2:]


def _pdf(pages: int, *, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bomb() -> bytes:
    """100 megapixels that compress to a few tens of kilobytes."""
    return encode(Image.new("1", (10_000, 10_000), 1), "PNG", optimize=True)


def file_of_25_mb() -> bytes:
    jpeg = good_jpeg()
    return jpeg + b"\x00" * (25 * 1024 * 1024 - len(jpeg))


def _svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'


BAD_FILES: tuple[BadFile, ...] = (
    BadFile("zero_bytes", "photo.jpg", "empty", lambda: b""),
    BadFile("truncated_jpeg", "photo.jpg", "corrupt", lambda: good_jpeg()[: len(good_jpeg()) // 2]),
    BadFile("jpeg_missing_only_its_end_marker", "photo.jpg", "corrupt", lambda: good_jpeg()[:-2]),
    BadFile(
        "random_bytes_named_jpg",
        "holiday.jpg",
        "not_an_image",
        lambda: random.Random(4).randbytes(50_000),
    ),
    BadFile("jpeg_zip_polyglot", "photo.jpg", "polyglot", jpeg_zip_polyglot),
    BadFile("zip_hidden_in_a_jpeg_comment", "photo.jpg", "polyglot", zip_in_a_jpeg_comment),
    BadFile("pdf_zip_polyglot", "form.pdf", "polyglot", lambda: _pdf(1) + zip_archive()),
    BadFile("100_megapixel_png_of_50_kb", "scan.png", "too_many_pixels", png_bomb),
    BadFile("25_mb_file", "photo.jpg", "too_large", file_of_25_mb),
    BadFile("encrypted_pdf", "bank.pdf", "encrypted_pdf", lambda: _pdf(1, password="secret")),
    BadFile("2000_page_pdf", "everything.pdf", "too_many_pages", lambda: _pdf(2000)),
    BadFile("truncated_pdf", "x.pdf", "corrupt", lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog"),
    BadFile(
        "gif_named_jpg",
        "anim.jpg",
        "unsupported_type",
        lambda: encode(document_image(200, 100), "GIF"),
    ),
    BadFile("svg_named_png", "logo.png", "unsupported_type", _svg),
    BadFile("zip_named_pdf", "documents.pdf", "unsupported_type", zip_archive),
    BadFile(
        "png_header_with_garbage_body",
        "x.png",
        "corrupt",
        lambda: b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(2000),
    ),
)

BAD_FILE_IDS = [bad.id for bad in BAD_FILES]
