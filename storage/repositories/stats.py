"""The statistics, counted by the database in one grouped pass and two narrow fetches.

The grouped pass: appointments by their traits and local month, with their survey answers
summed alongside (a survey belongs to one appointment). Each month is its own range of
the covering period index (``ix_appointments_period``), its label a constant, so no
per-row expression decides the month. The narrow fetches: how far ahead each appointment
not cancelled was booked (stored on it when booked or moved) and how long each completed
session lasted (stored on it when it ended), counted by distinct value off an index in
that order, whose medians are taken here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from domain.stats import Group, OpinionGroup
from storage.models import AppointmentRow, AttendanceRow, SurveyRow, UserRow, UTCDateTime

A = AppointmentRow.__table__.c
U = UserRow.__table__.c
V = SurveyRow.__table__.c
T = AttendanceRow.__table__.c


def _ranges(
    start: datetime, end: datetime, months: Sequence[tuple[str, datetime]]
) -> list[tuple[str, datetime, datetime]]:
    """Each local month of the period with the instants it covers, clipped to the period."""
    bounds = [begins for _, begins in months[1:]] + [end]
    return [
        (label, max(start, begins), min(end, until))
        for (label, begins), until in zip(months, bounds, strict=True)
        if max(start, begins) < min(end, until)
    ]


def _median_of_counts(counted: list[tuple[float, int]]) -> float | None:
    """The median of values given as (value, how many times it occurs)."""
    total = sum(n for _, n in counted)
    if not total:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})  # the middle one, or the middle two
    found, seen = [], 0
    for value, n in sorted(counted):
        found += [value for w in wanted if seen <= w < seen + n]
        seen += n
    return sum(found) / len(found)


class SqlStats:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def counts(
        self, start: datetime, end: datetime, months: Sequence[tuple[str, datetime]]
    ) -> tuple[list[Group], list[OpinionGroup], float | None, float | None]:
        groups, opinions = await self._grouped(start, end, months)
        median_lead, median_session = await self._medians(start, end)
        return groups, opinions, median_lead, median_session

    async def _grouped(
        self, start: datetime, end: datetime, months: Sequence[tuple[str, datetime]]
    ) -> tuple[list[Group], list[OpinionGroup]]:
        ranges = _ranges(start, end, months)
        if not ranges:
            return [], []
        joined = (
            AppointmentRow.__table__.join(UserRow.__table__, U.id == A.citizen_id)
            .outerjoin(AttendanceRow.__table__, T.appointment_id == A.id)
            .outerjoin(
                SurveyRow.__table__, and_(V.appointment_id == A.id, V.answered_at.is_not(None))
            )
        )
        confirmed = func.coalesce(T.answer == "confirmed", False)
        traits = (A.procedure, A.staff_id, U.channel, A.status, confirmed)
        parts = [
            select(
                literal(label).label("month"),
                *traits,
                func.count(),
                func.count(V.score),
                func.coalesce(func.sum(V.score), 0),
                func.coalesce(func.sum(cast(V.again, Integer)), 0),
                func.count(V.again),
            )
            .select_from(joined)
            .where(A.start >= begins, A.start < until)
            .group_by(*traits)
            for label, begins, until in ranges
        ]
        query = union_all(*parts) if len(parts) > 1 else parts[0]
        groups: list[Group] = []
        by_month: dict[str, list[int]] = {}
        for month, procedure, staff, channel, status, cf, n, scored, total, yes, again in (
            await self._s.execute(query)
        ).all():
            groups.append(Group(procedure, staff, channel, status, month, bool(cf), int(n)))
            if scored or again:
                sums = by_month.setdefault(month, [0, 0, 0, 0])
                for at, value in enumerate((scored, total, yes, again)):
                    sums[at] += int(value)
        opinions = [OpinionGroup(month, *sums) for month, sums in by_month.items()]
        return groups, opinions

    def _leads(self, start: datetime, end: datetime) -> Executable:
        """How many appointments not cancelled were booked each number of hours ahead."""
        if self._s.get_bind().dialect.name == "sqlite":
            # SQLite's planner, without ANALYZE's figures, would sort every appointment of
            # the period by its lead; the index gives them in that order.
            return text(
                "SELECT lead_hours, count(*) FROM appointments"
                " INDEXED BY ix_appointments_leads"
                " WHERE start >= :start AND start < :end AND status != 'cancelled'"
                " GROUP BY lead_hours"
            ).bindparams(
                bindparam("start", start, type_=UTCDateTime),
                bindparam("end", end, type_=UTCDateTime),
            )
        return (
            select(A.lead_hours, func.count())
            .where(A.start >= start, A.start < end, A.status != "cancelled")
            .group_by(A.lead_hours)
        )

    async def _counted(self, query: Executable) -> list[tuple[float, int]]:
        rows = (await self._s.execute(query)).all()
        return [(float(value), int(count)) for value, count in rows if value is not None]

    async def _medians(self, start: datetime, end: datetime) -> tuple[float | None, float | None]:
        """The median days ahead of the appointments not cancelled (in whole hours, stored
        when booked or moved: the report shows tenths of a day), and the median length of
        the completed sessions, from their distinct values and how often each occurs: a
        few hundred rows to move, whatever the number of appointments, each read off an
        index in its order."""
        lengths = (
            select(A.session_seconds, func.count())
            .where(A.start >= start, A.start < end)
            .where(A.status == "completed", A.session_seconds >= 0)
            .group_by(A.session_seconds)
        )
        lead_hours = _median_of_counts(await self._counted(self._leads(start, end)))
        session = _median_of_counts(await self._counted(lengths))
        return (None if lead_hours is None else lead_hours / 24.0), session
