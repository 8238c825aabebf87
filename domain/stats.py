"""The administrators' statistics, computed from plain facts (no I/O).

"Booked" counts every appointment whose time falls in the period, whatever became of it;
completed, cancelled and no-show are what became of them, and "upcoming" what is still
ahead. The no-show rate is no-shows over the appointments that were due to happen
(completed + no-show). Months are the office's local months.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

OUTCOMES = ("completed", "cancelled", "no_show", "upcoming")


@dataclass(frozen=True, slots=True)
class Fact:
    """One appointment, as the statistics see it."""

    procedure: str
    staff: str
    channel: str
    status: str  # booked, in_session, completed, cancelled, no_show
    start: float  # epoch seconds
    lead_days: float  # from booking to the appointment
    confirmed: bool  # the citizen confirmed a reminder


@dataclass(frozen=True, slots=True)
class Opinion:
    start: float  # the appointment's time (epoch seconds): the month it counts in
    score: int | None
    again: bool | None


@dataclass(slots=True)
class Counts:
    booked: int = 0
    completed: int = 0
    cancelled: int = 0
    no_show: int = 0
    upcoming: int = 0

    def add(self, status: str) -> None:
        self.booked += 1
        if status == "completed":
            self.completed += 1
        elif status == "cancelled":
            self.cancelled += 1
        elif status == "no_show":
            self.no_show += 1
        else:
            self.upcoming += 1

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

    def add(self, opinion: Opinion) -> None:
        if opinion.score is not None:
            self.answers += 1
            self.total += opinion.score
        if opinion.again is not None:
            self.again_answers += 1
            self.again_yes += int(opinion.again)

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


class Months:
    """Epoch seconds -> the office's local month ("2026-03"), by the months' bounds."""

    def __init__(self, first: date, last: date, tz: ZoneInfo) -> None:
        self.labels: list[str] = []
        bounds: list[float] = []
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            start = datetime.combine(date(year, month, 1), time(0), tz)
            bounds.append(start.timestamp())
            self.labels.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        self._bounds = bounds

    def of(self, epoch: float) -> str:
        index = bisect_right(self._bounds, epoch) - 1
        return self.labels[max(index, 0)]


def build_report(
    facts: Iterable[Fact],
    opinions: Iterable[Opinion],
    session_seconds: Sequence[float],
    *,
    first: date,
    last: date,
    tz: ZoneInfo,
) -> Report:
    months = Months(first, last, tz)
    report = Report(first=first, last=last)
    report.by_month = {label: Counts() for label in months.labels}
    report.satisfaction_by_month = {label: Satisfaction() for label in months.labels}
    leads: list[float] = []
    for fact in facts:
        status = fact.status
        report.total.add(status)
        for table, key in (
            (report.by_procedure, fact.procedure),
            (report.by_channel, fact.channel),
            (report.by_clerk, fact.staff),
        ):
            counts = table.get(key)
            if counts is None:
                counts = table[key] = Counts()
            counts.add(status)
        report.by_month[months.of(fact.start)].add(status)
        (report.confirmed if fact.confirmed else report.not_confirmed).add(status)
        if status != "cancelled":
            leads.append(fact.lead_days)
    for opinion in opinions:
        report.satisfaction.add(opinion)
        report.satisfaction_by_month[months.of(opinion.start)].add(opinion)
    report.median_lead_days = statistics.median(leads) if leads else None
    if session_seconds:
        report.median_session_minutes = statistics.median(session_seconds) / 60
    return report
