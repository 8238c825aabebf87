"""The facts the statistics are computed from, read in three queries.

Times are read as epoch seconds computed by the database (no datetime objects are
built per row), so a year of a busy office is read in a fraction of a second."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.evidence import EventKind
from domain.stats import Fact, Opinion
from storage.models import AppointmentRow, AttendanceRow, EvidenceRow, SurveyRow, UserRow


def _epoch(column: Any, sqlite: bool) -> Any:
    if sqlite:
        return cast(func.strftime("%s", column), Float)
    return func.extract("epoch", column)


class SqlStats:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def _sqlite(self) -> bool:
        bind = self._s.get_bind()
        return bind.dialect.name == "sqlite"

    async def facts(
        self, start: datetime, end: datetime
    ) -> tuple[list[Fact], list[Opinion], list[float]]:
        sqlite = self._sqlite
        a = AppointmentRow.__table__.c
        begins = _epoch(a.start, sqlite)
        made = _epoch(a.created_at, sqlite)
        in_period = and_(a.start >= start, a.start < end)
        query = (
            select(
                a.procedure,
                a.staff_id,
                UserRow.__table__.c.channel,
                a.status,
                begins,
                (begins - made) / 86400.0,
                AttendanceRow.__table__.c.answer,
            )
            .select_from(AppointmentRow.__table__)
            .join(UserRow.__table__, UserRow.__table__.c.id == a.citizen_id)
            .outerjoin(AttendanceRow.__table__, AttendanceRow.__table__.c.appointment_id == a.id)
            .where(in_period)
        )
        facts = [
            Fact(p, s, c, st, float(b), float(lead), answer == "confirmed")
            for p, s, c, st, b, lead, answer in (await self._s.execute(query)).all()
        ]
        v = SurveyRow.__table__.c
        opinions_query = (
            select(begins, v.score, v.again)
            .select_from(SurveyRow.__table__)
            .join(AppointmentRow.__table__, a.id == v.appointment_id)
            .where(in_period, v.answered_at.is_not(None))
        )
        opinions = [
            Opinion(float(b), score, None if again is None else bool(again))
            for b, score, again in (await self._s.execute(opinions_query)).all()
        ]
        e = EvidenceRow.__table__.c
        at = _epoch(e.at, sqlite)
        started = func.min(at).filter(e.kind == EventKind.SESSION_STARTED.value)
        ended = func.max(at).filter(e.kind == EventKind.SESSION_ENDED.value)
        sessions_query = (
            select(started, ended)
            .select_from(EvidenceRow.__table__)
            .join(AppointmentRow.__table__, a.id == e.appointment_id)
            .where(
                in_period,
                a.status == "completed",
                e.kind.in_([EventKind.SESSION_STARTED.value, EventKind.SESSION_ENDED.value]),
            )
            .group_by(e.appointment_id)
        )
        sessions = [
            float(b) - float(s)
            for s, b in (await self._s.execute(sessions_query)).all()
            if s is not None and b is not None and b >= s
        ]
        return facts, opinions, sessions
