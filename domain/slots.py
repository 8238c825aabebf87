"""Free appointment slots from staff hours, holidays and existing appointments.

Rules (all pure; `now` is a parameter):

* Days run from the local date of `now` to that date + `horizon_days` (inclusive),
  optionally narrowed by `first_day`/`last_day`. Holidays are skipped.
* Each working range of a staff member (local wall-clock time in `rules.tz`) has a grid
  that starts at the range's start and advances by `slot_minutes`. An appointment
  occupies ``ceil(duration / slot_minutes) * slot_minutes`` and must end inside the range.
* `buffer_minutes` around every existing appointment count as busy: a new appointment
  needs at least that gap before and after the staff member's other appointments.
* A slot starts no earlier than ``now + min_notice``.
* A slot is offered when at least one eligible staff member is free for all of it;
  `Slot.staff_ids` lists those who are (pick one with `domain.assignment.pick_staff`).
* Daylight saving time: the grid is in wall-clock time, so 09:00 stays 09:00 on both
  sides of a change. A grid time that does not exist (the skipped hour in March) is not
  offered; a time that happens twice (the repeated hour in October) is offered once, at
  its first occurrence. A range's end is read at its earliest possible instant.
* Results are aware datetimes in UTC, sorted.

When rescheduling, leave the appointment being moved out of `busy`.

Speed: busy intervals are merged and sorted per staff member once (`BusyIndex`), and
each candidate is checked with a binary search; grids are computed once per day and
working range and shared between staff with the same hours.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.schedule import StaffMember, TimeRange


@dataclass(frozen=True, slots=True)
class SlotRules:
    slot_minutes: int
    buffer_minutes: int
    min_notice: timedelta
    horizon_days: int
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.slot_minutes <= 0:
            raise ValueError("slot_minutes must be positive")
        if self.buffer_minutes < 0:
            raise ValueError("buffer_minutes cannot be negative")
        if self.min_notice < timedelta(0):
            raise ValueError("min_notice cannot be negative")
        if self.horizon_days < 0:
            raise ValueError("horizon_days cannot be negative")

    def occupied_minutes(self, duration_minutes: int) -> int:
        """Minutes an appointment of `duration_minutes` takes on the grid."""
        return occupied_minutes(duration_minutes, self.slot_minutes)


@dataclass(frozen=True, slots=True)
class Busy:
    """A staff member is taken during [start, end) (aware datetimes)."""

    staff_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time: [start, end) in UTC, and who is free for all of it."""

    start: datetime
    end: datetime
    staff_ids: tuple[str, ...]

    def local_start(self, tz: ZoneInfo) -> datetime:
        return self.start.astimezone(tz)

    def local_end(self, tz: ZoneInfo) -> datetime:
        return self.end.astimezone(tz)


def occupied_minutes(duration_minutes: int, slot_minutes: int) -> int:
    if duration_minutes <= 0:
        raise ValueError("the procedure duration must be positive")
    return math.ceil(duration_minutes / slot_minutes) * slot_minutes


def slot_cells(start: datetime, end: datetime, slot_minutes: int) -> list[datetime]:
    """The grid cells [start, end) covers, as UTC datetimes: start, start+slot, ...

    Storage can keep one row per (staff, cell) under a unique constraint, so two
    bookings of one person on the same grid can never overlap, whatever the concurrency.
    """
    step = timedelta(minutes=slot_minutes)
    cells: list[datetime] = []
    cursor = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while cursor < stop:
        cells.append(cursor)
        cursor += step
    return cells


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with a time zone)")
    return value


class BusyIndex:
    """Busy intervals per staff member, merged and sorted, for O(log n) checks.

    Build it once and pass it as `busy` to search several times over the same data.
    """

    __slots__ = ("_starts", "_ends")

    def __init__(self, busy: Iterable[Busy], staff_ids: Collection[str] | None = None) -> None:
        raw: dict[str, list[tuple[float, float]]] = {}
        for item in busy:
            staff_id = item.staff_id
            if staff_ids is not None and staff_id not in staff_ids:
                continue
            start_dt, end_dt = item.start, item.end
            if start_dt.tzinfo is None or end_dt.tzinfo is None:
                raise ValueError("Busy.start and Busy.end must be aware datetimes")
            start, end = start_dt.timestamp(), end_dt.timestamp()
            if end <= start:
                continue
            bucket = raw.get(staff_id)
            if bucket is None:
                raw[staff_id] = [(start, end)]
            else:
                bucket.append((start, end))
        self._starts: dict[str, list[float]] = {}
        self._ends: dict[str, list[float]] = {}
        for staff_id, intervals in raw.items():
            intervals.sort()
            starts: list[float] = []
            ends: list[float] = []
            for start, end in intervals:
                if ends and start <= ends[-1]:
                    if end > ends[-1]:
                        ends[-1] = end
                else:
                    starts.append(start)
                    ends.append(end)
            self._starts[staff_id] = starts
            self._ends[staff_id] = ends

    def is_free(
        self, staff_id: str, start: datetime, end: datetime, buffer_minutes: int = 0
    ) -> bool:
        """True when [start, end) keeps `buffer_minutes` away from every busy interval."""
        buffer = buffer_minutes * 60.0
        starts = self._starts.get(staff_id)
        if not starts:
            return True
        ends = self._ends[staff_id]
        s, e = start.timestamp(), end.timestamp()
        j = bisect_right(ends, s - buffer)
        return j == len(ends) or starts[j] >= e + buffer

    def lists(self, staff_id: str) -> tuple[list[float], list[float]]:
        return self._starts.get(staff_id, []), self._ends.get(staff_id, [])


def _wall(day: date, minute: int, tz: ZoneInfo, fold: int) -> datetime:
    extra, minute = divmod(minute, 1440)
    when = day + timedelta(days=extra)
    return datetime(
        when.year, when.month, when.day, minute // 60, minute % 60, tzinfo=tz, fold=fold
    )


def _resolve_start(day: date, minute: int, tz: ZoneInfo) -> float | None:
    """UTC timestamp of a wall-clock time; None if it does not exist (DST gap).

    An ambiguous time (DST overlap) resolves to its first occurrence (fold=0).
    """
    local = _wall(day, minute, tz, 0)
    back = local.astimezone(UTC).astimezone(tz)
    if (back.hour, back.minute, back.date()) != (local.hour, local.minute, local.date()):
        return None
    return local.timestamp()


def _resolve_end(day: date, minute: int, tz: ZoneInfo) -> float:
    """UTC timestamp of a range end, at its earliest reading (strict)."""
    return min(_wall(day, minute, tz, 0).timestamp(), _wall(day, minute, tz, 1).timestamp())


def _grid(
    day: date, span: TimeRange, occupy_min: int, slot_min: int, tz: ZoneInfo
) -> tuple[float, ...]:
    """Start timestamps of the slots of one working range on one day."""
    occupy_s = occupy_min * 60.0
    step_s = slot_min * 60.0
    first = _resolve_start(day, span.start, tz)
    end_ts = _resolve_end(day, span.end, tz)
    if first is not None and end_ts - first == (span.end - span.start) * 60.0:
        # No clock change inside the range: wall-clock and real minutes agree.
        count = int((end_ts - first - occupy_s) // step_s) + 1
        return tuple(first + k * step_s for k in range(max(count, 0)))
    starts: list[float] = []
    minute = span.start
    while minute + occupy_min <= span.end:
        ts = _resolve_start(day, minute, tz)
        if ts is not None and ts + occupy_s <= end_ts:
            starts.append(ts)
        minute += slot_min
    return tuple(starts)


def free_slots(
    procedure_duration_minutes: int,
    eligible_staff: Sequence[StaffMember],
    holidays: Collection[date],
    busy: Iterable[Busy] | BusyIndex,
    rules: SlotRules,
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
) -> list[Slot]:
    """Every bookable slot (UTC, sorted) with the staff free for it. See the module doc."""
    _aware(now, "now")
    tz = rules.tz
    occupy_min = occupied_minutes(procedure_duration_minutes, rules.slot_minutes)
    occupy_s = occupy_min * 60.0
    buffer_s = rules.buffer_minutes * 60.0
    earliest = now.timestamp() + rules.min_notice.total_seconds()
    today = now.astimezone(tz).date()
    lo = today if first_day is None else max(first_day, today)
    hi = today + timedelta(days=rules.horizon_days)
    if last_day is not None:
        hi = min(hi, last_day)
    if hi < lo or not eligible_staff:
        return []
    staff_ids = {member.id for member in eligible_staff}
    index = busy if isinstance(busy, BusyIndex) else BusyIndex(busy, staff_ids)
    lists = {member.id: index.lists(member.id) for member in eligible_staff}

    found: dict[float, list[str]] = {}
    grids: dict[tuple[date, TimeRange], tuple[float, ...]] = {}
    day = lo
    one_day = timedelta(days=1)
    while day <= hi:
        if day not in holidays:
            weekday = day.weekday()
            for member in eligible_staff:
                spans = member.hours.days[weekday]
                if not spans:
                    continue
                starts, ends = lists[member.id]
                n = len(ends)
                for span in spans:
                    key = (day, span)
                    grid = grids.get(key)
                    if grid is None:
                        grid = grids[key] = _grid(day, span, occupy_min, rules.slot_minutes, tz)
                    for ts in grid:
                        if ts < earliest:
                            continue
                        if n:
                            j = bisect_right(ends, ts - buffer_s)
                            if j < n and starts[j] < ts + occupy_s + buffer_s:
                                continue
                        holders = found.get(ts)
                        if holders is None:
                            found[ts] = [member.id]
                        elif member.id not in holders:
                            holders.append(member.id)
        day += one_day

    occupy = timedelta(minutes=occupy_min)
    slots: list[Slot] = []
    for ts in sorted(found):
        start = datetime.fromtimestamp(ts, UTC)
        slots.append(Slot(start, start + occupy, tuple(sorted(found[ts]))))
    return slots


def free_days(
    procedure_duration_minutes: int,
    eligible_staff: Sequence[StaffMember],
    holidays: Collection[date],
    busy: Iterable[Busy] | BusyIndex,
    rules: SlotRules,
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
) -> list[date]:
    """Local dates (in `rules.tz`) that have at least one free slot, in order."""
    slots = free_slots(
        procedure_duration_minutes,
        eligible_staff,
        holidays,
        busy,
        rules,
        now,
        first_day,
        last_day,
    )
    return sorted({slot.start.astimezone(rules.tz).date() for slot in slots})


def slots_on_day(
    day: date,
    procedure_duration_minutes: int,
    eligible_staff: Sequence[StaffMember],
    holidays: Collection[date],
    busy: Iterable[Busy] | BusyIndex,
    rules: SlotRules,
    now: datetime,
) -> list[Slot]:
    """The free slots starting on local date `day`."""
    return free_slots(
        procedure_duration_minutes, eligible_staff, holidays, busy, rules, now, day, day
    )
