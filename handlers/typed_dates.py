"""Days and times as people type them: "demà", "dijous", "mañana", "tomorrow", "3/12",
"3 de desembre", "18:00", "18h". Words of all three languages are understood whatever
the chat language, since people mix them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache

from babel.dates import get_day_names, get_month_names

from handlers.i18n import LANGUAGES

_RELATIVE = {
    0: ("avui", "hoy", "today"),
    1: ("dema", "manana", "tomorrow"),
    2: ("dema passat", "passat dema", "pasado manana", "day after tomorrow"),
}
_FILLERS = frozenset({"el", "la", "de", "del", "on", "the", "a", "les", "las", "at", "dia", "day"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w/:.\-]+", " ", plain).split())


def _words(text: str) -> str:
    return " ".join(w for w in _fold(text).replace(".", " ").split() if w not in _FILLERS)


@cache
def _weekdays() -> dict[str, int]:
    """Every wide and abbreviated weekday name (folded) → Monday=0 … Sunday=6."""
    names: dict[str, int] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for number, name in get_day_names(width, locale=language).items():
                names[_words(name)] = number
    return names


@cache
def _months() -> dict[str, int]:
    names: dict[str, int] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=language).items():
                folded = _words(name)
                for prefix in ("de ", "d'", "d "):
                    folded = folded.removeprefix(prefix)
                names[folded] = number
    return names


def _explicit(text: str, today: date) -> date | None:
    """3/12, 03-12-2026, 3.12, 3 de desembre, December 3: the next such date from today."""
    numeric = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?", _fold(text))
    if numeric:
        day, month = int(numeric.group(1)), int(numeric.group(2))
        year = numeric.group(3)
        return _dated(day, month, int(year) if year else None, today)
    words = _words(text).replace("d'", "").split()
    numbers = [int(w) for w in words if w.isdigit() and len(w) <= 2]
    months = [_months()[w] for w in words if w in _months()]
    if len(numbers) == 1 and len(months) == 1:
        return _dated(numbers[0], months[0], None, today)
    return None


def _dated(day: int, month: int, year: int | None, today: date) -> date | None:
    if year is not None and year < 100:
        year += 2000
    try:
        found = date(year or today.year, month, day)
        if year is None and found < today:
            found = date(today.year + 1, month, day)
    except ValueError:
        return None
    return found


def typed_day(text: str, today: date) -> date | int | None:
    """A date, a weekday number (0 = Monday) when only the weekday was named, or None."""
    words = _words(text)
    for offset, said in _RELATIVE.items():
        if words in said:
            return today + timedelta(days=offset)
    if words in _weekdays():
        return _weekdays()[words]
    return _explicit(text, today)


def pick_day(text: str, today: date, free: Sequence[date]) -> tuple[date | None, bool]:
    """(the day meant, whether it has free times); (None, False) when no day was named."""
    meant = typed_day(text, today)
    if meant is None:
        return None, False
    if isinstance(meant, int):
        same = [d for d in free if d.weekday() == meant]
        if same:
            return same[0], True
        ahead = (meant - today.weekday()) % 7
        return today + timedelta(days=ahead), False
    return meant, meant in free


def typed_time(text: str) -> tuple[int, int] | None:
    """18:00, 18.00, 18h, 18h30, 18 h, 9 → (hour, minute)."""
    found = re.fullmatch(r"(\d{1,2})(?:\s*[:h]?\s*(\d{2}))?\s*h?", _words(text))
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    return (hour, minute) if hour < 24 and minute < 60 else None
