from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import get_args
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


def test_every_reason_code_has_a_message() -> None:
    """Keys built at run time from codes (refusals, field errors, statuses...)."""
    from documents.intake import REJECTION_CODES
    from documents.quality import QUALITY_CODES
    from documents.receipt import OPTIONAL_LABEL_KEYS, RECEIPT_LABEL_KEYS
    from domain.appointments import Status
    from domain.identity import IdError, IdKind
    from domain.procedures import FieldError, FieldType

    expected = (
        [f"doc.rejected.{code}" for code in REJECTION_CODES]
        + [f"doc.quality.{code}" for code in QUALITY_CODES]
        + [f"doc.quality_short.{code}" for code in QUALITY_CODES]
        + [f"identity.error.{code.value}" for code in IdError]
        + [f"identity.kind.{kind.value}" for kind in IdKind]
        + [f"field.error.{code.value}" for code in FieldError]
        + [f"field.hint.{kind}" for kind in get_args(FieldType)]
        + [f"status.{status.value}" for status in Status]
        + [f"session.recording_failed.{r}" for r in ("busy", "refused", "unavailable")]
        + [f"panel.recording.{r}" for r in ("none", "started", "failed", "ingested")]
        + [f"panel.agreement.{a}" for a in ("none", "pending", "agreed", "declined")]
        + [f"receipt.{key}" for key in RECEIPT_LABEL_KEYS + OPTIONAL_LABEL_KEYS]
        + [f"identity.number.{kind.value}" for kind in IdKind]
        + [f"official_time.{zone}" for zone in ("peninsula", "canaries", "other")]
    )
    # The receipt's official time is said per time zone (official_time.*), not one label.
    expected.remove("receipt.official_time")
    for language in LANGUAGES:
        missing = [key for key in expected if key not in catalog(language)]
        assert not missing, (language, missing)
