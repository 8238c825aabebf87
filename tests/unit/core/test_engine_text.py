from __future__ import annotations

import pytest

from handlers.engine import clean_text, fold, match_option

OPTIONS = [
    ["padro", "Alta o canvi de domicili al padró"],
    ["volant", "Volant d'empadronament"],
    ["conv", "Certificat de convivència"],
    ["t9", "9:00"],
    ["t930", "9:30"],
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2", "volant"),
        ("  3 ", "conv"),
        ("0", None),
        ("6", None),
        ("volant", "volant"),
        ("VOLANT D'EMPADRONAMENT", "volant"),
        ("certificat de convivencia", "conv"),  # accents optional
        ("convivencia", "conv"),  # a whole word inside the label
        ("9:00", "t9"),
        ("9:", None),  # too short to guess
        ("al", None),
        ("de", None),
        ("certificat d", "conv"),
        ("something else", None),
        ("", None),
    ],
)
def test_typed_answers_pick_an_option(typed: str, expected: str | None) -> None:
    assert match_option(typed, OPTIONS) == expected


def test_ambiguous_prefix_is_not_guessed() -> None:
    assert match_option("cert", [["a", "Certificat A"], ["b", "Certificat B"]]) is None


def test_fold_ignores_case_accents_and_punctuation() -> None:
    assert fold("  Cancel·la! ") == "cancel la"
    assert fold("AYUDA") == "ayuda"


def test_clean_text_drops_controls_and_bidi_overrides_and_caps_length() -> None:
    assert clean_text("a\u202eb\u0000c\nd\te") == "abc\nd\te"  # newline and tab stay
    assert len(clean_text("x" * 10_000)) == 2000
