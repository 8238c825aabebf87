"""The statistics, counted by the database: appointments grouped by their traits and
local month, survey answers summed per month, and the two medians (booking -> appointment
in whole hours, session length in seconds) from their distinct values and counts, so that
a year of a busy office is a few thousand rows to move, not a hundred thousand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.evidence import EventKind
from domain.stats import Group, OpinionGroup
from storage.models import AppointmentRow, AttendanceRow, EvidenceRow, SurveyRow, UserRow

A = AppointmentRow.__table__.c
U = UserRow.__table__.c
V = SurveyRow.__table__.c
E = EvidenceRow.__table__.c
T = AttendanceRow.__table__.c


def _epoch(column: Any, sqlite: bool, *, text: bool = False) -> Any:
    """Epoch seconds of a time column (or of an ISO text, like the evidence's `at`)."""
    if sqlite:
        return cast(func.strftime("%s", column), Float)
    return func.extract("epoch", cast(column, DateTime(timezone=True)) if text else column)


def _month(months: Sequence[tuple[str, datetime]]) -> Any:
    """The local month an appointment's start falls in, as a CASE over the months'
    starting instants (the same expression on SQLite and PostgreSQL)."""
    bounds = [begins for _, begins in months[1:]]
    whens = [(A.start < begins, label) for (label, _), begins in zip(months, bounds, strict=False)]
    return case(*whens, else_=months[-1][0]) if whens else literal(months[0][0])


class SqlStats:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def _sqlite(self) -> bool:
        return self._s.get_bind().dialect.name == "sqlite"

    async def _median(self, values: Any, where: Any, source: Any) -> float | None:
        """The median of an expression from its distinct values and how often each
        occurs (counted by the database): few rows to read, whatever the number of
        appointments."""
        value = values.label("v")
        by_value: Any = literal_column("v")
        query = (
            select(value, func.count())
            .select_from(source)
            .where(where, values.is_not(None))
            .group_by(by_value)
            .order_by(by_value)
        )
        counted = [(float(v), int(n)) for v, n in (await self._s.execute(query)).all()]
        total = sum(n for _, n in counted)
        if not total:
            return None
        wanted = {(total - 1) // 2, total // 2}  # the middle one, or the middle two
        found, seen = [], 0
        for v, n in counted:
            found += [v] * len({w for w in wanted if seen <= w < seen + n})
            seen += n
        return sum(found) / len(found)

    async def counts(
        self, start: datetime, end: datetime, months: Sequence[tuple[str, datetime]]
    ) -> tuple[list[Group], list[OpinionGroup], float | None, float | None]:
        sqlite = self._sqlite
        in_period = and_(A.start >= start, A.start < end)
        # Grouped by the output's names: the CASE's bound instants are then written once
        # (PostgreSQL would not match two copies of it with their own parameters).
        month = _month(months).label("month")
        confirmed = func.coalesce(T.answer == "confirmed", False).label("confirmed")
        by_month: Any = literal_column("month")
        by_confirmed: Any = literal_column("confirmed")
        joined = AppointmentRow.__table__.join(UserRow.__table__, U.id == A.citizen_id).outerjoin(
            AttendanceRow.__table__, T.appointment_id == A.id
        )
        query = (
            select(
                A.procedure, A.staff_id, U.channel, A.status, month, confirmed, func.count(),
            )
            .select_from(joined)
            .where(in_period)
            .group_by(A.procedure, A.staff_id, U.channel, A.status, by_month, by_confirmed)
        )  # fmt: skip
        groups = [
            Group(p, s, c, st, m, bool(cf), int(n))
            for p, s, c, st, m, cf, n in (await self._s.execute(query)).all()
        ]
        answered = and_(in_period, V.answered_at.is_not(None))
        opinions_query = (
            select(
                month,
                func.count(V.score),
                func.coalesce(func.sum(V.score), 0),
                func.coalesce(func.sum(cast(V.again, Integer)), 0),
                func.count(V.again),
            )
            .select_from(
                SurveyRow.__table__.join(AppointmentRow.__table__, A.id == V.appointment_id)
            )
            .where(answered)
            .group_by(by_month)
        )
        opinions = [
            OpinionGroup(m, int(n), int(total), int(yes), int(again))
            for m, n, total, yes, again in (await self._s.execute(opinions_query)).all()
        ]
        # Whole hours ahead (the report shows tenths of a day): few distinct values.
        hours = func.round((_epoch(A.start, sqlite) - _epoch(A.created_at, sqlite)) / 3600.0)
        lead = hours / 24.0
        median_lead = await self._median(
            lead, and_(in_period, A.status != "cancelled"), AppointmentRow.__table__
        )
        median_session = await self._session_median(in_period, sqlite)
        return groups, opinions, median_lead, median_session

    async def _session_median(self, in_period: Any, sqlite: bool) -> float | None:
        at = _epoch(E.at, sqlite, text=True)
        lengths = (
            select(
                (
                    func.max(case((E.kind == EventKind.SESSION_ENDED.value, at)))
                    - func.min(case((E.kind == EventKind.SESSION_STARTED.value, at)))
                ).label("seconds")
            )
            .select_from(
                EvidenceRow.__table__.join(AppointmentRow.__table__, A.id == E.appointment_id)
            )
            .where(
                in_period,
                A.status == "completed",
                E.kind.in_([EventKind.SESSION_STARTED.value, EventKind.SESSION_ENDED.value]),
            )
            .group_by(E.appointment_id)
            .subquery()
        )
        seconds = lengths.c.seconds
        return await self._median(seconds, and_(seconds.is_not(None), seconds >= 0), lengths)
