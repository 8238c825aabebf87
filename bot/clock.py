"""The clocks behind handlers.ports.Clock.

`SystemClock` is the only code in the project that reads the wall clock: bot/app.py builds
it when no clock is passed in, and hands that one clock to everything that needs the time.
Everything else is given the moment, so the demo and the tests can run at any instant and
move time forward with `ManualClock`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["ManualClock", "OfficeTimeClock", "SystemClock"]


class SystemClock:
    """The machine's time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until it is moved: the demo's script and the tests drive it."""

    # Slots: assigning some other attribute (say `clock.current = …`) fails loudly
    # instead of silently not moving the clock.
    __slots__ = ("_current",)

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


class OfficeTimeClock:
    """The machine's time moved forward by an offset kept in a file.

    `videotramit chat --at WHEN` uses it so that a clerk's side can be tried at any hour:
    every terminal on the same data dir reads the same file, so the citizen's and the
    clerk's windows share one "office time". It only ever moves forward, because rows
    already stamped with a later time would otherwise look like they came from the future.
    """

    def __init__(self, base: SystemClock, path: Path) -> None:
        self._base = base
        self._path = path
        self._seen: tuple[float, float] | None = None  # (file mtime, offset in seconds)

    def now(self) -> datetime:
        return self._base.now() + timedelta(seconds=self._offset())

    def move_to(self, moment: datetime) -> datetime:
        """Set the office time to `moment` unless it is already later; returns the time."""
        target = _aware(moment)
        if target > self.now():
            # Rounded up to the millisecond it is written with, so that the office time
            # is never a hair before the moment asked for ("07:49:59.9996" shows 07:49).
            offset = math.ceil((target - self._base.now()).total_seconds() * 1000) / 1000
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._path.write_text(f"{offset:.3f}\n", encoding="utf-8")
        return self.now()

    def _offset(self) -> float:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            return 0.0
        if self._seen is None or self._seen[0] != mtime:
            try:
                self._seen = (mtime, float(self._path.read_text(encoding="utf-8").strip()))
            except ValueError:
                self._seen = (mtime, 0.0)
        return self._seen[1]
