"""Intake of documents a citizen sends: photos (JPEG, PNG, WebP, HEIC) and PDFs.

The type is decided by the content only: the magic bytes are sniffed, the container's
structure is walked (so a truncated file or one with something glued after its end is
caught), and the file is then really decoded. The name and the declared MIME type are
ignored except for building a cleaned display name.

Photos are normalised: EXIF orientation applied, all metadata dropped (EXIF with GPS, XMP,
IPTC, comments, ICC profile), downscaled so the long side is at most
``IntakeLimits.max_long_side`` and re-encoded as baseline JPEG. Their quality is checked
(:mod:`documents.quality`); a quality warning never rejects. PDFs are kept byte for byte
after :func:`documents.pdfs.inspect_pdf` accepted them.

Refusals raise :class:`IntakeRejected` with a reason code from :data:`REJECTION_CODES`.
The conversation layer translates codes; nothing here is a user-facing text. Intake is
CPU-bound and synchronous: call it from async code with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from documents.names import extension_for, sanitize_filename
from documents.pdfs import PdfRejected, inspect_pdf, jpegs_to_pdf
from documents.quality import QualityThresholds, assess

__all__ = [
    "REJECTION_CODES",
    "IntakeLimits",
    "IntakeRejected",
    "IntakeResult",
    "combine_images_to_pdf",
    "intake",
    "sniff",
]

#: Every reason code :class:`IntakeRejected` can carry.
REJECTION_CODES: tuple[str, ...] = (
    "empty",  # zero bytes
    "too_large",  # more bytes than IntakeLimits.max_bytes
    "not_an_image",  # content is no known file format (random bytes, plain text)
    "unsupported_type",  # a known format we do not accept (GIF, TIFF, ZIP, Office, video...)
    "corrupt",  # claims to be an accepted format but is truncated or does not decode
    "too_many_pixels",  # decompression bomb: header announces more than max_pixels
    "polyglot",  # a second file hidden in or after the first (JPEG+ZIP, PDF+ZIP...)
    "encrypted_pdf",  # password-protected PDF
    "too_many_pages",  # PDF (or combined photos) over max_pdf_pages
    "too_complex",  # costs too much to decode: too many progressive scans, or it used up
    # the sandbox's CPU, memory or time (documents.sandbox)
    "active_pdf",  # a PDF with JavaScript, actions, launchers, embedded files or forms
)

SourceFormat = Literal["jpeg", "png", "webp", "heic", "pdf"]

_CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heic": "image/heic",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class IntakeLimits:
    """Limits and normalisation settings (defaults suit phone photos of documents)."""

    max_bytes: int = 20 * 1024 * 1024
    # Keep below Pillow's own bomb threshold (~89 MP) so Pillow never warns first.
    max_pixels: int = 40_000_000
    # Pixels x bytes per pixel that decoding and converting needs (see _working_bytes): a
    # 40 MP RGB photo needs 160 MB; a small PNG announcing a 40 MP RGBA canvas 480 MB.
    max_decoded_bytes: int = 192 * 1024 * 1024
    # Progressive JPEGs are decoded once per scan: cameras write about 10, a scan bomb
    # thousands.
    max_scans: int = 100
    max_pdf_pages: int = 50
    max_long_side: int = 2400
    # A bigger JPEG is decoded straight at 1/2, 1/4 or 1/8 scale when that lands its long
    # side in [min_long_side, max_long_side] (much faster than decoding and resizing);
    # otherwise it is resized to exactly max_long_side.
    min_long_side: int = 1800
    jpeg_quality: int = 85
    max_filename_length: int = 120
    quality: QualityThresholds = field(default_factory=QualityThresholds)


class IntakeRejected(Exception):
    """A refused file. ``reason`` is one of :data:`REJECTION_CODES`."""

    def __init__(self, reason: str) -> None:
        if reason not in REJECTION_CODES:
            raise ValueError(f"unknown intake reason code {reason!r}")
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IntakeResult:
    """An accepted document, ready to be stored (``data``) and recorded (``sha256``)."""

    kind: Literal["image", "pdf"]
    content_type: str  # of ``data``: "image/jpeg" or "application/pdf"
    data: bytes
    sha256: str  # hex SHA-256 of ``data``
    filename: str  # cleaned display name whose extension matches ``content_type``
    pages: int
    width: int | None  # pixels (images only)
    height: int | None
    warnings: tuple[str, ...]  # quality codes from documents.quality.QUALITY_CODES
    source_format: SourceFormat
    source_sha256: str  # hex SHA-256 of the bytes as received


# --------------------------------------------------------------------------- sniffing

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})

# Formats we recognise but do not accept (checked after the accepted ones).
_OTHER_SIGNATURES: tuple[bytes, ...] = (
    b"GIF87a",
    b"GIF89a",  # GIF
    b"BM",  # BMP
    b"II*\x00",
    b"MM\x00*",  # TIFF (and most camera RAW)
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",  # ZIP, Office, ODF
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE (old Office)
    b"\x7fELF",
    b"MZ",  # executables
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!",  # archives
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"OggS",
    b"ID3",
    b"fLaC",  # audio
    b"%!PS",  # PostScript
    b"{\\rtf",  # RTF
    b"8BPS",  # Photoshop
    b"\xff\x0a",
    b"\x00\x00\x00\x0cJXL ",  # JPEG XL
    b"\x00\x00\x00\x0cjP  ",  # JPEG 2000
    b"\x00\x00\x01\x00",  # ICO
)
_MARKUP = re.compile(rb"^\s*(<\?xml|<svg|<!doctype|<html|<script)", re.IGNORECASE)


def sniff(data: bytes) -> SourceFormat:
    """Name the accepted format ``data`` starts with, or raise :class:`IntakeRejected`."""
    if not data:
        raise IntakeRejected("empty")
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data[4:8] == b"ftyp":
        major = data[8:12]
        box_size = int.from_bytes(data[0:4], "big")
        compatible = {data[i : i + 4] for i in range(16, min(box_size, 64), 4)}
        if major in _HEIF_BRANDS or (major in _HEIF_GENERIC_BRANDS and compatible & _HEIF_BRANDS):
            return "heic"
        raise IntakeRejected("unsupported_type")  # MP4, MOV, AVIF, 3GP...
    if data[:4] == b"RIFF" or any(data.startswith(sig) for sig in _OTHER_SIGNATURES):
        raise IntakeRejected("unsupported_type")
    if _MARKUP.match(data[:512]):
        raise IntakeRejected("unsupported_type")
    raise IntakeRejected("not_an_image")


# ---------------------------------------------------------------- structure walking
#
# Each walker returns (width, height, end) where ``end`` is the offset just past the
# format's own end marker, and raises IntakeRejected("corrupt") when the structure is
# broken or truncated.

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# In entropy-coded data 0xFF is followed by 0x00 (stuffing) or RSTn; anything else is a
# marker (runs of 0xFF are fill bytes).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_walk(data: bytes, max_scans: int | None = None) -> tuple[int, int, int]:
    n = len(data)
    pos = 2
    size: tuple[int, int] | None = None
    scans = 0
    while True:
        if pos >= n or data[pos] != 0xFF:
            raise IntakeRejected("corrupt")
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise IntakeRejected("corrupt")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            if size is None:
                raise IntakeRejected("corrupt")
            return size[0], size[1], pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if marker in (0xD8, 0x00):
            raise IntakeRejected("corrupt")
        if pos + 2 > n:
            raise IntakeRejected("corrupt")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            raise IntakeRejected("corrupt")
        if marker in _SOF_MARKERS:
            if length < 8:
                raise IntakeRejected("corrupt")
            height = int.from_bytes(data[pos + 3 : pos + 5], "big")
            width = int.from_bytes(data[pos + 5 : pos + 7], "big")
            if width == 0 or height == 0:
                raise IntakeRejected("corrupt")
            size = (width, height)
        pos += length
        if marker == 0xDA:  # SOS: skip the entropy-coded scan
            scans += 1
            if max_scans is not None and scans > max_scans:
                raise IntakeRejected("too_complex")
            match = _JPEG_MARKER.search(data, pos)
            if match is None:
                raise IntakeRejected("corrupt")
            pos = match.start()


def _png_walk(data: bytes) -> tuple[int, int, int]:
    n = len(data)
    pos = 8
    size: tuple[int, int] | None = None
    first = True
    while True:
        if pos + 12 > n:
            raise IntakeRejected("corrupt")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > n:
            raise IntakeRejected("corrupt")
        if first:
            if ctype != b"IHDR" or length < 8:
                raise IntakeRejected("corrupt")
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            if width == 0 or height == 0:
                raise IntakeRejected("corrupt")
            size = (width, height)
            first = False
        pos = end
        if ctype == b"IEND":
            assert size is not None
            return size[0], size[1], pos


def _webp_walk(data: bytes) -> tuple[int, int, int]:
    if len(data) < 30:
        raise IntakeRejected("corrupt")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data) or riff_end < 30:
        raise IntakeRejected("corrupt")
    chunk = data[12:16]
    body = data[20:30]
    if chunk == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise IntakeRejected("corrupt")
        width = int.from_bytes(body[6:8], "little") & 0x3FFF
        height = int.from_bytes(body[8:10], "little") & 0x3FFF
    elif chunk == b"VP8L":
        if body[0] != 0x2F:
            raise IntakeRejected("corrupt")
        bits = int.from_bytes(body[1:5], "little")
        width = (bits & 0x3FFF) + 1
        height = ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
    else:
        raise IntakeRejected("corrupt")
    if width == 0 or height == 0:
        raise IntakeRejected("corrupt")
    end = riff_end + (riff_end & 1)
    return width, height, min(end, len(data))


def _bmff_walk(data: bytes) -> int:
    """Walk top-level ISO-BMFF boxes (HEIC); return the end of the last one."""
    n = len(data)
    pos = 0
    while pos < n:
        if pos + 8 > n:
            raise IntakeRejected("corrupt")
        size = int.from_bytes(data[pos : pos + 4], "big")
        header = 8
        if size == 1:
            if pos + 16 > n:
                raise IntakeRejected("corrupt")
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = n - pos
        if size < header or pos + size > n:
            raise IntakeRejected("corrupt")
        pos += size
    return pos


# ---------------------------------------------------------------- polyglot detection

_TRAILING_SIGNATURES: tuple[bytes, ...] = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x01\x02",
    b"%PDF",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x7fELF",
)
_ZIP_EOCD = b"PK\x05\x06"


def _ends_like_zip(data: bytes) -> bool:
    """True when a ZIP reader would find an archive: a plausible end-of-central-directory
    record in the last 64 KiB (where readers search for it)."""
    tail_start = max(0, len(data) - (0xFFFF + 22))
    pos = data.rfind(_ZIP_EOCD, tail_start)
    while pos != -1:
        record = data[pos : pos + 22]
        if len(record) == 22:
            disk, cd_disk, entries_here, entries, cd_size, cd_offset = struct.unpack(
                "<HHHHII", record[4:20]
            )
            if (
                disk == 0
                and cd_disk == 0
                and entries_here == entries
                and (cd_offset + cd_size <= pos)
            ):
                return True
        pos = data.rfind(_ZIP_EOCD, tail_start, pos)
    return False


def _check_trailing(data: bytes, end: int) -> None:
    trailing = data[end:].lstrip(b"\x00")
    if any(trailing.startswith(sig) for sig in _TRAILING_SIGNATURES):
        raise IntakeRejected("polyglot")
    # Other trailing data (e.g. the video of a "motion photo") is harmless: the photo is
    # re-encoded, so it is dropped.


def _check_polyglot(data: bytes, fmt: SourceFormat) -> None:
    if _ends_like_zip(data):
        raise IntakeRejected("polyglot")
    # PDF readers accept "%PDF-" anywhere in the first KiB.
    if fmt != "pdf" and b"%PDF-" in data[:1024]:
        raise IntakeRejected("polyglot")


# ---------------------------------------------------------------- decoding photos

_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PIL_FORMATS: dict[str, str] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    RuntimeError,
    MemoryError,
    Image.DecompressionBombError,
)


def _scaled_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    biggest = max(width, height)
    if biggest <= long_side:
        return size
    scale = long_side / biggest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        image = image.convert("I")
        mode = "I"
    if mode in ("I", "F"):
        return image.point(lambda value: value * (1 / 257)).convert("L")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _draft_request(size: tuple[int, int], limits: IntakeLimits) -> tuple[int, int]:
    """The size to ask ``Image.draft`` for (it picks the DCT scale 1/1..1/8 that keeps
    the image at least that big)."""
    width, height = size
    for scale in (8, 4, 2):
        if limits.min_long_side <= -(-max(width, height) // scale) <= limits.max_long_side:
            return max(1, width // scale), max(1, height // scale)
    return _scaled_size(size, limits.max_long_side)


# Bytes per pixel Pillow keeps in memory for a mode (RGB is stored as 4 bytes).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "LA": 4, "La": 4}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# Flattening transparency onto white holds about three canvases at once.
_ALPHA_COPIES = 3


def _working_bytes(width: int, height: int, mode: str, alpha: bool) -> int:
    """The memory decoding and converting a canvas needs (pixels x bytes per pixel)."""
    per_pixel = _MODE_BYTES.get(mode, 4)
    if alpha or mode in _ALPHA_MODES:
        per_pixel = 4 * _ALPHA_COPIES
    return width * height * per_pixel


def _check_canvas(width: int, height: int, mode: str, alpha: bool, limits: IntakeLimits) -> None:
    if width * height > limits.max_pixels:
        raise IntakeRejected("too_many_pixels")
    if _working_bytes(width, height, mode, alpha) > limits.max_decoded_bytes:
        raise IntakeRejected("too_many_pixels")


def _decode(data: bytes, fmt: SourceFormat, limits: IntakeLimits) -> tuple[Image.Image, int]:
    """Decode (downscaling early where the codec allows it); return image and orientation."""
    if fmt == "heic":
        return _decode_heic(data, limits), 1
    image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    if image.width * image.height > limits.max_pixels:
        raise IntakeRejected("too_many_pixels")
    try:
        orientation = int(image.getexif().get(_ORIENTATION_TAG, 1))
    except _DECODE_ERRORS:
        orientation = 1  # unreadable EXIF: it is dropped anyway
    if fmt == "jpeg" and max(image.size) > limits.max_long_side:
        image.draft(image.mode, _draft_request(image.size, limits))
    alpha = image.mode == "P" and "transparency" in image.info
    _check_canvas(image.width, image.height, image.mode, alpha, limits)
    image.load()
    return image, orientation


def _decode_heic(data: bytes, limits: IntakeLimits) -> Image.Image:
    import pillow_heif  # imported here: it is heavy and only HEIC needs it

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    width, height = heif.size
    _check_canvas(width, height, "RGB", bool(heif.has_alpha), limits)
    # libheif applies the container's rotation/mirroring and pillow-heif resets the EXIF
    # orientation to 1, so the result is already upright.
    image: Image.Image = heif.to_pillow()
    image.load()
    return image


def _normalise_photo(
    data: bytes, fmt: SourceFormat, limits: IntakeLimits
) -> tuple[bytes, int, int, tuple[str, ...]]:
    try:
        image, orientation = _decode(data, fmt, limits)
        image = _to_rgb_or_l(image)
        target = _scaled_size(image.size, limits.max_long_side)
        if target != image.size:
            image = image.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)
        transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
        if transpose is not None:
            image = image.transpose(transpose)
        image.info.clear()  # no EXIF, XMP, ICC, comments... can follow into the output
        warnings = assess(image, thresholds=limits.quality)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=limits.jpeg_quality, optimize=False)
    except IntakeRejected:
        raise
    except MemoryError as exc:  # over the sandbox's memory cap
        raise IntakeRejected("too_complex") from exc
    except _DECODE_ERRORS as exc:
        raise IntakeRejected("corrupt") from exc
    return out.getvalue(), image.width, image.height, warnings


# ---------------------------------------------------------------- public API


def intake(
    data: bytes, filename: str | None, *, limits: IntakeLimits | None = None
) -> IntakeResult:
    """Check and normalise one file. Raises :class:`IntakeRejected`; stores nothing."""
    limits = limits or IntakeLimits()
    if not data:
        raise IntakeRejected("empty")
    if len(data) > limits.max_bytes:
        raise IntakeRejected("too_large")
    fmt = sniff(data)
    _check_polyglot(data, fmt)
    source_sha256 = hashlib.sha256(data).hexdigest()

    if fmt == "pdf":
        try:
            info = inspect_pdf(data, max_pages=limits.max_pdf_pages)
        except PdfRejected as exc:
            raise IntakeRejected(exc.reason) from exc
        return IntakeResult(
            kind="pdf",
            content_type="application/pdf",
            data=data,
            sha256=source_sha256,
            filename=_name(filename, "application/pdf", limits),
            pages=info.pages,
            width=None,
            height=None,
            warnings=(),
            source_format="pdf",
            source_sha256=source_sha256,
        )

    if fmt == "heic":
        _bmff_walk(data)
    else:
        walker = {"jpeg": _jpeg_walk, "png": _png_walk, "webp": _webp_walk}[fmt]
        width, height, end = _jpeg_walk(data, limits.max_scans) if fmt == "jpeg" else walker(data)
        if width * height > limits.max_pixels:
            raise IntakeRejected("too_many_pixels")
        _check_trailing(data, end)

    jpeg, width, height, warnings = _normalise_photo(data, fmt, limits)
    return IntakeResult(
        kind="image",
        content_type="image/jpeg",
        data=jpeg,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        filename=_name(filename, "image/jpeg", limits),
        pages=1,
        width=width,
        height=height,
        warnings=warnings,
        source_format=fmt,
        source_sha256=source_sha256,
    )


def _name(filename: str | None, content_type: str, limits: IntakeLimits) -> str:
    return sanitize_filename(
        filename,
        extension=extension_for(content_type),
        max_length=limits.max_filename_length,
    )


def _is_clean_jpeg(data: bytes, limits: IntakeLimits) -> bool:
    """True if ``data`` is already a normalised JPEG (as intake makes them)."""
    if not data.startswith(b"\xff\xd8\xff"):
        return False
    try:
        width, height, end = _jpeg_walk(data)
        if end != len(data) or max(width, height) > limits.max_long_side:
            return False
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            return (
                image.mode in ("RGB", "L")
                and not image.getexif()
                and not ({"icc_profile", "xmp", "comment", "photoshop", "adobe"} & set(image.info))
            )
    except (IntakeRejected, *_DECODE_ERRORS):
        return False


def combine_images_to_pdf(
    images: Sequence[bytes],
    *,
    limits: IntakeLimits | None = None,
    title: str | None = None,
) -> bytes:
    """Put several photos of one document into one PDF, one A4 page per photo, in order.

    Photos that intake already normalised are embedded as they are; anything else goes
    through :func:`intake` first (and may be refused with :class:`IntakeRejected`).
    """
    limits = limits or IntakeLimits()
    if not images:
        raise IntakeRejected("empty")
    if len(images) > limits.max_pdf_pages:
        raise IntakeRejected("too_many_pages")
    pages: list[bytes] = []
    for data in images:
        if _is_clean_jpeg(data, limits):
            pages.append(data)
            continue
        result = intake(data, None, limits=limits)
        if result.kind != "image":
            raise IntakeRejected("unsupported_type")
        pages.append(result.data)
    return jpegs_to_pdf(pages, title=title)
