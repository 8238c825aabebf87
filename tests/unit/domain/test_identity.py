from __future__ import annotations

import pytest

from domain.identity import (
    IdError,
    IdKind,
    IdNumber,
    InvalidIdNumber,
    detect_kind,
    mask_id,
    validate_id,
)

# Vectors from reference/domain.md section 3.
VALID = [
    ("12345678Z", IdKind.DNI),
    ("47776371N", IdKind.DNI),
    ("87654321X", IdKind.DNI),
    ("11111111H", IdKind.DNI),
    ("22222222J", IdKind.DNI),
    ("X1111111G", IdKind.NIE),
    ("X2222222P", IdKind.NIE),
    ("Y1234567X", IdKind.NIE),
    ("Z7654321H", IdKind.NIE),
]


@pytest.mark.parametrize(("number", "kind"), VALID)
def test_reference_vectors_are_valid(number: str, kind: IdKind) -> None:
    assert validate_id(number) == IdNumber(kind, number)
    assert validate_id(number, kind) == IdNumber(kind, number)
    assert validate_id(number, kind.value).kind is kind


@pytest.mark.parametrize(("number", "kind"), VALID)
def test_every_other_check_letter_is_refused(number: str, kind: IdKind) -> None:
    for letter in "TRWAGMYFPDXBNJZSQVHLCKE":
        if letter == number[-1]:
            continue
        with pytest.raises(InvalidIdNumber) as caught:
            validate_id(number[:-1] + letter)
        assert caught.value.reason is IdError.BAD_CHECK_LETTER
        assert caught.value.reason == "bad_check_letter"
        assert caught.value.kind is kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678z", "12345678Z"),
        (" 12.345.678-Z ", "12345678Z"),
        ("x 1111111 g", "X1111111G"),
        ("x-2222222-p", "X2222222P"),
        ("X02222222P", "X2222222P"),  # old 8-digit NIE with a leading zero
    ],
)
def test_typing_variations_are_tolerated(raw: str, expected: str) -> None:
    assert validate_id(raw).number == expected


def test_dni_without_leading_zero() -> None:
    # 01234567 mod 23 = 19 -> L
    assert validate_id("1234567L") == IdNumber(IdKind.DNI, "01234567L")


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        ("", None, IdError.EMPTY),
        ("   ", None, IdError.EMPTY),
        ("12345678", None, IdError.MISSING_CHECK_LETTER),
        ("X1111111", None, IdError.MISSING_CHECK_LETTER),
        ("123456789Z", IdKind.DNI, IdError.BAD_FORMAT),
        ("1234Z", IdKind.DNI, IdError.BAD_FORMAT),
        ("X1111111G", IdKind.DNI, IdError.BAD_FORMAT),
        ("12345678Z", IdKind.NIE, IdError.BAD_FORMAT),
        ("W1111111G", IdKind.NIE, IdError.BAD_FORMAT),
        ("X12345678Z", IdKind.NIE, IdError.BAD_FORMAT),
        ("AB", IdKind.PASSPORT, IdError.BAD_FORMAT),
        ("ABCDEFG", None, IdError.BAD_FORMAT),  # passports have digits
        ("A" * 20 + "1", None, IdError.BAD_FORMAT),
        ("PAA12345Ñ", None, IdError.BAD_FORMAT),
    ],
)
def test_invalid_numbers_give_a_reason(raw: str, kind: IdKind | None, reason: IdError) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        validate_id(raw, kind)
    assert caught.value.reason is reason


def test_passports() -> None:
    assert validate_id("paa123456") == IdNumber(IdKind.PASSPORT, "PAA123456")
    assert validate_id("533 380 006", IdKind.PASSPORT) == IdNumber(IdKind.PASSPORT, "533380006")
    # An 8-digit number is read as a DNI without its letter unless the kind is given.
    assert validate_id("12345678", IdKind.PASSPORT).kind is IdKind.PASSPORT


def test_detect_kind() -> None:
    assert detect_kind("x1111111g") is IdKind.NIE
    assert detect_kind("12345678Z") is IdKind.DNI
    assert detect_kind("12345678") is IdKind.DNI
    assert detect_kind("PAA123456") is IdKind.PASSPORT


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("12345678Z", "****5678Z"),
        ("12.345.678-z", "****5678Z"),
        ("X1111111G", "****1111G"),
        (IdNumber(IdKind.NIE, "Y1234567X"), "****4567X"),
        ("PAA123456", "*****3456"),
        ("AB12", "****12"),
        ("", "****"),
        ("garbage!", "****AGE!"),
    ],
)
def test_mask_shows_at_most_the_last_four_and_the_letter(
    value: IdNumber | str, masked: str
) -> None:
    assert mask_id(value) == masked


def test_masked_property_never_reveals_the_whole_number() -> None:
    for number, _ in VALID:
        masked = validate_id(number).masked
        assert masked == "*" * (len(number) - 5) + number[-5:]
