"""PDF checks and building a PDF from photos.

PDFs that citizens send are kept byte for byte (their hash is what the evidence records), so
intake only decides whether to accept one: it must parse, must not be encrypted, and must
not have more pages than the limit. Counting pages reads the page tree only; no content
stream is decompressed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import DictionaryObject
from reportlab.lib.pagesizes import A4, landscape, portrait
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

__all__ = [
    "PdfInfo",
    "PdfRejected",
    "inspect_pdf",
    "jpegs_to_pdf",
]

_log = logging.getLogger(__name__)


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
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError, OSError, AssertionError) as exc:
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


def jpegs_to_pdf(
    images: Sequence[tuple[bytes, int, int]],
    *,
    margin: float = 10 * mm,
    title: str | None = None,
) -> bytes:
    """One A4 page per JPEG, each fitted inside the margins and centred.

    ``images`` are ``(jpeg_bytes, width_px, height_px)``. A landscape photo gets a
    landscape page. The JPEG data is embedded as is (no re-encoding), and the PDF is
    byte-for-byte reproducible for the same input.
    """
    if not images:
        raise ValueError("no images")
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    if title:
        canvas.setTitle(title)
    for data, width_px, height_px in images:
        page = landscape(A4) if width_px > height_px else portrait(A4)
        canvas.setPageSize(page)
        box_w, box_h = page[0] - 2 * margin, page[1] - 2 * margin
        scale = min(box_w / width_px, box_h / height_px)
        draw_w, draw_h = width_px * scale, height_px * scale
        x = (page[0] - draw_w) / 2
        y = (page[1] - draw_h) / 2
        canvas.drawImage(ImageReader(io.BytesIO(data)), x, y, width=draw_w, height=draw_h)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
