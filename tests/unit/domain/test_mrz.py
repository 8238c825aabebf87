"""Doc 9303 zones: check digits, classes, filler runs, Spanish layouts (reference/identity.md)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from domain.identity import IdKind, IdNumber
from domain.mrz import (
    DocumentType,
    MrzError,
    MrzFormat,
    check_digit,
    compose_td1,
    compose_td3,
    name_field,
    read_mrz,
)

# The official DNI 3.0 specimen and the PRADO passport specimen (identity.md §2.1, §2.3).
SPECIMEN_DNI = (
    "IDESPBAA000589599999999R<<<<<<",
    "8001014F2501017ESP<<<<<<<<<<<7",
    "ESPANOLA<ESPANOLA<<CARMEN<<<<<",
)
SPECIMEN_PASSPORT_LINE2 = "ZAB0002549ESP8001014F2501017A9999999900<<<44"
# The probe's fictional DNI (identity.md §3.2).
PROBE = (
    "IDESPBXA184732112345678Z<<<<<<",
    "8503149F3105227ESP<<<<<<<<<<<3",
    "MUNOZ<GARCIA<<MARIA<JOSE<<<<<<",
)


def _set(lines: tuple[str, ...], row: int, position: int, char: str) -> list[str]:
    """`lines` with one character changed (0-based position)."""
    out = list(lines)
    out[row] = out[row][:position] + char + out[row][position + 1 :]
    return out


@pytest.mark.parametrize(
    ("text", "digit"), [("520727", "3"), ("AB2134<<<", "5"), ("BAA000589", "5"), ("<<<", "0")]
)
def test_check_digit_vectors(text: str, digit: str) -> None:
    assert check_digit(text) == digit


def test_check_digit_refuses_characters_outside_the_zone_alphabet() -> None:
    with pytest.raises(ValueError):
        check_digit("12a")


def test_the_dni_specimen_is_read_with_the_support_number_apart_from_the_dni() -> None:
    reading = read_mrz(SPECIMEN_DNI)
    assert reading.format is MrzFormat.TD1
    assert reading.document_type is DocumentType.DNI
    assert reading.document_code == "ID" and reading.issuing_state == "ESP"
    assert reading.document_number == "BAA000589"  # the support number, not the DNI
    assert reading.id_number == IdNumber(IdKind.DNI, "99999999R")
    assert reading.expiry == date(2025, 1, 1) and not reading.permanent
    assert reading.nationality == "ESP"
    assert reading.valid and reading.check_digits_ok and reading.id_letter_ok
    assert reading.corrected == 0


def test_composing_reproduces_the_specimens() -> None:
    assert (
        compose_td1(
            document_code="ID",
            issuing_state="ESP",
            document_number="BAA000589",
            optional_data="99999999R",
            birth_date="800101",
            sex="F",
            expiry="250101",
            nationality="ESP",
            name=name_field("ESPAÑOLA ESPAÑOLA", "CARMEN"),
        )
        == SPECIMEN_DNI
    )
    _, second = compose_td3(
        issuing_state="ESP",
        document_number="ZAB000254",
        personal_number="A9999999900",
        birth_date="800101",
        sex="F",
        expiry="250101",
        nationality="ESP",
        name=name_field("ESPAÑOLA ESPAÑOLA", "CARMEN"),
    )
    assert second == SPECIMEN_PASSPORT_LINE2
    assert name_field("MUÑOZ GARCÍA", "MARÍA JOSÉ") == "MUNOZ<GARCIA<<MARIA<JOSE"


def test_the_passport_specimen_has_no_dni_in_its_personal_number() -> None:
    first = "P<ESPESPANOLA<ESPANOLA<<CARMEN<<<<<<<<<<<<<<"
    reading = read_mrz([first, SPECIMEN_PASSPORT_LINE2])
    assert reading.format is MrzFormat.TD3
    assert reading.document_type is DocumentType.PASSPORT
    assert reading.document_number == "ZAB000254"
    assert reading.id_number is None and reading.id_letter_ok is None
    assert reading.valid


def test_a_passport_with_the_holders_dni_gives_it_checked() -> None:
    lines = compose_td3(
        issuing_state="ESP",
        document_number="PAB123456",
        personal_number="87654321X",
        birth_date="900720",
        sex="M",
        expiry="330115",
        nationality="ESP",
        name=name_field("PUJOL", "JOAN"),
    )
    reading = read_mrz(lines)
    assert reading.id_number == IdNumber(IdKind.DNI, "87654321X")
    assert reading.valid
    wrong_letter = compose_td3(
        issuing_state="ESP",
        document_number="PAB123456",
        personal_number="87654321A",
        birth_date="900720",
        sex="M",
        expiry="330115",
        nationality="ESP",
        name=name_field("PUJOL", "JOAN"),
    )
    reading = read_mrz(wrong_letter)
    assert reading.check_digits_ok  # the digits were computed over the wrong letter
    assert reading.id_letter_ok is False and reading.id_number is None
    assert not reading.valid


def test_a_tie_gives_the_nie_from_the_optional_data() -> None:
    lines = compose_td1(
        document_code="IR",
        issuing_state="ESP",
        document_number="E01234567",
        optional_data="X1111111G",
        birth_date="880203",
        sex="M",
        expiry="290610",
        nationality="MAR",
        name=name_field("EL AMRANI", "YOUSSEF"),
    )
    reading = read_mrz(lines)
    assert reading.document_type is DocumentType.TIE
    assert reading.document_number == "E01234567"
    assert reading.id_number == IdNumber(IdKind.NIE, "X1111111G")
    assert reading.nationality == "MAR"
    assert reading.valid


def test_a_pre_2006_dni_carries_the_dni_as_its_document_number() -> None:
    lines = compose_td1(
        document_code="ID",
        issuing_state="ESP",
        document_number="12345678Z",
        optional_data="",
        birth_date="500101",
        sex="M",
        expiry="990101",
        nationality="ESP",
        name=name_field("ROCA", "PERE"),
    )
    reading = read_mrz(lines)
    assert reading.document_type is DocumentType.DNI
    assert reading.id_number == IdNumber(IdKind.DNI, "12345678Z")
    # A DNI for life: year 99 cannot be 1999 on a card still in use.
    assert reading.permanent and reading.expiry == date(9999, 1, 1)
    assert not reading.expired(date(2026, 11, 30))


def test_another_countrys_card_has_no_dni() -> None:
    lines = compose_td1(
        document_code="ID",
        issuing_state="FRA",
        document_number="X4RTBPFW4",
        optional_data="",
        birth_date="900101",
        sex="F",
        expiry="300101",
        nationality="FRA",
        name=name_field("MARTIN", "CLAIRE"),
    )
    reading = read_mrz(lines)
    assert reading.document_type is DocumentType.ID_CARD
    assert reading.id_number is None and reading.id_letter_ok is None
    assert reading.valid


@pytest.mark.parametrize(
    ("row", "position", "field"),
    [
        (0, 14, "document_number"),
        (1, 6, "birth_date"),
        (1, 14, "expiry"),
        (1, 29, "composite"),
    ],
)
def test_each_wrong_check_digit_is_named(row: int, position: int, field: str) -> None:
    printed = PROBE[row][position]
    wrong = str((int(printed) + 3) % 10)
    reading = read_mrz(_set(PROBE, row, position, wrong))
    assert field in reading.failed_checks
    assert not reading.check_digits_ok and not reading.valid


def test_a_k_read_in_a_filler_run_passes_every_check_digit_but_not_the_layout() -> None:
    # `<` and `K` both weigh 0 mod 10: only the filler rule sees this misread.
    reading = read_mrz(_set(PROBE, 0, 26, "K"))
    assert reading.check_digits_ok
    assert "optional_data" in reading.layout_errors
    assert not reading.valid
    in_name = read_mrz(_set(PROBE, 2, 27, "K"))
    assert in_name.check_digits_ok and "name" in in_name.layout_errors


def test_a_filler_read_in_a_date_passes_its_check_digit_but_not_its_class() -> None:
    # "850314" with its `0` read as `<`: same weight, so the check digit still holds.
    reading = read_mrz(_set(PROBE, 1, 2, "<"))
    assert reading.check_digits_ok
    assert "birth_date" in reading.layout_errors


def test_a_sex_outside_f_m_x_or_filler_is_a_layout_error() -> None:
    # The sex is covered by no check digit at all.
    assert "sex" in read_mrz(_set(PROBE, 1, 7, "K")).layout_errors


def test_a_wrong_dni_letter_is_caught_even_with_a_matching_composite() -> None:
    lines = compose_td1(
        document_code="ID",
        issuing_state="ESP",
        document_number="BXA184732",
        optional_data="12345678A",
        birth_date="850314",
        sex="F",
        expiry="310522",
        nationality="ESP",
        name=name_field("MUNOZ", "MARIA"),
    )
    reading = read_mrz(lines)
    assert reading.check_digits_ok
    assert reading.id_letter_ok is False and reading.id_number is None
    assert not reading.valid


def test_look_alikes_are_fixed_only_where_the_position_allows_one_of_them() -> None:
    # O for 0 in the birth date, Z for 2... and a `2` where the DNI letter belongs.
    text = _set(PROBE, 1, 2, "O")
    text = _set(tuple(text), 0, 23, "2")
    reading = read_mrz(text)
    assert reading.valid
    assert reading.id_number == IdNumber(IdKind.DNI, "12345678Z")


def test_one_misread_in_the_support_number_is_repaired_when_both_checks_confirm() -> None:
    reading = read_mrz(_set(PROBE, 0, 5, "8"))  # B read as 8
    assert reading.document_number == "BXA184732"
    assert reading.corrected == 1 and reading.valid


def test_a_swap_the_check_digits_cannot_see_is_not_repaired() -> None:
    # G and 6 weigh the same: no check digit can confirm which one is right.
    support = _set(PROBE, 0, 6, "G")  # X -> G changes the check: not repairable
    reading = read_mrz(support)
    assert not reading.valid and reading.corrected == 0


def test_a_lost_or_doubled_filler_and_stray_specks_are_fitted() -> None:
    lines = [PROBE[0][:-1], PROBE[1] + "<", "I" + PROBE[2]]
    reading = read_mrz(lines)
    assert reading.valid
    assert reading == read_mrz(PROBE)


def test_ocr_noise_around_the_zone_is_ignored() -> None:
    raw = ["DOMICILIO", "C MAJOR 12", "", " ".join(PROBE[0]), PROBE[1], PROBE[2].lower(), ""]
    assert read_mrz(raw) == read_mrz(PROBE)


@pytest.mark.parametrize(
    "raw", [[], ["HELLO"], ["IDESP<<<", "123"], [PROBE[0], PROBE[1]], ["X" * 44]]
)
def test_text_that_is_no_zone_is_refused(raw: list[str]) -> None:
    with pytest.raises(MrzError):
        read_mrz(raw)


def test_expiry_is_valid_through_its_day() -> None:
    reading = read_mrz(PROBE)  # expires 22 May 2031
    assert not reading.expired(date(2031, 5, 22))
    assert reading.expired(date(2031, 5, 23))


def test_birth_date_and_sex_are_not_kept() -> None:
    reading = read_mrz(PROBE)
    kept = repr(reading)
    assert "850314" not in kept and "1985" not in kept
    assert "MUNOZ" not in kept and "MARIA" not in kept
    assert not hasattr(reading, "birth_date") and not hasattr(reading, "sex")


def test_random_fictional_documents_round_trip() -> None:
    rnd = random.Random(9303)
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    for _ in range(200):
        dni = rnd.randint(0, 99_999_999)
        number = f"{dni:08d}{letters[dni % 23]}"
        expiry = f"{rnd.randint(26, 40):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        birth = f"{rnd.randint(0, 99):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        support = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        support += f"{rnd.randint(0, 999_999):06d}"
        td1 = compose_td1(
            document_code="ID",
            issuing_state="ESP",
            document_number=support,
            optional_data=number,
            birth_date=birth,
            sex=rnd.choice("FM"),
            expiry=expiry,
            nationality="ESP",
            name=name_field("GARCIA", "ANNA"),
        )
        reading = read_mrz(td1)
        assert reading.valid, td1
        assert reading.document_number == support
        assert reading.id_number == IdNumber(IdKind.DNI, number)
        td3 = compose_td3(
            issuing_state="ESP",
            document_number=support,
            personal_number=number,
            birth_date=birth,
            sex="F",
            expiry=expiry,
            nationality="ESP",
            name=name_field("GARCIA", "ANNA"),
        )
        assert read_mrz(td3).valid, td3
