from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.i18n import (
    LANGUAGES,
    catalog,
    format_day,
    format_when,
    normalise_language,
    placeholders,
    translate,
)

MADRID = ZoneInfo("Europe/Madrid")


def test_every_message_exists_in_every_language_with_the_same_placeholders() -> None:
    english = catalog("en")
    for language in LANGUAGES:
        messages = catalog(language)
        assert set(messages) == set(english), language
        for key, text in english.items():
            assert placeholders(messages[key]) == placeholders(text), f"{language}:{key}"
            assert messages[key].strip(), f"{language}:{key} is empty"


def test_every_key_used_in_the_code_exists() -> None:
    from pathlib import Path

    used: set[str] = set()
    for path in Path("handlers").glob("*.py"):
        used |= set(
            re.findall(
                r"""(?:t|translate)\((?:[a-z.]+, )?["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()
            )
        )
    assert used, "the scan found nothing; the pattern is wrong"
    missing = used - set(catalog("en"))
    assert not missing


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ca", "dimarts 1 de desembre a les 10:30"),
        ("es", "martes 1 de diciembre a las 10:30"),
        ("en", "Tuesday 1 December at 10:30"),
    ],
)
def test_dates_as_people_say_them(language: str, expected: str) -> None:
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 10:30 in Madrid (winter)
    assert format_when(moment, language, MADRID) == expected


def test_one_oclock_takes_the_singular_article() -> None:
    moment = datetime(2026, 12, 1, 0, 15, tzinfo=UTC)  # 1:15 in Madrid
    assert format_when(moment, "ca", MADRID).endswith("a la 1:15")
    assert format_when(moment, "es", MADRID).endswith("a la 1:15")


def test_catalan_elides_before_vowels() -> None:
    assert format_day(date(2026, 10, 6), "ca") == "dimarts 6 d’octubre"


def test_summer_time_is_local() -> None:
    moment = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 10:00 in Madrid (summer)
    assert format_when(moment, "en", MADRID).endswith("at 10:00")


@pytest.mark.parametrize(
    ("code", "expected"), [("ca-ES", "ca"), ("es", "es"), ("en_GB", "en"), ("fr", "ca"), ("", "ca")]
)
def test_client_language_codes(code: str, expected: str) -> None:
    assert normalise_language(code) == expected


def test_placeholders_are_filled() -> None:
    assert "VT-ABC" in translate("en", "my.cancelled", reference="VT-ABC")
