"""PDF checks and building a PDF from photos.

PDFs that citizens send are kept byte for byte (their hash is what the evidence records), so
intake only decides whether to accept one: it must parse, must not be encrypted, and must
not have more pages than the limit. Counting pages reads the page tree only; no content
stream is decompressed.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import DictionaryObject

__all__ = [
    "PdfInfo",
    "PdfRejected",
    "inspect_pdf",
    "jpegs_to_pdf",
]

_log = logging.getLogger(__name__)

_A4 = (595.2756, 841.8898)  # points
_MM = 72 / 25.4


class PdfRejected(ValueError):
    """A PDF that is refused; ``reason`` is ``corrupt``, ``encrypted_pdf`` or ``too_many_pages``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    # Size of the first page in PDF points (1/72 inch).
    first_page_width: float
    first_page_height: float


def inspect_pdf(data: bytes, *, max_pages: int) -> PdfInfo:
    """Parse ``data`` enough to accept or refuse it. Raises :class:`PdfRejected`."""
    if not data.startswith(b"%PDF-"):
        raise PdfRejected("corrupt")
    try:
        return _inspect(data, max_pages)
    except PdfRejected:
        raise
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
        OSError,
        AssertionError,
    ) as exc:
        _log.debug("unreadable PDF: %s", type(exc).__name__)
        raise PdfRejected("corrupt") from exc


def _inspect(data: bytes, max_pages: int) -> PdfInfo:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise PdfRejected("encrypted_pdf")
    # The page tree's /Count is a cheap claim: refuse early when it is already too big,
    # then walk the tree to learn the real number (a lying /Count is caught there).
    pages_node = reader.root_object["/Pages"].get_object()
    if not isinstance(pages_node, DictionaryObject):
        raise PdfRejected("corrupt")
    claimed = int(pages_node.get("/Count", 0))
    if claimed > max_pages:
        raise PdfRejected("too_many_pages")
    pages = len(reader.pages)
    if pages > max_pages:
        raise PdfRejected("too_many_pages")
    if pages == 0:
        raise PdfRejected("corrupt")
    box = reader.pages[0].mediabox
    width, height = float(box.width), float(box.height)
    if width <= 0 or height <= 0:
        raise PdfRejected("corrupt")
    return PdfInfo(pages=pages, first_page_width=width, first_page_height=height)


def _pdf_text(text: str) -> bytes:
    """A PDF text string (UTF-16BE hex with BOM: no escaping issues, any script)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _num(value: float) -> bytes:
    return (f"{value:.3f}".rstrip("0").rstrip(".") or "0").encode("ascii")


def jpegs_to_pdf(
    images: Sequence[bytes],
    *,
    margin: float = 10 * _MM,
    title: str | None = None,
) -> bytes:
    """One A4 page per JPEG (RGB or greyscale), fitted inside the margins and centred.

    A landscape photo gets a landscape page. The JPEG bytes are embedded unchanged
    (``/DCTDecode``), so each photo's SHA-256 can still be found inside the PDF, and the
    output is byte-for-byte reproducible for the same input.
    """
    if not images:
        raise ValueError("no images")
    objects: list[bytes] = []  # object i+1 is objects[i]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    kids: list[int] = []
    for data in images:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as probe:
            width_px, height_px = probe.size
            mode = probe.mode
        if mode not in ("RGB", "L"):
            raise ValueError("only RGB or greyscale JPEGs can be embedded")
        colour = b"/DeviceRGB" if mode == "RGB" else b"/DeviceGray"
        page_w, page_h = (_A4[1], _A4[0]) if width_px > height_px else _A4
        scale = min((page_w - 2 * margin) / width_px, (page_h - 2 * margin) / height_px)
        draw_w, draw_h = width_px * scale, height_px * scale
        x, y = (page_w - draw_w) / 2, (page_h - draw_h) / 2
        image_id = add(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
            % (width_px, height_px, colour, len(data))
            + data
            + b"\nendstream"
        )
        content = b"q %s 0 0 %s %s %s cm /Im0 Do Q" % (_num(draw_w), _num(draw_h), _num(x), _num(y))
        content_id = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] "
                b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, _num(page_w), _num(page_h), image_id, content_id)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    info = b"<< /Producer " + _pdf_text("videotramit")
    if title:
        info += b" /Title " + _pdf_text(title)
    info_id = add(info + b" >>")

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    digest = hashlib.sha256(b"".join(objects)).hexdigest()[:32].upper().encode("ascii")
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
        % (len(objects) + 1, catalog, info_id, digest, digest)
    )
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()
