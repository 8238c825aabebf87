"""`chat --at`: the office time is never before the moment asked for (it showed 07:49 for
"--at 07:50" when the offset was written rounded down)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bot.clock import ManualClock, OfficeTimeClock, SystemClock


def test_the_office_time_is_at_least_the_moment_asked_for(tmp_path: Path) -> None:
    # 0.6 ms past the second: the offset's last digit would be rounded down.
    machine = ManualClock(datetime(2026, 12, 2, 7, 0, 0, 600, tzinfo=UTC))
    office = OfficeTimeClock(cast(SystemClock, cast(Any, machine)), tmp_path / "office-time")
    asked = datetime(2031, 3, 5, 6, 50, tzinfo=UTC)
    assert office.move_to(asked) >= asked
    assert office.now() >= asked
    machine.advance(minutes=1)
    assert office.now() >= asked + timedelta(minutes=1)
