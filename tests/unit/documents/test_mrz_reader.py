"""Reading zones from synthesised photos with the real Tesseract binary (Debian
tesseract-ocr, installed by scripts/test-services.sh) and the vendored MRZ model."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image, ImageDraw

from documents.mrz_reader import Hint, MrzPhoto, PhotoStatus, Tesseract, read_identity_photo
from domain.identity import IdKind, IdNumber
from domain.mrz import DocumentType, compose_td1, name_field, read_mrz
from tests.identity_cards import (
    Td1,
    Td3,
    card_back,
    card_front,
    not_a_document,
    passport_page,
    phone_photo,
    png,
)

TODAY = date(2026, 11, 30)


def _read(data: bytes) -> MrzPhoto:
    return read_identity_photo(data)


def test_a_clean_dni_back_is_read_exactly() -> None:
    result = _read(png(card_back()))
    assert result.status is PhotoStatus.READ and result.hint is None
    assert result.reading == read_mrz(Td1().lines())
    reading = result.reading
    assert reading.document_type is DocumentType.DNI
    assert reading.document_number == "BXA184732"
    assert reading.id_number == IdNumber(IdKind.DNI, "12345678Z")
    assert reading.expiry == date(2031, 5, 22) and reading.valid


@pytest.mark.parametrize(
    ("angle", "blur", "glare", "card_width"),
    [
        (3, 1.0, False, None),
        (-5, 1.5, False, None),
        (7, 1.2, False, None),
        (5, 1.0, True, None),
        (-4, 0.8, True, 600),
    ],
)
def test_a_phone_photo_of_a_dni_back_is_read_exactly(
    angle: float, blur: float, glare: bool, card_width: int | None
) -> None:
    photo = phone_photo(card_back(), angle=angle, blur=blur, glare=glare, card_width=card_width)
    result = _read(photo)
    assert result.status is PhotoStatus.READ
    assert result.reading == read_mrz(Td1().lines())


def test_a_phone_photo_of_a_passport_page_is_read_with_the_holders_dni() -> None:
    result = _read(phone_photo(passport_page(), angle=-4, blur=1.2))
    assert result.status is PhotoStatus.READ and result.reading is not None
    assert result.reading == read_mrz(Td3().lines())
    assert result.reading.document_type is DocumentType.PASSPORT
    assert result.reading.document_number == "PAB123456"
    assert result.reading.id_number == IdNumber(IdKind.DNI, "87654321X")


def test_a_tie_is_read_with_its_nie() -> None:
    tie = Td1(
        document_number="E01234567",
        optional_data="X1111111G",
        document_code="IR",
        nationality="MAR",
    )
    result = _read(phone_photo(card_back(tie), angle=2))
    assert result.reading is not None
    assert result.reading.document_type is DocumentType.TIE
    assert result.reading.id_number == IdNumber(IdKind.NIE, "X1111111G")
    assert result.reading.valid


def test_a_wrong_check_digit_is_read_and_reported() -> None:
    first, second, third = Td1().lines()
    wrong = second[:14] + "9" + second[15:]  # the expiry's check digit is 7
    result = _read(phone_photo(card_back(lines=(first, wrong, third)), angle=3))
    assert result.status is PhotoStatus.READ and result.reading is not None
    assert "expiry" in result.reading.failed_checks
    assert not result.reading.valid


def test_an_expired_card_is_read_and_knows_it_expired() -> None:
    result = _read(phone_photo(card_back(Td1(expiry="240105")), angle=-2))
    assert result.reading is not None and result.reading.valid
    assert result.reading.expiry == date(2024, 1, 5)
    assert result.reading.expired(TODAY)


def test_a_sideways_photo_is_turned_by_its_exif_orientation() -> None:
    photo = Image.open(io.BytesIO(phone_photo(card_back(), angle=2)))
    stored = photo.rotate(90, expand=True)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif)
    result = _read(out.getvalue())
    assert result.reading == read_mrz(Td1().lines())


def test_the_front_side_is_recognised_and_the_back_asked_for() -> None:
    result = _read(phone_photo(card_front(), angle=3))
    assert result.status is PhotoStatus.FRONT_SIDE
    assert result.hint is Hint.BACK_SIDE and result.reading is None


def test_a_photo_of_something_else_asks_for_the_whole_document() -> None:
    result = _read(phone_photo(not_a_document(), angle=0))
    assert result.status is PhotoStatus.NOT_FOUND
    assert result.hint is Hint.WHOLE_CARD


def test_a_card_cut_by_the_frame_asks_for_the_whole_card() -> None:
    card = card_back()
    half = card.crop((0, 0, card.width * 55 // 100, card.height))  # the right part missing
    photo = phone_photo(half, angle=0, canvas=(700, 800))
    result = _read(photo)
    assert result.status in (PhotoStatus.UNREADABLE, PhotoStatus.NOT_FOUND)
    assert result.hint is Hint.WHOLE_CARD


def test_a_reflection_that_burns_out_the_zone_asks_to_avoid_glare() -> None:
    card = card_back()
    ImageDraw.Draw(card).ellipse((250, 380, 650, 560), fill=(255, 255, 255))
    result = _read(phone_photo(card, angle=2, uneven=False))
    assert result.reading is None and result.hint is Hint.GLARE


def test_a_blurred_zone_asks_to_hold_still() -> None:
    result = _read(phone_photo(card_back(), angle=2, blur=3.5))
    assert result.status is PhotoStatus.UNREADABLE and result.hint is Hint.HOLD_STILL


def test_a_card_far_away_asks_to_come_closer() -> None:
    result = _read(phone_photo(card_back(), angle=2, card_width=260))
    assert result.status is PhotoStatus.UNREADABLE and result.hint is Hint.CLOSER


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0broken"])
def test_bytes_that_are_no_image_are_not_found(data: bytes) -> None:
    assert _read(data) == MrzPhoto(PhotoStatus.NOT_FOUND, hint=Hint.WHOLE_CARD)


def test_without_the_tesseract_binary_the_reading_is_unavailable() -> None:
    ocr = Tesseract(binary="/nonexistent/tesseract")
    result = read_identity_photo(png(card_back()), ocr=ocr)
    assert result == MrzPhoto(PhotoStatus.UNAVAILABLE)


def test_a_tesseract_that_takes_too_long_is_stopped() -> None:
    ocr = Tesseract(timeout=0.001)
    result = read_identity_photo(png(card_back()), ocr=ocr)
    assert result == MrzPhoto(PhotoStatus.UNAVAILABLE)


def test_the_result_holds_no_raw_zone_text_birth_date_or_name() -> None:
    lines = compose_td1(
        document_code="ID",
        issuing_state="ESP",
        document_number="BXA184732",
        optional_data="12345678Z",
        birth_date="850314",
        sex="F",
        expiry="310522",
        nationality="ESP",
        name=name_field("MUÑOZ GARCÍA", "MARÍA JOSÉ"),
    )
    result = _read(png(card_back(lines=lines)))
    kept = repr(result)
    assert result.reading is not None
    for secret in (*lines, "850314", "MUNOZ", "MARIA", "8503149F"):
        assert secret not in kept
