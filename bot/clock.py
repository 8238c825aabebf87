"""The clocks behind handlers.ports.Clock.

`SystemClock` is the only code in the project that reads the wall clock: bot/app.py builds
it when no clock is passed in, and hands that one clock to everything that needs the time.
Everything else is given the moment, so the demo and the tests can run at any instant and
move time forward with `ManualClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The machine's time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until it is moved: the demo's script and the tests drive it."""

    def __init__(self, start: datetime) -> None:
        self._current = _aware(start)

    def now(self) -> datetime:
        return self._current

    def set(self, moment: datetime) -> None:
        self._current = _aware(moment)

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``, e.g. ``advance(minutes=45)``."""
        self._current += timedelta(**delta)


def _aware(moment: datetime) -> datetime:
    # The database and the rules compare aware instants; a naive one would either raise
    # deep inside a query or silently be read as some other zone.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a clock needs a timezone-aware datetime")
    return moment
