"""The filing receipt as a PDF (reportlab), and optional PAdES signing (pyHanko).

``build_receipt_pdf(receipt, labels)`` lays out a :class:`domain.receipts.Receipt` on A4:
council header (logo, name, address) on every page, title, entry number and official date
and time, the citizen, the procedure, the application's fields, the documents with their
SHA-256, the agreement, the clerk, and a verification box with the CSV code and a QR code
to the verify URL; every page's footer repeats the CSV code and "page x of y".

Texts: every caption comes from ``labels`` (already translated by the conversation layer;
see :data:`RECEIPT_LABEL_KEYS`), so this module holds no user-facing text. Every string
from the receipt is printed literally: ReportLab paragraph markup (``<font>``, ``<a>``,
``&amp;``...) is escaped and control characters are removed.

Fonts: by default the PDF base-14 Helvetica (nothing to install or embed; WinAnsi covers
Catalan, Spanish and most Western European letters; other letters are folded to their
base letter, e.g. Ș -> S, Ł -> L). Pass ``font_path`` (a TrueType font such as DejaVu Sans,
see :func:`find_unicode_font`) to print every script literally; the font is embedded.

The PDF is reproducible: the same receipt gives the same bytes (its creation date is the
registration time), so a stored receipt's hash can be checked by rebuilding it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from domain.receipts import Receipt

__all__ = [
    "OPTIONAL_LABEL_KEYS",
    "RECEIPT_LABEL_KEYS",
    "build_receipt_pdf",
    "find_unicode_font",
    "format_official_time",
    "sign_pdf",
    "sign_pdf_async",
]

_log = logging.getLogger(__name__)

#: Captions ``build_receipt_pdf`` needs (values are already translated).
RECEIPT_LABEL_KEYS: tuple[str, ...] = (
    "title",  # "Registry entry receipt"
    "entry_number",  # "Entry number"
    "registered_at",  # "Date and time of filing"
    "official_time",  # "hora oficial peninsular" -> "dd/mm/yyyy HH:MM:SS (hora oficial peninsular)"
    "reference",  # "Appointment reference"
    "procedure",  # "Procedure"
    "citizen_section",  # "Applicant"
    "citizen_name",  # "Name"
    "citizen_id",  # "Identity document"
    "application_section",  # "Application"
    "documents_section",  # "Documents filed"
    "document_name",  # "Document"
    "document_sha256",  # "SHA-256 fingerprint"
    "no_documents",  # "No documents were filed."
    "agreement_section",  # "Agreement"
    "agreement_text_sha256",  # "SHA-256 of the text agreed"
    "agreed_at",  # "Agreed at"
    "clerk",  # "Assisted by"
    "verification_section",  # "Verification"
    "csv_code",  # "Secure verification code (CSV)"
    "verify_url",  # "Verify at"
    "verify_note",  # "Scan the QR code or open the address to check this receipt."
    "page",  # "Page {page} of {pages}"
)
#: Captions printed only when present.
OPTIONAL_LABEL_KEYS: tuple[str, ...] = (
    "agreement_statement",  # "Statement agreed"
    "integrity_note",  # "The fingerprints guarantee the integrity of the documents..."
    "legal_note",  # "Receipt issued under article 16.3 of Law 39/2015."
    "characters_left_out",  # "Some characters (such as emoji) could not be printed..."
)

_UNICODE_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#555555")
_RULE = colors.HexColor("#9aa5b1")
_SHADE = colors.HexColor("#eef1f4")
_ACCENT = colors.HexColor("#1f3a5f")

_MARGIN_X = 18 * mm
_MARGIN_TOP = 36 * mm
_MARGIN_BOTTOM = 20 * mm
_CONTENT_WIDTH = A4[0] - 2 * _MARGIN_X


# ------------------------------------------------------------------------ text


_FOLD_EXTRA = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "ĸ": "k",
        "Ŧ": "T",
        "ŧ": "t",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "․": ".",
    }
)


def _fold_char(ch: str) -> str:
    try:
        ch.encode("cp1252")
        return ch
    except UnicodeEncodeError:
        pass
    folded = ch.translate(_FOLD_EXTRA)
    if folded != ch:
        return folded
    decomposed = "".join(
        c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
    )
    try:
        decomposed.encode("cp1252")
        return decomposed
    except UnicodeEncodeError:
        return ""  # not printable in this font: left out (and the receipt says so)


class _Fonts:
    def __init__(self, font_path: Path | None) -> None:
        self.left_out = False  # some character could not be printed and was dropped
        self._glyphs: dict[int, int] = {}
        if font_path is None:
            self.regular, self.bold, self.mono = "Helvetica", "Helvetica-Bold", "Courier"
            self.mono_bold = "Courier-Bold"
            self.unicode = False
            return
        self.unicode = True
        tag = hashlib.sha256(str(font_path).encode()).hexdigest()[:8]
        self.regular = f"VT-{tag}"
        self.bold = f"VT-{tag}-Bold"
        self.mono = "Courier"  # hashes and codes are ASCII
        self.mono_bold = "Courier-Bold"
        registered = pdfmetrics.getRegisteredFontNames()
        if self.regular not in registered:
            pdfmetrics.registerFont(TTFont(self.regular, str(font_path)))
        face = pdfmetrics.getFont(self.regular).face
        self._glyphs = face.charToGlyph
        if self.bold not in registered:
            bold_path = font_path.with_name(font_path.stem + "-Bold" + font_path.suffix)
            pdfmetrics.registerFont(
                TTFont(self.bold, str(bold_path if bold_path.exists() else font_path))
            )

    def clean(self, text: str) -> str:
        """Printable text: no control characters, folded to WinAnsi for Helvetica."""
        out = []
        for ch in unicodedata.normalize("NFC", text):
            category = unicodedata.category(ch)
            if ch in "\n\t":
                out.append(" " if ch == "\t" else ch)
            elif category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
                continue
            elif category in {"Zl", "Zp"}:
                out.append("\n")
            else:
                printable = self._printable(ch)
                self.left_out = self.left_out or not printable
                out.append(printable)
        return "".join(out)

    def _printable(self, ch: str) -> str:
        """`ch` as the font can print it, or "" (an emoji, a script it lacks)."""
        if not self.unicode:
            return _fold_char(ch)
        if ord(ch) in self._glyphs or ch in " \n":
            return ch
        return _fold_char(ch)

    def para(self, text: str) -> str:
        """Paragraph markup that prints ``text`` literally, keeping line breaks."""
        lines = self.clean(text).split("\n")
        return "<br/>".join(escape(line) for line in lines)


def find_unicode_font() -> Path | None:
    """A TrueType font with wide Unicode coverage (DejaVu Sans) if the system has one."""
    for candidate in _UNICODE_FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def format_official_time(moment: datetime, timezone: str, official_label: str) -> str:
    """``dd/mm/yyyy HH:MM:SS (<official_label>)`` in ``timezone``; the label names the
    zone as people say it ("hora oficial peninsular")."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%d/%m/%Y %H:%M:%S} ({official_label})"


# ------------------------------------------------------------------------ layout


class _QrFlowable(Flowable):
    def __init__(self, value: str, size: float) -> None:
        super().__init__()
        widget = QrCodeWidget(value, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        self._drawing = Drawing(
            size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0]
        )
        self._drawing.add(widget)
        self.width = self.height = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        self._drawing.drawOn(self.canv, 0, 0)


def _numbered_canvas(
    receipt: Receipt, labels: Mapping[str, str], fonts: _Fonts, logo: ImageReader | None
) -> type[Canvas]:
    """A canvas class that draws header and footer once the page count is known."""
    stamp = receipt.registered_at.astimezone(ZoneInfo("UTC"))

    class _ReceiptCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []
            timestamp = getattr(self._doc, "_timeStamp", None)
            if timestamp is not None and hasattr(timestamp, "YMDhms"):
                # Reproducible output: the creation date is the registration time.
                timestamp.YMDhms = (
                    stamp.year,
                    stamp.month,
                    stamp.day,
                    stamp.hour,
                    stamp.minute,
                    stamp.second,
                )
                timestamp.dhh = timestamp.dmm = 0

        def showPage(self) -> None:  # noqa: N802
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for number, state in enumerate(self._saved_pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                Canvas.showPage(self)
            Canvas.save(self)

        def _decorate(self, number: int, total: int) -> None:
            width, height = A4
            top = height - 12 * mm
            text_x = _MARGIN_X
            if logo is not None:
                logo_w, logo_h = logo.getSize()
                scale = min(40 * mm / logo_w, 16 * mm / logo_h)
                draw_w, draw_h = logo_w * scale, logo_h * scale
                self.drawImage(
                    logo, _MARGIN_X, top - draw_h, width=draw_w, height=draw_h, mask="auto"
                )
                text_x = _MARGIN_X + draw_w + 5 * mm
            self.setFillColor(_ACCENT)
            self.setFont(fonts.bold, 12)
            self.drawString(text_x, top - 5 * mm, fonts.clean(receipt.council_name)[:90])
            self.setFillColor(_MUTED)
            self.setFont(fonts.regular, 8)
            address_lines = fonts.clean(receipt.council_address).split("\n")[:2]
            for i, line in enumerate(address_lines):
                self.drawString(text_x, top - 10 * mm - i * 3.6 * mm, line[:120])
            self.setStrokeColor(_RULE)
            self.setLineWidth(0.6)
            self.line(_MARGIN_X, height - 30 * mm, width - _MARGIN_X, height - 30 * mm)
            # Footer: CSV code on every page, and page x of y.
            self.line(_MARGIN_X, 14 * mm, width - _MARGIN_X, 14 * mm)
            self.setFont(fonts.regular, 7)
            self.setFillColor(_MUTED)
            footer = f"{fonts.clean(labels['csv_code'])}: {receipt.csv_code}"
            self.drawString(_MARGIN_X, 10 * mm, footer)
            self.drawString(_MARGIN_X, 6.5 * mm, fonts.clean(receipt.verify_url)[:140])
            page = (
                fonts.clean(labels["page"])
                .replace("{page}", str(number))
                .replace("{pages}", str(total))
            )
            self.drawRightString(width - _MARGIN_X, 10 * mm, page)
            self.drawRightString(width - _MARGIN_X, 6.5 * mm, fonts.clean(receipt.entry_number))

    return _ReceiptCanvas


def _styles(fonts: _Fonts) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "base",
        fontName=fonts.regular,
        fontSize=9.5,
        leading=12,
        textColor=_INK,
        alignment=TA_LEFT,
        splitLongWords=True,
    )
    return {
        "base": base,
        "label": ParagraphStyle(
            "label", parent=base, fontName=fonts.bold, textColor=_MUTED, fontSize=8.5, leading=11
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=fonts.bold,
            fontSize=17,
            leading=21,
            textColor=_ACCENT,
            spaceAfter=2 * mm,
        ),
        "section": ParagraphStyle(
            "section",
            parent=base,
            fontName=fonts.bold,
            fontSize=11,
            leading=14,
            textColor=_ACCENT,
            spaceBefore=5 * mm,
            spaceAfter=1.5 * mm,
        ),
        "mono": ParagraphStyle("mono", parent=base, fontName=fonts.mono, fontSize=7, leading=9),
        "code": ParagraphStyle(
            "code", parent=base, fontName=fonts.mono_bold, fontSize=13, leading=16
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=_MUTED),
    }


def _kv_table(
    rows: list[tuple[str, Flowable | str]],
    styles: dict[str, ParagraphStyle],
    fonts: _Fonts,
    label_width: float = 52 * mm,
) -> Table:
    data = [
        [
            Paragraph(fonts.para(label), styles["label"]),
            value if isinstance(value, Flowable) else Paragraph(value, styles["base"]),
        ]
        for label, value in rows
    ]
    table = Table(data, colWidths=[label_width, _CONTENT_WIDTH - label_width], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), _SHADE),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, _RULE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.4, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _documents_table(
    receipt: Receipt, labels: Mapping[str, str], styles: dict[str, ParagraphStyle], fonts: _Fonts
) -> Flowable:
    if not receipt.documents:
        return Paragraph(fonts.para(labels["no_documents"]), styles["base"])
    hash_width = 101 * mm
    number_width = 8 * mm
    data: list[list[Flowable | str]] = [
        [
            Paragraph("#", styles["label"]),
            Paragraph(fonts.para(labels["document_name"]), styles["label"]),
            Paragraph(fonts.para(labels["document_sha256"]), styles["label"]),
        ]
    ]
    for index, (name, digest) in enumerate(receipt.documents, start=1):
        data.append(
            [
                Paragraph(str(index), styles["base"]),
                Paragraph(fonts.para(name), styles["base"]),
                Paragraph(escape(digest), styles["mono"]),
            ]
        )
    table = Table(
        data,
        colWidths=[number_width, _CONTENT_WIDTH - hash_width - number_width, hash_width],
        repeatRows=1,
        splitInRow=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, _RULE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.4, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _verification_box(
    receipt: Receipt, labels: Mapping[str, str], styles: dict[str, ParagraphStyle], fonts: _Fonts
) -> Table:
    qr_size = 34 * mm
    text = [
        Paragraph(fonts.para(labels["csv_code"]), styles["label"]),
        Paragraph(escape(fonts.clean(receipt.csv_code)), styles["code"]),
        Spacer(1, 2 * mm),
        Paragraph(fonts.para(labels["verify_url"]), styles["label"]),
        Paragraph(fonts.para(receipt.verify_url), styles["base"]),
        Spacer(1, 2 * mm),
        Paragraph(fonts.para(labels["verify_note"]), styles["small"]),
    ]
    box = Table(
        [[_QrFlowable(receipt.verify_url, qr_size), text]],
        colWidths=[qr_size + 6 * mm, _CONTENT_WIDTH - qr_size - 6 * mm],
    )
    box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.8, _ACCENT),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return box


def _logo_reader(logo: bytes | None) -> ImageReader | None:
    if not logo:
        return None
    try:
        reader = ImageReader(io.BytesIO(logo))
        width, height = reader.getSize()
        if width <= 0 or height <= 0:
            raise ValueError("empty logo")
        return reader
    except Exception as exc:  # a broken logo must not stop a receipt being issued
        _log.warning("receipt logo ignored: %s", type(exc).__name__)
        return None


def build_receipt_pdf(
    receipt: Receipt,
    labels: Mapping[str, str],
    *,
    font_path: Path | None = None,
) -> bytes:
    """Render ``receipt`` as an A4 PDF using the translated ``labels``."""
    missing = [key for key in RECEIPT_LABEL_KEYS if key not in labels]
    if missing:
        raise KeyError(f"receipt labels missing: {', '.join(missing)}")
    fonts = _Fonts(font_path)
    styles = _styles(fonts)
    tz = receipt.timezone
    official = fonts.clean(labels["official_time"])
    p = fonts.para

    story: list[Flowable] = [
        Paragraph(p(labels["title"]), styles["title"]),
        _kv_table(
            [
                (
                    labels["entry_number"],
                    Paragraph(f"<b>{p(receipt.entry_number)}</b>", styles["base"]),
                ),
                (
                    labels["registered_at"],
                    p(format_official_time(receipt.registered_at, tz, official)),
                ),
                (labels["reference"], p(receipt.reference)),
                (labels["procedure"], p(receipt.procedure_name)),
            ],
            styles,
            fonts,
        ),
        # How to check it comes first, so it is always on the first page.
        KeepTogether(
            [
                Paragraph(p(labels["verification_section"]), styles["section"]),
                _verification_box(receipt, labels, styles, fonts),
            ]
        ),
        Paragraph(p(labels["citizen_section"]), styles["section"]),
        _kv_table(
            [
                (labels["citizen_name"], p(receipt.citizen_name)),
                (labels["citizen_id"], p(receipt.citizen_id_masked)),
            ],
            styles,
            fonts,
        ),
    ]
    if receipt.application:
        story += [
            Paragraph(p(labels["application_section"]), styles["section"]),
            _kv_table([(label, p(value)) for label, value in receipt.application], styles, fonts),
        ]
    story += [
        Paragraph(p(labels["documents_section"]), styles["section"]),
        _documents_table(receipt, labels, styles, fonts),
    ]
    agreement_rows: list[tuple[str, Flowable | str]] = []
    if receipt.agreement_statement and "agreement_statement" in labels:
        agreement_rows.append((labels["agreement_statement"], p(receipt.agreement_statement)))
    agreement_rows += [
        (
            labels["agreement_text_sha256"],
            Paragraph(escape(receipt.agreement_text_sha256), styles["mono"]),
        ),
        (labels["agreed_at"], p(format_official_time(receipt.agreed_at, tz, official))),
        (labels["clerk"], p(receipt.clerk_name)),
    ]
    story += [
        Paragraph(p(labels["agreement_section"]), styles["section"]),
        _kv_table(agreement_rows, styles, fonts),
    ]
    if fonts.left_out and labels.get("characters_left_out"):
        story += [Spacer(1, 3 * mm), Paragraph(p(labels["characters_left_out"]), styles["small"])]
    for key in ("integrity_note", "legal_note"):
        if labels.get(key):
            story += [Spacer(1, 3 * mm), Paragraph(p(labels[key]), styles["small"])]

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=fonts.clean(f"{labels['title']} {receipt.entry_number}"),
        author=fonts.clean(receipt.council_name),
        subject=fonts.clean(receipt.procedure_name),
        creator="videotramit",
        lang=receipt.language,
        invariant=1,
    )
    canvas_class = _numbered_canvas(receipt, labels, fonts, _logo_reader(receipt.logo))
    doc.build(story, canvasmaker=canvas_class)
    return out.getvalue()


# ------------------------------------------------------------------------ signing


def _signing_inputs(
    pdf_bytes: bytes,
    p12_path: Path,
    passphrase: bytes | str | None,
    field_name: str,
    reason: str | None,
    location: str | None,
    signing_time: datetime,
) -> tuple[Any, Any]:
    """A pyHanko writer and signer for ``pdf_bytes`` whose every date is ``signing_time``.

    pyHanko dates a signature by the machine's clock: the signature dictionary's /M (the
    signing time PAdES relies on; PAdES forbids the CMS signingTime attribute) and the
    /ModDate of the revision it appends. A receipt is sealed at its registered time, so both
    are set to ``signing_time``: the seal then states the same moment as the receipt, and
    signing the same receipt twice claims the same time whatever the machine's clock says.
    """
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    try:
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("signing receipts needs the 'pyHanko' package") from exc

    class _WriterAt(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:
            super()._update_meta()  # stamps /ModDate with the machine's clock; undone below
            if self._info is not None:
                info = self._info.get_object()
                if "/ModDate" in info:
                    info["/ModDate"] = generic.pdf_date(signing_time)
                    self.mark_update(self._info)

    class _SignerAt(signers.PdfSigner):
        def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
            session = super().init_signing_session(pdf_out, existing_fields_only)
            # The session's system_time becomes /M and the CMS attributes' time.
            session.system_time = signing_time
            return session

    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    signer = signers.SimpleSigner.load_pkcs12(pfx_file=str(p12_path), passphrase=passphrase)
    if signer is None:
        raise ValueError("could not load the signing certificate (PKCS#12 file or passphrase)")
    writer = _WriterAt(io.BytesIO(pdf_bytes), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    return writer, _SignerAt(metadata, signer)


def sign_pdf(
    pdf_bytes: bytes,
    p12_path: Path,
    passphrase: bytes | str | None,
    *,
    signing_time: datetime,
    field_name: str = "Signature1",
    reason: str | None = None,
    location: str | None = None,
) -> bytes:
    """Sign ``pdf_bytes`` (PAdES baseline B-B, SHA-256) with the council's PKCS#12 file,
    dated ``signing_time`` (a receipt's registered time).

    Needs the optional dependency pyHanko. Do not call it inside a running event loop
    (pyHanko's synchronous API starts one): use :func:`sign_pdf_async` there, or
    ``asyncio.to_thread(sign_pdf, ...)``.
    """
    writer, pdf_signer = _signing_inputs(
        pdf_bytes, p12_path, passphrase, field_name, reason, location, signing_time
    )
    return bytes(pdf_signer.sign_pdf(writer).getvalue())


async def sign_pdf_async(
    pdf_bytes: bytes,
    p12_path: Path,
    passphrase: bytes | str | None,
    *,
    signing_time: datetime,
    field_name: str = "Signature1",
    reason: str | None = None,
    location: str | None = None,
) -> bytes:
    """:func:`sign_pdf` for async code."""
    writer, pdf_signer = _signing_inputs(
        pdf_bytes, p12_path, passphrase, field_name, reason, location, signing_time
    )
    result = await pdf_signer.async_sign_pdf(writer)
    return bytes(result.getvalue())
