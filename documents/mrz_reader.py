"""Read the machine-readable zone of an identity document from a phone photo, offline.

`read_identity_photo(data)` is a plain function of the image bytes (so it can run in a
separate, sandboxed worker): it finds the zone, straightens and crops it, reads it with
the Tesseract binary (Debian `tesseract-ocr`, one thread, a timeout, never a download)
and the MRZ model vendored in `documents/tessdata/` (DoubangoTelecom/tesseractMRZ,
BSD-3-Clause), and checks what it read with `domain.mrz.read_mrz`. The raw text of the
zone never leaves this module: the result carries only `domain.mrz.MrzReading` (document
type, numbers, expiry, nationality, verdicts), or a hint for the citizen when the photo
cannot be read.

Finding the zone: dark-on-light ink is marked against the local background, smeared
along the lines, and the long thin bars it makes are grouped into two or three parallel,
evenly spaced bars of equal length (a TD3 or TD1 zone). The group's angle straightens
the crop; its light is flattened (divided by a blurred copy) before OCR. CPU-bound and
synchronous: call it from async code with ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from domain.mrz import ALPHABET, MrzError, MrzReading, read_mrz

log = logging.getLogger("videotramit.mrz")

TESSDATA = Path(__file__).resolve().parent / "tessdata"
_WHITELIST = ALPHABET
_MAX_PIXELS = 40_000_000  # as intake's bomb cap
_WORK_LONG_SIDE = 2000  # crops are cut from this size (a 12 MP JPEG decodes at 1/2)
_FIND_LONG_SIDE = 800  # the zone is looked for at this size
_CAP_TARGET = 34  # character height handed to Tesseract, pixels
_SECOND_TRY: dict[str, Any] = {"cap": 26, "binary": True}
# Words printed on the fronts of Spanish cards (and EU ID cards): a photo without a zone
# that shows them is the wrong side.
_FRONT_WORDS = (
    "DOCUMENTO",
    "NACIONAL",
    "IDENTIDAD",
    "ESPANA",
    "ESPAÑA",
    "RESIDENCIA",
    "EXTRANJERO",
    "IDENTITY",
    "APELLIDOS",
    "NOMBRE",
    "VALIDEZ",
    "SOPORTE",
    "IDESP",
    "PERMISO",
)


class PhotoStatus(StrEnum):
    READ = "read"  # a zone was read; see the reading's verdicts
    UNREADABLE = "unreadable"  # a zone is there but could not be read reliably
    FRONT_SIDE = "front_side"  # a card's front: no zone, its printed words are there
    NOT_FOUND = "not_found"  # nothing like a zone (another document, not a document)
    UNAVAILABLE = "unavailable"  # the OCR engine is missing, failed or timed out


class Hint(StrEnum):
    """What to tell the citizen when the photo cannot be read (handlers translate)."""

    GLARE = "glare"  # a reflection on the laminate washes out the characters
    BACK_SIDE = "back_side"  # the zone is on the back of the card
    WHOLE_CARD = "whole_card"  # the whole document in the frame
    HOLD_STILL = "hold_still"  # blurred: hold still, tap to focus
    CLOSER = "closer"  # the characters are too small
    RETAKE = "retake"  # no single cause found: flat, even light, no flash


@dataclass(frozen=True, slots=True)
class MrzPhoto:
    status: PhotoStatus
    reading: MrzReading | None = None
    hint: Hint | None = None


@dataclass(frozen=True)
class Tesseract:
    """The Tesseract command line, one thread, with a timeout per call."""

    binary: str = "tesseract"
    tessdata: Path = TESSDATA
    timeout: float = 20.0

    def run(
        self, png: bytes, *, lang: str = "mrz", psm: int = 6, whitelist: str | None = _WHITELIST
    ) -> str:
        """Text read from one PNG; raises OcrUnavailable when the engine cannot run."""
        command = [self.binary, "stdin", "stdout", "-l", lang, "--psm", str(psm)]
        if lang == "mrz":
            command += ["--tessdata-dir", str(self.tessdata)]
        if whitelist:
            command += ["-c", f"tessedit_char_whitelist={whitelist}"]
        # One thread: Tesseract's OpenMP threads made it 3-5 times slower here.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OMP_THREAD_LIMIT": "1",
            "LC_ALL": "C",
        }
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:  # not installed, not executable
            raise OcrUnavailable(f"the tesseract binary cannot run: {exc}") from exc
        # The timeout kills from a timer rather than through communicate(timeout=...),
        # whose timed poll fails (EINVAL) under libfaketime, which some test runs use.
        timer = threading.Timer(self.timeout, process.kill)
        timer.start()
        try:
            stdout, stderr = process.communicate(png)
        except OSError as exc:  # the pipe broke
            process.kill()
            process.wait()
            raise OcrUnavailable(f"tesseract could not run: {exc}") from exc
        finally:
            timer.cancel()
        if process.returncode == -signal.SIGKILL:
            raise OcrUnavailable(f"tesseract took more than {self.timeout:g} s")
        if process.returncode != 0:
            lines = stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrUnavailable(f"tesseract failed: {lines[-1] if lines else process.returncode}")
        return stdout.decode("utf-8", "replace")


class OcrUnavailable(Exception):
    pass


# --------------------------------------------------------------------------- decoding


def _decode(data: bytes) -> Image.Image | None:
    """Greyscale, upright, at most `_WORK_LONG_SIDE`; None when it is no usable image."""
    try:
        source = Image.open(io.BytesIO(data))
        if source.width * source.height > _MAX_PIXELS:
            return None
        long_side = max(source.size)
        if source.format == "JPEG" and long_side > _WORK_LONG_SIDE:
            # Decode big JPEGs straight at 1/2, 1/4...: a 12 MP photo costs a quarter.
            source.draft(
                "L",
                (
                    source.width * _WORK_LONG_SIDE // long_side,
                    source.height * _WORK_LONG_SIDE // long_side,
                ),
            )
        image = ImageOps.exif_transpose(source).convert("L")  # as the phone showed it
        if max(image.size) > _WORK_LONG_SIDE:
            image.thumbnail((_WORK_LONG_SIDE, _WORK_LONG_SIDE), Image.Resampling.BILINEAR)
        return image
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None


# --------------------------------------------------------------------------- finding


@dataclass(frozen=True)
class _Bar:
    """A smeared text line: centre, angle (radians, y down), length and thickness."""

    cx: float
    cy: float
    angle: float
    length: float
    thickness: float
    density: float


@dataclass(frozen=True)
class _Zone:
    """Two or three bars that make a zone, in the finding image's pixels."""

    bars: tuple[_Bar, ...]
    angle: float
    cut: bool  # touches the edge of the photo

    @property
    def spacing(self) -> float:
        bars = self.bars
        return _offset(bars[-1], self.angle) - _offset(bars[0], self.angle)


def _offset(bar: _Bar, angle: float) -> float:
    """Distance of a bar's centre along the normal of `angle`."""
    return -bar.cx * math.sin(angle) + bar.cy * math.cos(angle)


def _along(bar: _Bar, angle: float) -> float:
    return bar.cx * math.cos(angle) + bar.cy * math.sin(angle)


def _ink(gray: np.ndarray, radius: int) -> np.ndarray:
    """Pixels clearly darker than their surroundings (dark print on a light card)."""
    image = Image.fromarray(gray)
    background = np.asarray(image.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    contrast = background - gray.astype(np.int16)
    return contrast > np.maximum(22, background // 6)


def _smear(mask: np.ndarray, width: int) -> np.ndarray:
    """Horizontal dilation: a pixel is set when any pixel within `width` of it is."""
    cum = np.cumsum(mask, axis=1, dtype=np.int32)
    padded = np.pad(cum, ((0, 0), (width + 1, width)), mode="edge")
    padded[:, : width + 1] = 0
    return (padded[:, 2 * width + 1 :] - padded[:, : -2 * width - 1]) > 0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of set pixels: rows, starts, ends (exclusive), row-major."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    ys, x0 = np.nonzero(diff == 1)
    _, x1 = np.nonzero(diff == -1)
    return ys, x0, x1


def _label(ys: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Connected components (8-connected) of runs, by union-find; one label per run."""
    parent = list(range(len(ys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows = np.searchsorted(ys, np.arange(int(ys[-1]) + 2)) if len(ys) else np.zeros(1, int)
    for y in range(1, len(rows) - 1):
        a, a_end = int(rows[y - 1]), int(rows[y])
        b, b_end = a_end, int(rows[y + 1])
        while a < a_end and b < b_end:
            if x0[a] <= x1[b] and x0[b] <= x1[a]:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra
            if x1[a] < x1[b]:
                a += 1
            else:
                b += 1
    return np.fromiter((find(i) for i in range(len(ys))), dtype=np.int64, count=len(ys))


def _bars(mask: np.ndarray, ink: np.ndarray, min_length: float) -> list[_Bar]:
    ys, x0, x1 = _runs(mask)
    if len(ys) == 0:
        return []
    labels = _label(ys, x0, x1)
    _, index = np.unique(labels, return_inverse=True)
    count = int(index.max()) + 1
    y = ys.astype(np.float64)
    a = x0.astype(np.float64)
    b = x1.astype(np.float64) - 1  # last pixel of the run
    n = b - a + 1
    sx = (a + b) * n / 2
    sxx = (b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) / 6
    ink_cum = np.zeros((ink.shape[0], ink.shape[1] + 1), dtype=np.int32)
    np.cumsum(ink, axis=1, out=ink_cum[:, 1:])
    inked = ink_cum[ys, x1] - ink_cum[ys, x0]
    totals = [
        np.bincount(index, weights=w, minlength=count)
        for w in (n, sx, y * n, sxx, y * y * n, y * sx, inked)
    ]
    area, sum_x, sum_y, sum_xx, sum_yy, sum_xy, ink_total = totals
    bars = []
    for i in np.nonzero(area >= min_length * 2)[0]:
        m = area[i]
        cx, cy = sum_x[i] / m, sum_y[i] / m
        mu20 = sum_xx[i] / m - cx * cx
        mu02 = sum_yy[i] / m - cy * cy
        mu11 = sum_xy[i] / m - cx * cy
        spread = math.sqrt(max(0.0, ((mu20 - mu02) / 2) ** 2 + mu11**2))
        major = (mu20 + mu02) / 2 + spread
        minor = max((mu20 + mu02) / 2 - spread, 0.25)
        length, thickness = math.sqrt(12 * major), math.sqrt(12 * minor)
        angle = 0.5 * math.atan2(2 * mu11, mu20 - mu02)
        if length < min_length or length < 8 * thickness or abs(angle) > math.radians(20):
            continue
        bars.append(_Bar(cx, cy, angle, length, thickness, ink_total[i] / m))
    return bars


def _zones(bars: list[_Bar], size: tuple[int, int]) -> list[_Zone]:
    """Groups of 3 (TD1) or 2 (TD3) bars: parallel, as long as each other, aligned,
    evenly spaced about two line heights apart; best first."""
    candidates = [b for b in bars if 0.12 <= b.density <= 0.75]
    zones: list[tuple[float, _Zone]] = []
    for first in candidates:
        angle = first.angle
        row = sorted(
            (
                b
                for b in candidates
                if abs(b.angle - angle) < math.radians(2.5)
                and 0.85 < b.length / first.length < 1.18
                and abs(_along(b, angle) - _along(first, angle)) < 0.08 * first.length
            ),
            key=lambda b: _offset(b, angle),
        )
        for count in (3, 2):
            for start in range(len(row) - count + 1):
                group = tuple(row[start : start + count])
                if group[0] is not first:
                    continue
                gaps = [
                    _offset(b, angle) - _offset(a, angle)
                    for a, b in zip(group, group[1:], strict=False)
                ]
                height = sum(b.thickness for b in group) / count
                if min(gaps) < 1.2 * height or max(gaps) > 4.0 * height:
                    continue
                if max(gaps) > 1.3 * min(gaps):
                    continue
                mean_angle = sum(b.angle for b in group) / count
                zone = _Zone(group, mean_angle, _touches_edge(group, mean_angle, size))
                # Prefer full zones, long lines, regular spacing.
                score = (
                    count * 10 + sum(b.length for b in group) / size[0] - (max(gaps) / min(gaps))
                )
                zones.append((score, zone))
    zones.sort(key=lambda item: -item[0])
    unique: list[_Zone] = []
    for _, zone in zones:
        if not any(_same(zone, other) for other in unique):
            unique.append(zone)
    return unique


def _same(a: _Zone, b: _Zone) -> bool:
    return any(x is y for x in a.bars for y in b.bars)


def _touches_edge(bars: tuple[_Bar, ...], angle: float, size: tuple[int, int]) -> bool:
    margin = 0.01 * max(size)
    for bar in bars:
        for sign in (-1, 1):
            x = bar.cx + sign * bar.length / 2 * math.cos(angle)
            y = bar.cy + sign * bar.length / 2 * math.sin(angle)
            if x < margin or y < margin or x > size[0] - margin or y > size[1] - margin:
                return True
    return False


def _find(work: Image.Image) -> tuple[list[_Zone], float, int]:
    """Zones in the photo (finding-image pixels), the scale back to `work`, and how many
    text-like bars were seen (a card front or a page has many, a landscape few)."""
    scale = max(work.size) / _FIND_LONG_SIDE
    small = (
        work.resize((round(work.width / scale), round(work.height / scale)), Image.Resampling.BOX)
        if scale > 1
        else work
    )
    scale = work.width / small.width
    gray = np.asarray(small, dtype=np.uint8)
    ink = _ink(gray, radius=max(6, max(small.size) // 60))
    found: list[_Zone] = []
    bars_seen = 0
    min_length = 0.12 * max(small.size)
    for width in (3, 5, 8):  # gaps between characters for caps of about 8 to 25 pixels
        bars = _bars(_smear(ink, width), ink, min_length)
        bars_seen = max(bars_seen, len(bars))
        for zone in _zones(bars, small.size):
            if not any(_overlaps(zone, other) for other in found):
                found.append(zone)
    # The zone's lines are the longest print on a card or a data page.
    found.sort(key=lambda z: (z.cut, -sum(b.length for b in z.bars) / len(z.bars)))
    return found, scale, bars_seen


def _overlaps(a: _Zone, b: _Zone) -> bool:
    ca = (sum(x.cx for x in a.bars) / len(a.bars), sum(x.cy for x in a.bars) / len(a.bars))
    cb = (sum(x.cx for x in b.bars) / len(b.bars), sum(x.cy for x in b.bars) / len(b.bars))
    return math.dist(ca, cb) < max(a.spacing, b.spacing, 1.0)


# --------------------------------------------------------------------------- cropping


def _crop(
    work: Image.Image, zone: _Zone, scale: float, *, cap: int = _CAP_TARGET, binary: bool = False
) -> Image.Image:
    """The zone straightened, tightly cropped, light flattened, caps `cap` pixels high;
    `binary` thresholds it too (a second try when the first reading fails)."""
    angle = zone.angle
    bars = zone.bars
    cx = sum(b.cx for b in bars) / len(bars) * scale
    cy = sum(b.cy for b in bars) / len(bars) * scale
    length = max(b.length for b in bars) * scale
    thickness = sum(b.thickness for b in bars) / len(bars) * scale
    height = zone.spacing * scale + thickness
    if len(bars) == 2:
        # Two bars may be a TD3 zone or a TD1 zone with one line lost to glare or blur:
        # take one more line's room on each side and let `_tighten` keep what is inked.
        height += 2 * zone.spacing * scale
    half_w = length / 2 + 3 * thickness  # generous: `_tighten` trims to the ink
    half_h = height / 2 + 1.2 * thickness
    # Cut a square around the zone first, so that only that is rotated.
    reach = math.hypot(half_w, half_h)
    box = (round(cx - reach), round(cy - reach), round(cx + reach), round(cy + reach))
    region = work.crop(box)
    centre = (cx - box[0], cy - box[1])
    level = region.rotate(
        math.degrees(angle), resample=Image.Resampling.BICUBIC, center=centre, fillcolor=255
    )
    zone_image = level.crop(
        (
            round(centre[0] - half_w),
            round(centre[1] - half_h),
            round(centre[0] + half_w),
            round(centre[1] + half_h),
        )
    )
    # Caps are about as high as the bars are thick: scale them to the target.
    factor = cap / max(thickness, 1.0)
    zone_image = zone_image.resize(
        (max(1, round(zone_image.width * factor)), max(1, round(zone_image.height * factor))),
        Image.Resampling.BICUBIC,
    )
    flat = _flatten(zone_image, cap)
    if binary:
        flat = flat.point(lambda v: 255 if v > 150 else 0)
    return ImageOps.expand(_tighten(flat, cap), border=cap // 2, fill=255)


def _span(profile: np.ndarray, gap: int) -> tuple[int, int]:
    """The heaviest stretch of `profile` whose empty gaps are shorter than `gap`."""
    filled = np.nonzero(profile > 0)[0]
    if len(filled) == 0:
        return 0, len(profile)
    breaks = np.nonzero(np.diff(filled) > gap)[0]
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(filled) - 1]))
    weights = [profile[filled[a] : filled[b] + 1].sum() for a, b in zip(starts, ends, strict=True)]
    best = int(np.argmax(weights))
    return int(filled[starts[best]]), int(filled[ends[best]]) + 1


def _tighten(image: Image.Image, cap: int) -> Image.Image:
    """Trim the straightened crop to its characters: the card's edge, a thumb or the
    print beside the zone would otherwise be read as characters."""
    ink = np.asarray(image, dtype=np.uint8) < 128
    rows = ink.sum(axis=1)
    # Lines of a zone are less than a character apart; other print is further away.
    top, bottom = _span(np.where(rows > 2, rows, 0), round(cap * 1.4))
    columns = ink[top:bottom].sum(axis=0)
    left, right = _span(np.where(columns > 1, columns, 0), round(cap * 1.3))
    pad = cap // 3
    return image.crop(
        (
            max(0, left - pad),
            max(0, top - pad),
            min(image.width, right + pad),
            min(image.height, bottom + pad),
        )
    )


def _flatten(image: Image.Image, cap: int) -> Image.Image:
    """Divide by the local background (uneven light, glare), then stretch to full range."""
    background = image.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.BoxBlur(cap))
    pixels = np.asarray(image, dtype=np.float32)
    base = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    ratio = np.clip(pixels / base, 0.0, 1.0)
    low = float(np.percentile(ratio, 2))
    stretched = np.clip((ratio - low) / max(1.0 - low, 1e-3), 0.0, 1.0)
    return Image.fromarray((stretched * 255).astype(np.uint8))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


# --------------------------------------------------------------------------- hints


def _diagnose(work: Image.Image, zone: _Zone, scale: float) -> Hint:
    """Why a zone that is there could not be read."""
    if zone.cut:
        return Hint.WHOLE_CARD
    thickness = sum(b.thickness for b in zone.bars) / len(zone.bars) * scale
    if thickness < 11:
        return Hint.CLOSER
    bars = zone.bars
    cx = sum(b.cx for b in bars) / len(bars) * scale
    cy = sum(b.cy for b in bars) / len(bars) * scale
    half_w = max(b.length for b in bars) * scale / 2
    half_h = (zone.spacing * scale + thickness) / 2
    region = np.asarray(
        work.crop((round(cx - half_w), round(cy - half_h), round(cx + half_w), round(cy + half_h))),
        dtype=np.float32,
    )
    if region.size and _burnt(region) > 0.04:
        return Hint.GLARE
    if region.size and _sharpness(region) < 0.05:
        return Hint.HOLD_STILL
    return Hint.RETAKE


def _burnt(pixels: np.ndarray) -> float:
    """Share of pixels a reflection has burnt out to (nearly) white."""
    return float((pixels >= 240).mean())


def _sharpness(region: np.ndarray) -> float:
    """Variance of the Laplacian over the image's own variance (as documents.quality)."""
    lap = (
        region[1:-1, 2:]
        + region[1:-1, :-2]
        + region[2:, 1:-1]
        + region[:-2, 1:-1]
        - 4 * region[1:-1, 1:-1]
    )
    spread = float(region.var())
    return float(lap.var()) / spread if spread > 0 else 0.0


def _looks_like_front(work: Image.Image, ocr: Tesseract) -> bool:
    """A card front shows printed words the back does not ("DOCUMENTO NACIONAL DE
    IDENTIDAD", "APELLIDOS"...): read the photo once in English to look for them."""
    image = work.copy()
    image.thumbnail((1600, 1600), Image.Resampling.BILINEAR)
    text = ocr.run(_png(image), lang="eng", psm=11, whitelist=None).upper()
    found = {word for word in _FRONT_WORDS if word in text}
    return len(found) >= 2


# --------------------------------------------------------------------------- public


def read_zone_text(data: bytes, ocr: Tesseract | None = None) -> list[list[str]]:
    """The OCR output of every zone found, best first: for tests and the benchmark that
    compare what was read with what was printed. Never stored."""
    ocr = ocr or Tesseract()
    work = _decode(data)
    if work is None:
        return []
    zones, scale, _ = _find(work)
    return [ocr.run(_png(_crop(work, zone, scale))).splitlines() for zone in zones[:3]]


def zone_crop_png(data: bytes) -> bytes | None:
    """The prepared crop of the best zone (what Tesseract is given): for the benchmark."""
    work = _decode(data)
    if work is None:
        return None
    zones, scale, _ = _find(work)
    return _png(_crop(work, zones[0], scale)) if zones else None


def read_identity_photo(
    data: bytes, *, ocr: Tesseract | None = None, attempts: int = 3
) -> MrzPhoto:
    """Find, read and check the zone of the document in a photo. Never raises for a bad
    photo; `UNAVAILABLE` when the OCR engine cannot run. At most `attempts` zones are
    read, and a zone whose text looked like a zone but did not pass is read once more."""
    ocr = ocr or Tesseract()
    work = _decode(data)
    if work is None:
        return MrzPhoto(PhotoStatus.NOT_FOUND, hint=Hint.WHOLE_CARD)
    zones, scale, bars_seen = _find(work)
    best: MrzReading | None = None
    zone_like: _Zone | None = None  # the first zone whose text looked like a zone's
    try:
        for zone in zones[:attempts]:
            for options in ({}, _SECOND_TRY):
                text = ocr.run(_png(_crop(work, zone, scale, **options))).splitlines()
                if not _zone_like(text):
                    break  # not a zone: the next one, not a second try
                zone_like = zone_like or zone
                try:
                    reading = read_mrz(text)
                except MrzError:
                    continue
                if best is None or _problems(reading) < _problems(best):
                    best = reading
                if reading.valid:
                    return MrzPhoto(PhotoStatus.READ, reading=reading)
        if best is not None and _plausible(best):
            return MrzPhoto(PhotoStatus.READ, reading=best)
        if zone_like is not None:
            return MrzPhoto(PhotoStatus.UNREADABLE, hint=_diagnose(work, zone_like, scale))
        if bars_seen >= 3 and _looks_like_front(work, ocr):
            return MrzPhoto(PhotoStatus.FRONT_SIDE, hint=Hint.BACK_SIDE)
    except OcrUnavailable as exc:
        log.warning("MRZ not read: %s", exc)
        return MrzPhoto(PhotoStatus.UNAVAILABLE)
    # Print but no zone, and a patch burnt out to white: a reflection broke the lines.
    if bars_seen >= 3 and 0.01 < _burnt(np.asarray(work)) < 0.15:
        return MrzPhoto(PhotoStatus.NOT_FOUND, hint=Hint.GLARE)
    return MrzPhoto(PhotoStatus.NOT_FOUND, hint=Hint.WHOLE_CARD)


def _zone_like(text: list[str]) -> bool:
    """OCR output that looks like part of a zone: long lines, runs of fillers."""
    lines = [line.replace(" ", "") for line in text]
    return sum(len(line) >= 20 or "<<" in line for line in lines) >= 2


def _problems(reading: MrzReading) -> int:
    return len(reading.failed_checks) + len(reading.layout_errors) + (reading.id_letter_ok is False)


def _plausible(reading: MrzReading) -> bool:
    """A reading with a failure or two is still worth showing the clerk (with its
    warnings): the document number and the dates were found where they belong."""
    return _problems(reading) <= 2 and "document_number" not in reading.layout_errors
