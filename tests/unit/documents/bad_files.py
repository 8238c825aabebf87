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


def scan_bomb(repeats: int = 2000, size: int = 1200) -> bytes:
    """A progressive JPEG whose last (AC refinement) scan is repeated `repeats` times: each
    copy is decoded again, so a few kilobytes cost seconds of CPU (issue 10 used 20,000
    copies on 6000x6600: minutes)."""
    plain = encode(Image.new("L", (size, size), 128), "JPEG", quality=90, progressive=True)
    scans: list[tuple[int, int]] = []  # (start, end) of each SOS segment with its data
    pos = 2
    while pos < len(plain):
        marker = plain[pos + 1]
        if marker == 0xD9:
            break
        length = int.from_bytes(plain[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if marker == 0xDA:
            while not (plain[end] == 0xFF and plain[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
            scans.append((pos, end))
        pos = end
    start, end = scans[-1]
    return plain[:end] + plain[start:end] * repeats + plain[end:]


def huge_rgba_png(width: int = 6300, height: int = 6340) -> bytes:
    """A transparent RGBA canvas just under the pixel cap (40 MP) that compresses to
    ~150 KB but needs hundreds of megabytes to decode and flatten."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 4)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def _active_pdf(kind: str) -> bytes:
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if kind == "javascript":
        script = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hello');"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(script)
    elif kind == "launch":
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("cmd.exe"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    elif kind == "embedded_exe":
        writer.add_attachment("invoice.exe", b"MZ\x90\x00" + b"\x00" * 64)
    elif kind == "xfa":
        form = DictionaryObject({NameObject("/XFA"): TextStringObject("<xdp/>")})
        writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
    BadFile("progressive_jpeg_scan_bomb", "photo.jpg", "too_complex", scan_bomb),
    BadFile("40_megapixel_rgba_png_of_150_kb", "scan.png", "too_many_pixels", huge_rgba_png),
    BadFile("pdf_with_javascript", "form.pdf", "active_pdf", lambda: _active_pdf("javascript")),
    BadFile("pdf_launching_a_program", "form.pdf", "active_pdf", lambda: _active_pdf("launch")),
    BadFile(
        "pdf_with_an_embedded_exe", "form.pdf", "active_pdf", lambda: _active_pdf("embedded_exe")
    ),
    BadFile("pdf_with_an_xfa_form", "form.pdf", "active_pdf", lambda: _active_pdf("xfa")),
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
