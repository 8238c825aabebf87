"""Synthesised identity documents with fictional data, drawn with Pillow in OCR-B.

A TD1 card back (DNI-like, TIE-like), a card front without a zone, a TD3 passport data
page, and `phone_photo` to make any of them look like a phone took it: on a table,
rotated a few degrees, uneven light, optional glare, slight blur, JPEG quality 70.
Used by the reader's tests, the e2e tests and the benchmark. Nothing here is real data.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from domain.mrz import compose_td1, compose_td3, name_field

OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")  # Debian fonts-ocr-b
SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SANS_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default()


@dataclass(frozen=True)
class Td1:
    """A Spanish card's zone: DNI by default; `optional_data` a NIE makes a TIE."""

    document_number: str = "BXA184732"  # the support number
    optional_data: str = "12345678Z"  # the DNI (or the NIE)
    birth_date: str = "850314"
    sex: str = "F"
    expiry: str = "310522"
    nationality: str = "ESP"
    surnames: str = "MUÑOZ GARCÍA"
    given: str = "MARÍA JOSÉ"
    issuing_state: str = "ESP"
    document_code: str = "ID"

    def lines(self) -> tuple[str, str, str]:
        return compose_td1(
            document_code=self.document_code,
            issuing_state=self.issuing_state,
            document_number=self.document_number,
            optional_data=self.optional_data,
            birth_date=self.birth_date,
            sex=self.sex,
            expiry=self.expiry,
            nationality=self.nationality,
            name=name_field(self.surnames, self.given),
        )


@dataclass(frozen=True)
class Td3:
    document_number: str = "PAB123456"
    personal_number: str = "87654321X"  # the holder's DNI
    birth_date: str = "900720"
    sex: str = "M"
    expiry: str = "330115"
    nationality: str = "ESP"
    surnames: str = "PUJOL FERRER"
    given: str = "JOAN"
    issuing_state: str = "ESP"

    def lines(self) -> tuple[str, str]:
        return compose_td3(
            issuing_state=self.issuing_state,
            document_number=self.document_number,
            personal_number=self.personal_number,
            birth_date=self.birth_date,
            sex=self.sex,
            expiry=self.expiry,
            nationality=self.nationality,
            name=name_field(self.surnames, self.given),
        )


def _mrz(
    image: Image.Image,
    lines: tuple[str, ...],
    *,
    left: int,
    top: int,
    pitch: float,
    line_pitch: float,
    cap: int,
) -> None:
    """Draw the zone one character per cell of the fixed 2.54 mm pitch."""
    draw = ImageDraw.Draw(image)
    font = _font(OCR_B, 10)
    if isinstance(font, ImageFont.FreeTypeFont):  # size the font for the cap height asked
        box = font.getbbox("H")
        font = _font(OCR_B, round(10 * cap / (box[3] - box[1])))
    for row, line in enumerate(lines):
        y = top + row * line_pitch
        for col, char in enumerate(line):
            x = left + col * pitch
            draw.text((x + pitch / 2, y), char, font=font, fill=(25, 25, 30), anchor="ms")


def _guilloche(image: Image.Image, seed: int, colour: tuple[int, int, int]) -> None:
    """Fine security-print waves, light enough not to be text."""
    draw = ImageDraw.Draw(image)
    rnd = random.Random(seed)
    width, height = image.size
    for wave in range(14):
        phase, amplitude = rnd.random() * 6.28, height * (0.03 + 0.05 * rnd.random())
        base = height * (wave + 0.5) / 14
        points = [
            (x, base + amplitude * math.sin(x / width * 9 + phase)) for x in range(0, width, 6)
        ]
        draw.line(points, fill=colour, width=1)


def card_back(
    doc: Td1 | None = None, *, width: int = 1000, lines: tuple[str, ...] | None = None
) -> Image.Image:
    """The back of an ID-1 card (85.6 × 54 mm): address block, chip, and the zone
    (`lines` prints another zone than `doc`'s, e.g. one with a wrong check digit)."""
    doc = doc or Td1()
    scale = width / 85.6  # pixels per mm
    height = round(54 * scale)
    card = Image.new("RGB", (width, height), (232, 236, 228))
    _guilloche(card, 7, (205, 214, 206))
    draw = ImageDraw.Draw(card)
    small = _font(SANS, max(8, round(2.2 * scale)))
    label = _font(SANS, max(7, round(1.6 * scale)))
    for row, (key, value) in enumerate(
        [
            ("DOMICILIO", "C. MAJOR 12, 3R 2A"),
            ("", "SANT CUGAT DEL VALLES"),
            ("", "BARCELONA"),
            ("LUGAR DE NACIMIENTO", "GIRONA"),
            ("HIJA DE", "JOSEP / ANNA"),
        ]
    ):
        y = round((4 + row * 4.2) * scale)
        if key:
            draw.text((round(4.5 * scale), y), key, font=label, fill=(90, 90, 100))
        draw.text(
            (round(4.5 * scale), y + round(1.8 * scale)), value, font=small, fill=(30, 30, 40)
        )
    chip = (round(62 * scale), round(6 * scale), round(74 * scale), round(15 * scale))
    draw.rounded_rectangle(chip, radius=round(1.5 * scale), fill=(200, 170, 90))
    cap = round(2.5 * scale)  # OCR-B size 1: about 2.4 mm caps
    _mrz(
        card,
        lines or doc.lines(),
        left=round(4.7 * scale),
        top=round(37.5 * scale),
        pitch=2.54 * scale,
        line_pitch=4.5 * scale,
        cap=cap,
    )
    return card


def card_front(*, width: int = 1000) -> Image.Image:
    """The front of a DNI-like card: header, photo, names, the printed DNI; no zone."""
    scale = width / 85.6
    height = round(54 * scale)
    card = Image.new("RGB", (width, height), (236, 232, 222))
    _guilloche(card, 3, (214, 206, 196))
    draw = ImageDraw.Draw(card)
    header = _font(SANS_BOLD, round(3.2 * scale))
    draw.text((round(4 * scale), round(3 * scale)), "ESPAÑA", font=header, fill=(170, 30, 40))
    draw.text(
        (round(25 * scale), round(3.4 * scale)),
        "DOCUMENTO NACIONAL DE IDENTIDAD",
        font=_font(SANS_BOLD, round(2.6 * scale)),
        fill=(40, 40, 60),
    )
    draw.rectangle(
        (round(4 * scale), round(11 * scale), round(28 * scale), round(44 * scale)),
        fill=(150, 140, 130),
    )
    draw.ellipse(
        (round(9 * scale), round(15 * scale), round(23 * scale), round(31 * scale)),
        fill=(210, 180, 160),
    )
    label = _font(SANS, round(1.7 * scale))
    value = _font(SANS_BOLD, round(2.6 * scale))
    rows = [
        ("APELLIDOS", "MUÑOZ GARCÍA"),
        ("NOMBRE", "MARÍA JOSÉ"),
        ("SEXO  NACIONALIDAD", "F  ESP"),
        ("FECHA DE NACIMIENTO", "14 03 1985"),
        ("VALIDEZ", "22 05 2031"),
    ]
    for row, (key, text) in enumerate(rows):
        y = round((11 + row * 6.2) * scale)
        draw.text((round(31 * scale), y), key, font=label, fill=(90, 90, 100))
        draw.text((round(31 * scale), y + round(2 * scale)), text, font=value, fill=(20, 20, 30))
    draw.text((round(4 * scale), round(47 * scale)), "DNI 12345678Z", font=value, fill=(20, 20, 30))
    return card


def passport_page(doc: Td3 | None = None, *, width: int = 1250) -> Image.Image:
    """A TD3 data page (125 × 88 mm): photo, visual zone, the two-line zone."""
    doc = doc or Td3()
    scale = width / 125
    height = round(88 * scale)
    page = Image.new("RGB", (width, height), (228, 224, 236))
    _guilloche(page, 11, (208, 202, 222))
    draw = ImageDraw.Draw(page)
    draw.text(
        (round(6 * scale), round(4 * scale)),
        "PASAPORTE  PASSPORT",
        font=_font(SANS_BOLD, round(3 * scale)),
        fill=(60, 40, 80),
    )
    draw.rectangle(
        (round(6 * scale), round(12 * scale), round(36 * scale), round(52 * scale)),
        fill=(150, 140, 150),
    )
    label = _font(SANS, round(1.8 * scale))
    value = _font(SANS_BOLD, round(2.8 * scale))
    rows = [
        ("Apellidos / Surname", "PUJOL FERRER"),
        ("Nombre / Given names", "JOAN"),
        ("Nacionalidad / Nationality", "ESPAÑOLA"),
        ("Fecha de caducidad / Expiry", "15 01 2033"),
    ]
    for row, (key, text) in enumerate(rows):
        y = round((12 + row * 8) * scale)
        draw.text((round(40 * scale), y), key, font=label, fill=(90, 80, 100))
        draw.text((round(40 * scale), y + round(2.3 * scale)), text, font=value, fill=(20, 20, 30))
    cap = round(2.5 * scale)
    _mrz(
        page,
        doc.lines(),
        left=round(6.6 * scale),
        top=round(73 * scale),
        pitch=2.54 * scale,
        line_pitch=5.0 * scale,
        cap=cap,
    )
    return page


def not_a_document(width: int = 1400, height: int = 1000, seed: int = 5) -> Image.Image:
    """A photo of something else: sky, a hill, a house."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = ImageChops.multiply(image, Image.new("RGB", image.size, (140, 190, 250)))
    draw = ImageDraw.Draw(image)
    rnd = random.Random(seed)
    hill = [(x, height * 0.6 + 60 * math.sin(x / 180 + rnd.random())) for x in range(0, width, 20)]
    draw.polygon([*hill, (width, height), (0, height)], fill=(70, 130, 60))
    draw.rectangle((width * 0.55, height * 0.45, width * 0.75, height * 0.7), fill=(200, 170, 140))
    draw.polygon(
        [
            (width * 0.53, height * 0.46),
            (width * 0.65, height * 0.33),
            (width * 0.77, height * 0.46),
        ],
        fill=(150, 60, 50),
    )
    return image


def phone_photo(
    document: Image.Image,
    *,
    angle: float = 4.0,
    canvas: tuple[int, int] = (1400, 1000),
    card_width: int | None = None,
    blur: float = 1.0,
    glare: bool = False,
    uneven: bool = True,
    quality: int = 70,
    seed: int = 1,
) -> bytes:
    """`document` as a phone photographs it on a table: JPEG bytes."""
    rnd = random.Random(seed)
    if card_width is not None:
        document = document.resize(
            (card_width, round(document.height * card_width / document.width)),
            Image.Resampling.LANCZOS,
        )
    table = Image.effect_noise(canvas, 30).convert("RGB")
    table = ImageChops.multiply(table, Image.new("RGB", canvas, (150, 110, 80)))
    table = Image.blend(table, Image.new("RGB", canvas, (120, 90, 60)), 0.5)
    mask = Image.new("L", document.size, 255)
    turned = document.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    turned_mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = (canvas[0] - turned.width) // 2 + rnd.randint(-40, 40)
    y = (canvas[1] - turned.height) // 2 + rnd.randint(-30, 30)
    table.paste(turned, (x, y), turned_mask)
    photo = table
    if uneven:  # light from one side: a quarter darker on the far edge
        light = Image.linear_gradient("L").rotate(90 + rnd.uniform(-30, 30)).resize(canvas)
        light = light.point(lambda v: 170 + v * 85 // 255)
        photo = ImageChops.multiply(photo, Image.merge("RGB", (light, light, light)))
    if glare:  # a soft bright patch on the laminate, over part of the zone
        spot = Image.new("L", canvas, 0)
        cx = x + turned.width * rnd.uniform(0.35, 0.65)
        cy = y + turned.height * 0.78
        radius = turned.width * 0.14
        ImageDraw.Draw(spot).ellipse(
            (cx - radius, cy - radius * 0.6, cx + radius, cy + radius * 0.6), fill=160
        )
        spot = spot.filter(ImageFilter.GaussianBlur(radius * 0.5))
        photo = ImageChops.add(photo, Image.merge("RGB", (spot, spot, spot)))
    if blur:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    noise = Image.effect_noise(canvas, 10).convert("RGB")
    photo = Image.blend(photo, noise, 0.04)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def random_document(rnd: random.Random) -> Td1 | Td3:
    """A fictional DNI, TIE or passport with random numbers and dates."""
    dni = rnd.randint(10_000_000, 99_999_999)
    dni_text = f"{dni}{_LETTERS[dni % 23]}"
    birth = f"{rnd.randint(40, 99):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    expiry = f"{rnd.randint(27, 36):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    sex = rnd.choice("FM")
    surnames, given = rnd.choice(
        [
            ("GARCÍA LÓPEZ", "ANNA"),
            ("PUIG I SOLER", "JORDI"),
            ("NÚÑEZ", "LUCÍA"),
            ("FERNÁNDEZ RUIZ", "PAU MARC"),
        ]
    )
    kind = rnd.choice(["dni", "dni", "tie", "passport"])
    if kind == "passport":
        number = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        return Td3(
            document_number=f"{number}{rnd.randint(0, 999_999):06d}",
            personal_number=dni_text,
            birth_date=birth,
            sex=sex,
            expiry=expiry,
            surnames=surnames,
            given=given,
        )
    if kind == "tie":
        prefix = rnd.choice("XYZ")
        digits = rnd.randint(0, 9_999_999)
        letter = _LETTERS[("XYZ".index(prefix) * 10_000_000 + digits) % 23]
        nie = f"{prefix}{digits:07d}{letter}"
        return Td1(
            document_number=f"E{rnd.randint(0, 99_999_999):08d}",
            optional_data=nie,
            document_code="IR",
            nationality=rnd.choice(["MAR", "COL", "ITA", "CHN"]),
            birth_date=birth,
            sex=sex,
            expiry=expiry,
            surnames=surnames,
            given=given,
        )
    support = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
    return Td1(
        document_number=f"{support}{rnd.randint(0, 999_999):06d}",
        optional_data=dni_text,
        birth_date=birth,
        sex=sex,
        expiry=expiry,
        surnames=surnames,
        given=given,
    )


def render(doc: Td1 | Td3) -> Image.Image:
    return card_back(doc) if isinstance(doc, Td1) else passport_page(doc)


def phone_set(count: int = 20, seed: int = 15) -> list[tuple[bytes, tuple[str, ...]]]:
    """Phone-like photos of random fictional documents, with what their zones say:
    rotated up to 7°, some with glare, some with the card only 600 px wide."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        doc = random_document(rnd)
        photo = phone_photo(
            render(doc),
            angle=rnd.uniform(-7, 7),
            card_width=600 if i % 4 == 1 else None,
            glare=i % 3 == 0,
            blur=rnd.uniform(0.6, 1.4),
            seed=seed * 100 + i,
        )
        out.append((photo, doc.lines()))
    return out
