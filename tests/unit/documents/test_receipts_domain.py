"""domain.receipts: CSV codes, entry numbers and Receipt validation."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from domain.receipts import (
    CSV_ALPHABET,
    format_entry_number,
    is_csv_code,
    new_csv_code,
    normalize_csv_code,
)
from tests.unit.documents.test_receipt import sample_receipt


def test_csv_codes_are_grouped_readable_and_unique() -> None:
    codes = {new_csv_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert is_csv_code(code)
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4, 4]
        assert set(code.replace("-", "")) <= set(CSV_ALPHABET)
        assert not set(code) & set("ILOU")


def test_normalize_what_people_type() -> None:
    assert normalize_csv_code(" 7k3m 9pxq-a2hd t6wb rc4n ") == "7K3M-9PXQ-A2HD-T6WB-RC4N"
    assert normalize_csv_code("OIL0-0000-0000-0000-0000") == "0110-0000-0000-0000-0000"
    assert normalize_csv_code("7K3M-9PXQ") is None
    assert normalize_csv_code("7K3M-9PXQ-A2HD-T6WB-RC4U") is None  # U is not in the alphabet
    assert normalize_csv_code("<script>") is None


def test_entry_numbers() -> None:
    assert format_entry_number("VT", 2026, 123) == "VT/2026/000123"
    assert format_entry_number("REG", 2027, 1_234_567) == "REG/2027/1234567"
    with pytest.raises(ValueError):
        format_entry_number("VT", 2026, 0)
    with pytest.raises(ValueError):
        format_entry_number("vt/../", 2026, 1)


@pytest.mark.parametrize(
    "changes",
    [
        {"registered_at": dt.datetime(2026, 3, 14, 9, 0)},  # naive
        {"agreed_at": dt.datetime(2026, 3, 14, 9, 0)},
        {"language": "fr"},
        {"agreement_text_sha256": "abc"},
        {"documents": (("x.jpg", "Z" * 64),)},
        {"verify_url": "javascript:alert(1)"},
        {"entry_number": " "},
        {"csv_code": ""},
    ],
)
def test_receipt_rejects_inconsistent_data(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        sample_receipt(**changes)


def test_receipt_is_frozen() -> None:
    receipt = sample_receipt()
    with pytest.raises(dataclasses.FrozenInstanceError):
        receipt.citizen_name = "someone else"  # type: ignore[misc]
