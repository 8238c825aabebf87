"""The administrators' statistics, computed from plain facts (no I/O).

"Booked" counts every appointment whose time falls in the period, whatever became of it;
completed, cancelled and no-show are what became of them, and "upcoming" what is still
ahead. The no-show rate is no-shows over the appointments that were due to happen
(completed + no-show). Months are the office's local months.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

OUTCOMES = ("completed", "cancelled", "no_show", "upcoming")


@dataclass(frozen=True, slots=True)
class Group:
    """How many appointments share these traits (counted by the database)."""

    procedure: str
    staff: str
    channel: str
    status: str  # booked, in_session, completed, cancelled, no_show
    month: str  # the office's local month, "2026-03"
    confirmed: bool  # the citizen confirmed a reminder
    count: int


@dataclass(frozen=True, slots=True)
class OpinionGroup:
    """The survey answers of one month's appointments (summed by the database)."""

    month: str
    answers: int
    total: int
    again_yes: int
    again_answers: int


@dataclass(slots=True)
class Counts:
    booked: int = 0
    completed: int = 0
    cancelled: int = 0
    no_show: int = 0
    upcoming: int = 0

    def add(self, status: str, count: int = 1) -> None:
        self.booked += count
        if status == "completed":
            self.completed += count
        elif status == "cancelled":
            self.cancelled += count
        elif status == "no_show":
            self.no_show += count
        else:
            self.upcoming += count

    @property
    def no_show_rate(self) -> float | None:
        held = self.completed + self.no_show
        return self.no_show / held if held else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "booked": self.booked,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "no_show": self.no_show,
            "upcoming": self.upcoming,
            "no_show_rate": _round(self.no_show_rate),
        }


@dataclass(slots=True)
class Satisfaction:
    answers: int = 0
    total: int = 0
    again_yes: int = 0
    again_answers: int = 0

    def add(self, group: OpinionGroup) -> None:
        self.answers += group.answers
        self.total += group.total
        self.again_answers += group.again_answers
        self.again_yes += group.again_yes

    @property
    def average(self) -> float | None:
        return self.total / self.answers if self.answers else None

    @property
    def again_share(self) -> float | None:
        return self.again_yes / self.again_answers if self.again_answers else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "average": _round(self.average, 2),
            "would_use_again": _round(self.again_share),
        }


@dataclass(slots=True)
class Report:
    first: date
    last: date
    total: Counts = field(default_factory=Counts)
    by_procedure: dict[str, Counts] = field(default_factory=dict)
    by_channel: dict[str, Counts] = field(default_factory=dict)
    by_clerk: dict[str, Counts] = field(default_factory=dict)
    by_month: dict[str, Counts] = field(default_factory=dict)
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    satisfaction_by_month: dict[str, Satisfaction] = field(default_factory=dict)
    median_lead_days: float | None = None
    median_session_minutes: float | None = None
    confirmed: Counts = field(default_factory=Counts)
    not_confirmed: Counts = field(default_factory=Counts)

    def as_dict(self) -> dict[str, Any]:
        def table(rows: dict[str, Counts]) -> dict[str, Any]:
            return {key: rows[key].as_dict() for key in sorted(rows)}

        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "total": self.total.as_dict(),
            "by_procedure": table(self.by_procedure),
            "by_channel": table(self.by_channel),
            "by_clerk": table(self.by_clerk),
            "by_month": table(self.by_month),
            "satisfaction": self.satisfaction.as_dict(),
            "satisfaction_by_month": {
                key: self.satisfaction_by_month[key].as_dict()
                for key in sorted(self.satisfaction_by_month)
            },
            "median_days_booking_to_appointment": _round(self.median_lead_days, 1),
            "median_session_minutes": _round(self.median_session_minutes, 1),
            "reminder_effect": {
                "confirmed": self.confirmed.as_dict(),
                "not_confirmed": self.not_confirmed.as_dict(),
            },
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def months(first: date, last: date, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """The local months the period touches, each with the instant it starts."""
    found: list[tuple[str, datetime]] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(
            (f"{year:04d}-{month:02d}", datetime.combine(date(year, month, 1), time(0), tz))
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def build_report(
    groups: Iterable[Group],
    opinions: Iterable[OpinionGroup],
    *,
    median_lead_days: float | None,
    median_session_seconds: float | None,
    first: date,
    last: date,
    tz: ZoneInfo,
) -> Report:
    report = Report(first=first, last=last)
    labels = [label for label, _ in months(first, last, tz)]
    report.by_month = {label: Counts() for label in labels}
    report.satisfaction_by_month = {label: Satisfaction() for label in labels}
    for group in groups:
        status, count = group.status, group.count
        report.total.add(status, count)
        for table, key in (
            (report.by_procedure, group.procedure),
            (report.by_channel, group.channel),
            (report.by_clerk, group.staff),
            (report.by_month, group.month),
        ):
            counts = table.get(key)
            if counts is None:
                counts = table[key] = Counts()
            counts.add(status, count)
        (report.confirmed if group.confirmed else report.not_confirmed).add(status, count)
    for opinion in opinions:
        report.satisfaction.add(opinion)
        month = report.satisfaction_by_month.setdefault(opinion.month, Satisfaction())
        month.add(opinion)
    report.median_lead_days = median_lead_days
    if median_session_seconds is not None:
        report.median_session_minutes = median_session_seconds / 60
    return report
