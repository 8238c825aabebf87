"""The demo citizen's phone photo: a document shot sideways, with GPS in its EXIF, and
the checks the demo prints on what was stored."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

ORIENTATION = 0x0112
GPS_IFD = 0x8825


def sideways_photo_with_gps() -> bytes:
    """An ID card photo as a phone stores it when held sideways: pixels rotated, EXIF
    Orientation 6 ("rotate 90° clockwise to view"), and the place it was taken."""
    page = Image.new("RGB", (1200, 1600), (236, 236, 230))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1199, 220), fill=(200, 30, 40))  # a red band at the top
    for y in range(320, 1500, 60):
        draw.rectangle((80, y, 80 + (y * 7) % 900 + 150, y + 26), fill=(40, 40, 40))
    stored = page.rotate(90, expand=True)  # what the sensor wrote
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (41.0, 33.0, 30.0), 3: "E", 4: (2.0, 0.0, 40.0)})
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def describe_stored(data: bytes) -> str:
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    upright = height > width and _is_red(image.convert("RGB").getpixel((width // 2, 20)))
    exif = image.getexif()
    metadata = "no EXIF at all" if not exif else f"EXIF tags left: {sorted(exif)}"
    return (
        f"stored page is {width}×{height}, "
        f"{'upright (red band on top)' if upright else 'NOT upright'}, {metadata}"
    )


def _is_red(rgb: object) -> bool:
    if not isinstance(rgb, tuple) or len(rgb) < 3:
        return False
    red, green, blue = rgb[:3]
    return bool(red > 150 and green < 100 and blue < 100)
