"""What notifications leave behind: standing buttons, reminder answers, survey answers."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model import SurveyAnswer
from storage.models import AppointmentRow, AttendanceRow, NoticeButtonRow, SurveyRow


class SqlNotices:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- buttons that outlive the conversation ----------------------------------------

    async def button(self, user_id: int, entry: str, params: dict[str, Any], now: datetime) -> str:
        token = secrets.token_urlsafe(12)  # 96 random bits, 16 characters
        self._s.add(
            NoticeButtonRow(
                token=token, user_id=user_id, entry=entry, params=params, created_at=now
            )
        )
        return token

    async def pressed(self, user_id: int, token: str) -> tuple[str, dict[str, Any]] | None:
        row = await self._s.get(NoticeButtonRow, token[:24])
        if row is None or row.user_id != user_id:
            return None
        return row.entry, dict(row.params)

    async def forget_buttons(self, user_id: int, entry_prefix: str, key: str, value: Any) -> None:
        """Buttons of one notification stop working (e.g. the survey once answered)."""
        rows = (
            await self._s.execute(
                select(NoticeButtonRow).where(
                    NoticeButtonRow.user_id == user_id,
                    NoticeButtonRow.entry.startswith(entry_prefix),
                )
            )
        ).scalars()
        tokens = [row.token for row in rows if row.params.get(key) == value]
        if tokens:
            await self._s.execute(delete(NoticeButtonRow).where(NoticeButtonRow.token.in_(tokens)))

    # --- reminder answers --------------------------------------------------------------

    async def set_attendance(self, appointment_id: int, answer: str, now: datetime) -> None:
        row = await self._s.get(AttendanceRow, appointment_id)
        if row is None:
            self._s.add(AttendanceRow(appointment_id=appointment_id, answer=answer, at=now))
        else:
            row.answer, row.at = answer, now

    async def attendance(self, appointment_ids: list[int]) -> dict[int, str]:
        if not appointment_ids:
            return {}
        query = select(AttendanceRow.appointment_id, AttendanceRow.answer).where(
            AttendanceRow.appointment_id.in_(appointment_ids)
        )
        return {a: b for a, b in (await self._s.execute(query)).all()}

    # --- the satisfaction survey -------------------------------------------------------

    async def survey_asked(self, appointment_id: int, now: datetime) -> bool:
        """Record that the survey was asked; False if it already was (never re-asked)."""
        try:
            async with self._s.begin_nested():
                self._s.add(SurveyRow(appointment_id=appointment_id, asked_at=now, comment=""))
        except IntegrityError:
            return False
        return True

    async def survey(self, appointment_id: int) -> SurveyAnswer | None:
        row = await self._s.get(SurveyRow, appointment_id)
        if row is None:
            return None
        return SurveyAnswer(
            appointment_id=row.appointment_id,
            score=row.score,
            again=row.again,
            comment=row.comment,
            answered_at=row.answered_at,
        )

    async def comments(
        self, start: datetime, end: datetime, *, limit: int, scan: int = 1000
    ) -> list[tuple[datetime, str, int | None, str]]:
        """The newest survey comments about appointments between `start` and `end`: when
        it was answered, the procedure, the score and the words; never who wrote them.
        (Comments are sealed, so empty ones are told apart here, among the newest `scan`
        answers.)"""
        query = (
            select(
                SurveyRow.answered_at, AppointmentRow.procedure, SurveyRow.score, SurveyRow.comment
            )
            .join(AppointmentRow, AppointmentRow.id == SurveyRow.appointment_id)
            .where(
                AppointmentRow.start >= start,
                AppointmentRow.start < end,
                SurveyRow.answered_at.is_not(None),
            )
            .order_by(SurveyRow.answered_at.desc())
            .limit(scan)
        )
        found = [
            (at, procedure, score, comment)
            for at, procedure, score, comment in (await self._s.execute(query)).all()
            if comment and at is not None
        ]
        return found[:limit]

    async def answer_survey(
        self,
        appointment_id: int,
        *,
        now: datetime,
        channel: str,
        score: int | None = None,
        again: bool | None = None,
        comment: str | None = None,
    ) -> None:
        row = await self._s.get(SurveyRow, appointment_id)
        if row is None:
            row = SurveyRow(appointment_id=appointment_id, asked_at=now, comment="")
            self._s.add(row)
        if score is not None:
            row.score = score
        if again is not None:
            row.again = again
        if comment is not None:
            row.comment = comment
        row.channel = channel
        row.answered_at = now
