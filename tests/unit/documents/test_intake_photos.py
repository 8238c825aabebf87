"""Photos: orientation, metadata stripping, formats, downscaling and quality hints."""

from __future__ import annotations

import hashlib
import io

import pillow_heif
import pytest
from PIL import Image, ImageFilter

from documents.intake import IntakeLimits, intake, sniff
from documents.quality import QUALITY_CODES, QualityThresholds, assess, measure
from tests.unit.documents.imaging import (
    UPRIGHT_CORNERS,
    corner_image,
    corners,
    document_image,
    encode,
    exif_with,
    grey,
    pixel,
    raw_for_orientation,
)


def stored_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    image.load()
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(orientation: int) -> None:
    upright = corner_image(400, 300)
    raw = raw_for_orientation(upright, orientation)
    data = encode(raw, "JPEG", quality=95, exif=exif_with(orientation))

    result = intake(data, "photo.jpg")

    image = stored_image(result.data)
    assert image.size == (400, 300) == (result.width, result.height)
    assert corners(image) == UPRIGHT_CORNERS
    assert not image.getexif()  # and the orientation tag is gone with the rest


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_orientation_from_png_and_webp_exif(fmt: str) -> None:
    raw = raw_for_orientation(corner_image(400, 300), 6)
    data = encode(raw, fmt, exif=exif_with(6))
    result = intake(data, f"photo.{fmt.lower()}")
    assert result.source_format == fmt.lower()
    assert corners(stored_image(result.data)) == UPRIGHT_CORNERS


def test_all_metadata_removed() -> None:
    data = encode(
        document_image(800, 600),
        "JPEG",
        quality=90,
        exif=exif_with(1, gps=True),
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>',
        comment=b"secret-comment",
        icc_profile=b"fake-icc-profile-from-PhoneModel",
    )
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(0x8825)[2] == (41.0, 29.0, 31.5)  # GPS really there

    result = intake(data, "photo.jpg")

    stored = stored_image(result.data)
    assert len(stored.getexif()) == 0
    assert not stored.getexif().get_ifd(0x8825)
    for key in ("exif", "xmp", "comment", "icc_profile", "photoshop"):
        assert key not in stored.info
    for needle in (
        b"Exif\x00\x00",
        b"secret-xmp",
        b"secret-comment",
        b"PhoneMaker",
        b"PhoneModel",
        b"fake-icc",
        b"2026:03:14",
    ):
        assert needle not in result.data
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.source_sha256 == hashlib.sha256(data).hexdigest()


def test_heic_accepted_upright_and_without_metadata() -> None:
    raw = raw_for_orientation(corner_image(400, 300), 6)
    heif = pillow_heif.from_pillow(raw)
    out = io.BytesIO()
    heif.save(out, quality=90, exif=exif_with(6, gps=True).tobytes())
    data = out.getvalue()
    assert sniff(data) == "heic"

    result = intake(data, "IMG_0001.HEIC")

    assert (result.kind, result.content_type, result.source_format) == (
        "image",
        "image/jpeg",
        "heic",
    )
    assert result.filename == "IMG_0001.jpg"
    image = stored_image(result.data)
    assert image.size == (400, 300)
    assert corners(image) == UPRIGHT_CORNERS
    assert len(image.getexif()) == 0
    assert b"PhoneMaker" not in result.data


def test_transparent_png_gets_a_white_background() -> None:
    image = Image.new("RGBA", (700, 500), (0, 0, 0, 0))
    image.paste((10, 10, 10, 255), (100, 100, 300, 200))
    result = intake(encode(image, "PNG"), "scan.png")
    stored = stored_image(result.data).convert("RGB")
    assert min(pixel(stored, (5, 5))) > 245  # was transparent: now white, not black
    assert max(pixel(stored, (200, 150))) < 30


def test_sixteen_bit_grey_png_keeps_its_tones() -> None:
    ramp = Image.linear_gradient("L").resize((600, 600)).convert("I").point(lambda v: v * 257)
    sixteen = ramp.convert("I;16")
    result = intake(encode(sixteen, "PNG"), "scan.png")
    stored = stored_image(result.data)
    assert grey(stored, (300, 5)) < 20 and grey(stored, (300, 590)) > 235


def test_big_photo_downscaled_to_long_side_limit() -> None:
    big = document_image(3000, 2000)
    result = intake(encode(big, "PNG"), "x.png")
    assert (result.width, result.height) == (2400, 1600)
    limits = IntakeLimits(max_long_side=1000, min_long_side=900)
    result = intake(encode(big, "JPEG", quality=90), "x.jpg", limits=limits)
    assert max(result.width or 0, result.height or 0) <= 1000
    assert max(result.width or 0, result.height or 0) >= 900


def test_large_jpeg_decoded_at_reduced_scale_within_bounds() -> None:
    result = intake(encode(document_image(4000, 3000), "JPEG", quality=85), "x.jpg")
    assert (result.width, result.height) == (2000, 1500)  # 1/2 scale decode, no resize
    assert result.warnings == ()


def test_small_photo_not_upscaled() -> None:
    result = intake(encode(document_image(900, 700), "JPEG"), "x.jpg")
    assert (result.width, result.height) == (900, 700)


def test_motion_photo_trailer_is_dropped_not_refused() -> None:
    data = encode(document_image(800, 600), "JPEG") + b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000
    result = intake(data, "PXL_motion.jpg")
    assert b"ftypmp42" not in result.data


# ------------------------------------------------------------------ quality hints


def test_good_photo_has_no_warnings() -> None:
    assert intake(encode(document_image(), "JPEG", quality=90), "x.jpg").warnings == ()


def test_too_small() -> None:
    result = intake(encode(document_image(400, 300), "JPEG", quality=90), "x.jpg")
    assert result.warnings == ("too_small",)


def test_too_dark() -> None:
    dark = document_image().point(lambda v: int(v * 0.18))
    assert intake(encode(dark, "JPEG", quality=90), "x.jpg").warnings == ("too_dark",)


def test_overexposed() -> None:
    washed = document_image().point(lambda v: min(255, int(120 + v * 1.2)))
    assert intake(encode(washed, "JPEG", quality=90), "x.jpg").warnings == ("overexposed",)


def test_blurred() -> None:
    blurred = document_image().filter(ImageFilter.GaussianBlur(5))
    assert intake(encode(blurred, "JPEG", quality=90), "x.jpg").warnings == ("blurred",)


def test_slight_blur_is_fine() -> None:
    soft = document_image().filter(ImageFilter.GaussianBlur(1))
    assert intake(encode(soft, "JPEG", quality=90), "x.jpg").warnings == ()


def test_warnings_never_reject_and_are_known_codes() -> None:
    tiny_dark_blurred = Image.new("RGB", (120, 90), (5, 5, 5))
    result = intake(encode(tiny_dark_blurred, "PNG"), "x.png")
    assert result.warnings == ("too_small", "too_dark", "blurred")
    assert set(result.warnings) <= set(QUALITY_CODES)


def test_thresholds_are_configurable() -> None:
    image = document_image()
    assert assess(image) == ()
    strict = QualityThresholds(dark_mean=200.0)
    assert assess(image, thresholds=strict) == ("too_dark",)
    assert measure(image).width == image.width
