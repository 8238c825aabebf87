"""Image and PDF factories for the documents tests (real files made with Pillow/pypdf)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageOps

RED = (220, 30, 30)
GREEN = (30, 180, 60)
BLUE = (30, 60, 220)
YELLOW = (240, 220, 40)
CORNER_COLOURS = {"red": RED, "green": GREEN, "blue": BLUE, "yellow": YELLOW}


def document_image(width: int = 1600, height: int = 1200, seed: int = 1) -> Image.Image:
    """A sharp, well-exposed photo of a text page: dark word blocks on light paper."""
    rnd = random.Random(seed)
    image = Image.new("L", (width, height), 225)
    draw = ImageDraw.Draw(image)
    line = max(12, height // 45)
    for y in range(line * 2, height - line * 2, line * 2):
        x = line * 2
        while x < width - line * 6:
            word = rnd.randint(line, line * 6)
            draw.rectangle((x, y, x + word, y + line), fill=30)
            x += word + line
    noise = Image.effect_noise((width, height), 12)
    return Image.blend(image, noise, 0.15).convert("RGB")


def corner_image(width: int = 400, height: int = 300) -> Image.Image:
    """Upright reference: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    draw.rectangle((0, 0, half_w - 1, half_h - 1), fill=RED)
    draw.rectangle((half_w, 0, width - 1, half_h - 1), fill=GREEN)
    draw.rectangle((0, half_h, half_w - 1, height - 1), fill=BLUE)
    draw.rectangle((half_w, half_h, width - 1, height - 1), fill=YELLOW)
    return image


def nearest_colour(rgb: tuple[int, ...]) -> str:
    return min(
        CORNER_COLOURS,
        key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, CORNER_COLOURS[name], strict=False)),
    )


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def grey(image: Image.Image, xy: tuple[int, int]) -> int:
    value = image.convert("L").getpixel(xy)
    assert isinstance(value, int)
    return value


def corners(image: Image.Image) -> dict[str, str]:
    """Colour name seen at each corner (sampled 10% in from the edges)."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    dx, dy = w // 10, h // 10
    return {
        "top_left": nearest_colour(pixel(rgb, (dx, dy))),
        "top_right": nearest_colour(pixel(rgb, (w - 1 - dx, dy))),
        "bottom_left": nearest_colour(pixel(rgb, (dx, h - 1 - dy))),
        "bottom_right": nearest_colour(pixel(rgb, (w - 1 - dx, h - 1 - dy))),
    }


UPRIGHT_CORNERS = {
    "top_left": "red",
    "top_right": "green",
    "bottom_left": "blue",
    "bottom_right": "yellow",
}


def raw_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores so that a viewer honouring EXIF ``orientation`` shows
    ``upright`` (derived from the TIFF/EXIF definition of each value: where the stored
    0th row and 0th column lie in the visual image)."""
    builders = {
        1: lambda im: im,
        2: ImageOps.mirror,  # row 0 = top, column 0 = right
        3: lambda im: im.rotate(180),  # row 0 = bottom, column 0 = right
        4: ImageOps.flip,  # row 0 = bottom, column 0 = left
        5: lambda im: ImageOps.mirror(im.rotate(270, expand=True)),  # row 0 = left, col 0 = top
        6: lambda im: im.rotate(90, expand=True),  # row 0 = right, column 0 = top
        7: lambda im: ImageOps.mirror(im.rotate(90, expand=True)),  # row 0 = right, col 0 = bottom
        8: lambda im: im.rotate(270, expand=True),  # row 0 = left, column 0 = bottom
    }
    return builders[orientation](upright)


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def exif_with(orientation: int | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    exif[0x0132] = "2026:03:14 09:26:53"  # DateTime
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (41.0, 29.0, 31.5)
        gps_ifd[3] = "E"
        gps_ifd[4] = (2.0, 1.0, 57.25)
    return exif
