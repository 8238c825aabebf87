"""Message catalogs (ca, es, en) and dates as people say them.

Catalogs are TOML files in handlers/locales: one key per message, `{name}` placeholders.
Every key must exist in every language (a test enforces it). Dates go through Babel.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

LANGUAGES = ("ca", "es", "en")
LANGUAGE_NAMES = {"ca": "Català", "es": "Castellano", "en": "English"}
_DAY_FORMAT = {"ca": "EEEE d MMMM", "es": "EEEE d 'de' MMMM", "en": "EEEE d MMMM"}
_SHORT_DAY_FORMAT = {"ca": "EEE d MMM", "es": "EEE d MMM", "en": "EEE d MMM"}


class MissingMessage(KeyError):
    pass


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(name + ".", value, out)
        else:
            out[name] = str(value)


@cache
def catalog(language: str) -> dict[str, str]:
    text = resources.files("handlers").joinpath("locales", f"{language}.toml").read_text("utf-8")
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(text), out)
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def normalise_language(code: str, default: str = "ca") -> str:
    """'ca-ES' -> 'ca'; an unknown language falls back to the default."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else default


def translate(language: str, key: str, **values: Any) -> str:
    messages = catalog(language if language in LANGUAGES else "en")
    if key not in messages:
        raise MissingMessage(f"{language}:{key}")
    return messages[key].format(**values) if values else messages[key]


def format_day(day: date, language: str) -> str:
    return format_date(day, _DAY_FORMAT[language], locale=language)


_DATE_FORMAT = {"ca": "d MMMM 'de' y", "es": "d 'de' MMMM 'de' y", "en": "d MMMM y"}


def format_date_long(day: date, language: str) -> str:
    """'1 de gener de 2026', '1 de enero de 2026', '1 January 2026' (with the year)."""
    return format_date(day, _DATE_FORMAT[language], locale=language)


def format_short_day(day: date, language: str) -> str:
    return format_date(day, _SHORT_DAY_FORMAT[language], locale=language)


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.hour}:{local.minute:02d}"


# The official time as people say it, where the zone has a common name.
_OFFICIAL_TIME = {"Europe/Madrid": "peninsula", "Atlantic/Canary": "canaries"}


def official_time(language: str, timezone: str) -> str:
    """'hora oficial peninsular' for Europe/Madrid; 'official time, <zone>' elsewhere."""
    key = _OFFICIAL_TIME.get(timezone, "other")
    return translate(language, f"official_time.{key}", timezone=timezone)


def format_when(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """'dimarts 3 de desembre a les 10:30' — local time, never UTC, never ISO."""
    local = moment.astimezone(tz)
    key = "when.at_one" if local.hour == 1 else "when.at"
    return translate(
        language, key, day=format_day(local.date(), language), time=format_time(local, tz)
    )
