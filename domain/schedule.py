"""Working hours, staff members and public holidays.

Weekly hours are written one rule per string, e.g.::

    hours = ["mon-fri 09:00-14:00", "tue,thu 16:00-19:00"]

Days: mon tue wed thu fri sat sun (or full English names), as a list (``tue,thu``), a
range (``mon-fri``) or both (``mon-wed,fri``). Times: ``HH:MM-HH:MM``, end after start,
``24:00`` allowed as an end; several ranges per rule are separated by commas or spaces
(``mon-fri 09:00-14:00,16:00-18:00``). Overlapping or touching ranges of a day merge.

Holidays (config/holidays.toml)::

    [[holiday]]
    date = 2026-01-01          # a TOML date (or "2026-01-01")
    name = "Cap d'Any"
    scope = "national"         # national | catalonia | local (optional)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, NamedTuple

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(_FULL_DAYS)},
}
HOLIDAY_SCOPES = ("national", "catalonia", "local")
ROLES = frozenset({"staff", "admin"})

_RULE = re.compile(r"^\s*(?P<days>[A-Za-z][A-Za-z ,\-]*?)\s+(?P<times>\d.*?)\s*$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """Bad working hours, staff or holiday definition; the message says what and where."""


class TimeRange(NamedTuple):
    """A working range within a day, in minutes after local midnight: [start, end)."""

    start: int
    end: int

    @property
    def start_time(self) -> time:
        return time(self.start // 60, self.start % 60)

    @property
    def end_time(self) -> time:
        return time.max if self.end >= 1440 else time(self.end // 60, self.end % 60)

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


def _parse_days(text: str, rule: str) -> list[int]:
    days: list[int] = []
    for part in text.replace(" ", "").lower().split(","):
        if not part:
            raise ScheduleError(f"{rule!r}: empty day in the list")
        first, sep, last = part.partition("-")
        if first not in _DAY_INDEX or (sep and last not in _DAY_INDEX):
            bad = first if first not in _DAY_INDEX else last
            raise ScheduleError(f"{rule!r}: unknown day {bad!r} (use {', '.join(WEEKDAYS)})")
        lo = _DAY_INDEX[first]
        hi = _DAY_INDEX[last] if sep else lo
        if hi < lo:
            raise ScheduleError(f"{rule!r}: day range {part!r} goes backwards (write mon-fri)")
        days.extend(range(lo, hi + 1))
    return days


def _parse_range(text: str, rule: str) -> TimeRange:
    match = _RANGE.match(text)
    if not match:
        raise ScheduleError(f"{rule!r}: {text!r} is not a time range like 09:00-14:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ScheduleError(f"{rule!r}: {text!r} has an impossible time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ScheduleError(f"{rule!r}: in {text!r} the end is not after the start")
    return TimeRange(start, end)


def _merge(ranges: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    merged: list[TimeRange] = []
    for item in sorted(ranges):
        if merged and item.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = TimeRange(last.start, max(last.end, item.end))
        else:
            merged.append(item)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working ranges for each weekday (index 0 = Monday, as `date.weekday()`)."""

    days: tuple[tuple[TimeRange, ...], ...] = ((),) * 7

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ScheduleError("weekly hours need exactly 7 days")

    @classmethod
    def parse(cls, rules: Sequence[str] | str) -> WeeklyHours:
        """Parse rules like ``["mon-fri 09:00-14:00", "tue,thu 16:00-19:00"]``."""
        if isinstance(rules, str):
            rules = [rules]
        per_day: list[list[TimeRange]] = [[] for _ in range(7)]
        for rule in rules:
            if not isinstance(rule, str):
                raise ScheduleError(f"{rule!r}: expected a string like 'mon-fri 09:00-14:00'")
            match = _RULE.match(rule)
            if not match:
                raise ScheduleError(
                    f"{rule!r}: expected days and times, like 'mon-fri 09:00-14:00'"
                )
            days = _parse_days(match["days"], rule)
            ranges = [
                _parse_range(part, rule) for part in re.split(r"[,\s]+", match["times"]) if part
            ]
            for day in days:
                per_day[day].extend(ranges)
        return cls(tuple(_merge(day) for day in per_day))

    def on(self, weekday: int) -> tuple[TimeRange, ...]:
        return self.days[weekday]

    def for_date(self, day: date) -> tuple[TimeRange, ...]:
        return self.days[day.weekday()]

    @property
    def is_empty(self) -> bool:
        return not any(self.days)

    def describe(self) -> list[str]:
        """One rule per weekday that works, e.g. ``["mon 09:00-14:00", ...]``."""
        return [
            f"{WEEKDAYS[i]} {','.join(str(r) for r in ranges)}"
            for i, ranges in enumerate(self.days)
            if ranges
        ]


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    name: str
    roles: frozenset[str] = frozenset({"staff"})
    procedures: frozenset[str] = frozenset()  # empty or containing "*" = every procedure
    hours: WeeklyHours = field(default_factory=WeeklyHours)

    def __post_init__(self) -> None:
        unknown = set(self.roles) - ROLES
        if unknown:
            raise ScheduleError(
                f"staff {self.id!r}: unknown role {sorted(unknown)[0]!r} (use staff or admin)"
            )

    @classmethod
    def build(
        cls,
        id: str,
        name: str,
        *,
        roles: Iterable[str] = ("staff",),
        procedures: Iterable[str] = ("*",),
        hours: Sequence[str] = (),
    ) -> StaffMember:
        """Build from configuration values; errors name the staff member."""
        try:
            weekly = WeeklyHours.parse(list(hours))
        except ScheduleError as exc:
            raise ScheduleError(f"staff {id!r} hours: {exc}") from None
        return cls(id, name, frozenset(roles), frozenset(procedures), weekly)

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def serves(self, procedure_code: str) -> bool:
        """Whether this person may attend `procedure_code` (ignores roles and hours)."""
        return not self.procedures or "*" in self.procedures or (procedure_code in self.procedures)

    def can_attend(self, procedure_code: str) -> bool:
        """A clerk (role "staff") who serves the procedure and has working hours."""
        return self.is_staff and self.serves(procedure_code) and not self.hours.is_empty


def eligible_staff(staff: Iterable[StaffMember], procedure_code: str) -> list[StaffMember]:
    return [member for member in staff if member.can_attend(procedure_code)]


class Holidays(frozenset[date]):
    """A set of closed days that also knows their names: ``holidays.name(day)``."""

    names: Mapping[date, str]

    def __new__(cls, names: Mapping[date, str] | Iterable[date] = ()) -> Holidays:
        table = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, "")
        obj = super().__new__(cls, table)
        obj.names = table
        return obj

    def name(self, day: date) -> str | None:
        return self.names.get(day) if day in self else None

    def __repr__(self) -> str:
        return f"Holidays({sorted(self)!r})"


def _holiday_date(value: Any, where: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{where}.date: {value!r} is not a date like 2026-01-01")


def parse_holidays(text: str) -> Holidays:
    """Parse holidays.toml into a `Holidays` set (a frozenset of dates with names)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"holidays: not valid TOML: {exc}") from None
    for key in data:
        if key != "holiday":
            raise ScheduleError(f"holidays: unknown key {key!r} (expected [[holiday]] tables)")
    entries = data.get("holiday", [])
    if not isinstance(entries, list):
        raise ScheduleError("holiday: expected [[holiday]] tables")
    names: dict[date, str] = {}
    for i, entry in enumerate(entries):
        where = f"holiday[{i}]"
        if not isinstance(entry, dict):
            raise ScheduleError(f"{where}: expected a table")
        for key in entry:
            if key not in ("date", "name", "scope"):
                raise ScheduleError(f"{where}.{key}: unknown key (expected date, name, scope)")
        if "date" not in entry:
            raise ScheduleError(f"{where}.date: missing")
        day = _holiday_date(entry["date"], where)
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise ScheduleError(f"{where}.name: expected a string")
        scope = entry.get("scope", "local")
        if scope not in HOLIDAY_SCOPES:
            raise ScheduleError(
                f"{where}.scope: {scope!r} is not one of {', '.join(HOLIDAY_SCOPES)}"
            )
        if day in names:
            raise ScheduleError(f"{where}.date: {day.isoformat()} is listed twice")
        names[day] = name
    return Holidays(names)
