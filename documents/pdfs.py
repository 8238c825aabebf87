"""PDF checks and building a PDF from photos.

PDFs that citizens send are kept byte for byte (their hash is what the evidence records), so
intake only decides whether to accept one: it must parse, must not be encrypted, must not
have more pages than the limit, and must carry no active content (:func:`active_content`:
JavaScript, actions that run on opening or on events, launchers, embedded files, XFA forms,
rich media). Counting pages reads the page tree only; no content stream is decompressed.
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
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

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
    """A PDF that is refused; ``reason`` is ``corrupt``, ``encrypted_pdf``,
    ``too_many_pages`` or ``active_pdf``."""

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
    found = active_content(reader)
    if found:
        _log.info("PDF refused for active content: %s", found)
        raise PdfRejected("active_pdf")
    return PdfInfo(pages=pages, first_page_width=width, first_page_height=height)


# Keys whose mere presence means something runs or something else is carried inside.
_ACTIVE_KEYS = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/AA",
        "/XFA",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/RichMediaExecute",
        "/Launch",
    }
)
# Action types that run code, open other files or send data (/GoTo and /URI stay allowed:
# tables of contents and web links are common in ordinary PDFs).
_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/ResetForm",
        "/GoToE",
        "/GoToR",
        "/RichMediaExecute",
        "/Rendition",
        "/Movie",
        "/Sound",
        "/SetOCGState",
    }
)
_MAX_OBJECTS = 200_000


def active_content(reader: PdfReader) -> str:
    """The first active thing found in the PDF (a key or action name), or "".

    Every indirect object is visited (those in object streams too), and inside each one
    its direct dictionaries and arrays; pypdf decodes escaped names (``/J#61vaScript``).
    """
    numbers: list[tuple[int, int]] = [
        (num, gen) for gen, table in reader.xref.items() for num in table
    ]
    numbers += [(num, 0) for num in reader.xref_objStm]
    if len(numbers) > _MAX_OBJECTS:
        return "too many objects"
    trailer_root = reader.trailer.get("/Root")
    stack: list[PdfObject] = [trailer_root] if trailer_root is not None else []
    for num, gen in numbers:
        try:
            found_object = reader.get_object(IndirectObject(num, gen, reader))
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError):
            continue
        if found_object is not None:
            stack.append(found_object)
        while stack:
            found = _active_in(stack.pop(), stack)
            if found:
                return found
    return ""


def _active_in(value: PdfObject | None, stack: list[PdfObject]) -> str:
    if isinstance(value, IndirectObject):
        return ""  # visited on its own
    if isinstance(value, ArrayObject):
        stack.extend(value)
        return ""
    if not isinstance(value, DictionaryObject):
        return ""
    for key in value:
        if key in _ACTIVE_KEYS:
            return str(key)
    action = value.get("/S")
    if isinstance(action, NameObject) and action in _ACTIVE_ACTIONS:
        return str(action)
    opening = value.get("/OpenAction")
    if opening is not None:
        opening = opening.get_object()
        if isinstance(opening, DictionaryObject) and opening.get("/S") != "/GoTo":
            return "/OpenAction"
    stack.extend(v for k, v in value.items() if k != "/Parent")
    return ""


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
