"""The demo citizen's phone photo: the back of a fictional ID card, shot sideways, with
GPS in its EXIF; and the checks the demo prints on what was stored."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from domain.mrz import compose_td1, name_field

ORIENTATION = 0x0112
GPS_IFD = 0x8825
OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")  # Debian fonts-ocr-b
# Maria's fictional card: support number, DNI, birth date, sex, expiry.
DEMO_ZONE = compose_td1(
    document_code="ID",
    issuing_state="ESP",
    document_number="BXA184732",
    optional_data="12345678Z",
    birth_date="850314",
    sex="F",
    expiry="310522",
    nationality="ESP",
    name=name_field("GARCÍA PUIG", "MARIA"),
)


def _zone_font(cap: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """OCR-B at the asked cap height; without the font the demo still runs (and the
    clerk's panel says the zone could not be read)."""
    if not OCR_B.exists():
        return ImageFont.load_default()
    probe = ImageFont.truetype(str(OCR_B), 100)
    box = probe.getbbox("H")
    return ImageFont.truetype(str(OCR_B), round(100 * cap / (box[3] - box[1])))


def _card_back(width: int) -> Image.Image:
    """An ID-1 card back (85.6 × 54 mm) with a red band on top and the zone below."""
    mm = width / 85.6
    card = Image.new("RGB", (width, round(54 * mm)), (232, 236, 228))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, width, round(3 * mm)), fill=(200, 30, 40))
    for row in range(4):  # the address block, as grey bars
        y = round((8 + row * 5) * mm)
        draw.rectangle(
            (round(5 * mm), y, round((30 + row * 7) * mm), y + round(2 * mm)), fill=(70, 70, 80)
        )
    font = _zone_font(round(2.5 * mm))
    for row, line in enumerate(DEMO_ZONE):
        top = (38 + row * 4.5) * mm
        for col, char in enumerate(line):
            left = (4.7 + (col + 0.5) * 2.54) * mm
            draw.text((left, top), char, font=font, fill=(25, 25, 30), anchor="ms")
    return card


def sideways_photo_with_gps() -> bytes:
    """The back of an ID card as a phone stores it when held sideways: pixels rotated,
    EXIF Orientation 6 ("rotate 90° clockwise to view"), and the place it was taken."""
    photo = Image.new("RGB", (1600, 1200), (150, 120, 95))  # a wooden table
    card = _card_back(1300).rotate(
        2, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(150, 120, 95)
    )
    photo.paste(card, (150, 180))
    stored = photo.rotate(90, expand=True)  # what the sensor wrote
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (41.0, 33.0, 30.0), 3: "E", 4: (2.0, 0.0, 40.0)})
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def describe_stored(data: bytes) -> str:
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    # The card's red band runs along its top edge when the photo is upright.
    band = image.convert("RGB").getpixel((width // 2, round(height * 0.17)))
    upright = width > height and _is_red(band)
    exif = image.getexif()
    metadata = "no EXIF at all" if not exif else f"EXIF tags left: {sorted(exif)}"
    return (
        f"stored photo is {width}×{height}, "
        f"{'upright (red band on top)' if upright else 'NOT upright'}, {metadata}"
    )


def _is_red(rgb: object) -> bool:
    if not isinstance(rgb, tuple) or len(rgb) < 3:
        return False
    red, green, blue = rgb[:3]
    return bool(red > 150 and green < 100 and blue < 100)
