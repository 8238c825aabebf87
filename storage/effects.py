"""Side effects a turn asked for, done after it committed (bot/effects.py).

A turn writes the intent in its own transaction (``SqlEffects.request``); a worker claims
due intents with a lease under FOR UPDATE SKIP LOCKED (so several instances share them and
a crashed instance's come back), performs them outside any transaction, and settles them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from handlers.ports import Clock
from storage.models import SideEffectRow


@dataclass(frozen=True, slots=True)
class SideEffect:
    id: int
    kind: str
    appointment_id: int
    channel: str
    external_id: str
    address: str
    data: dict[str, Any]
    attempts: int
    outcome: str  # set once performed: a retry only hands the outcome over again


class SqlEffects:
    """The turn's side: record an intent, in the turn's transaction."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._s = session
        self._clock = clock

    async def request(
        self,
        *,
        kind: str,
        appointment_id: int,
        channel: str,
        external_id: str,
        address: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        now = self._clock.now()
        self._s.add(
            SideEffectRow(
                kind=kind,
                appointment_id=appointment_id,
                channel=channel,
                external_id=external_id,
                address=address,
                data=dict(data or {}),
                created_at=now,
                due_at=now,
                attempts=0,
                outcome="",
                last_error="",
            )
        )


class EffectsStore:
    """The worker's side: claim, settle, retry."""

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def claim(
        self, now: datetime, *, limit: int = 20, lease_s: int = 120
    ) -> list[SideEffect]:
        older = aliased(SideEffectRow)
        # One appointment's effects happen in the order asked (start, then stop), on
        # whichever instance: only the oldest unfinished one of each can be claimed.
        held_back = exists().where(
            older.appointment_id == SideEffectRow.appointment_id,
            older.id < SideEffectRow.id,
            older.done_at.is_(None),
        )
        async with self._sessions() as session, session.begin():
            query = (
                select(SideEffectRow)
                .where(
                    ~held_back,
                    SideEffectRow.done_at.is_(None),
                    SideEffectRow.due_at <= now,
                    or_(SideEffectRow.claimed_until.is_(None), SideEffectRow.claimed_until < now),
                )
                .order_by(SideEffectRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.execute(query)).scalars())
            for row in rows:
                row.claimed_until = now + timedelta(seconds=lease_s)
                row.attempts += 1
            return [
                SideEffect(
                    id=r.id,
                    kind=r.kind,
                    appointment_id=r.appointment_id,
                    channel=r.channel,
                    external_id=r.external_id,
                    address=r.address,
                    data=dict(r.data or {}),
                    attempts=r.attempts,
                    outcome=r.outcome,
                )
                for r in rows
            ]

    async def performed(self, effect_id: int, outcome: str, result: dict[str, Any]) -> None:
        """Done outside: the outcome, and what the hand-over needs, kept with the row."""
        async with self._sessions() as session, session.begin():
            row = await session.get_one(SideEffectRow, effect_id)
            row.outcome = outcome[:32]
            row.data = {**(row.data or {}), "result": result}

    async def done(self, effect_id: int, outcome: str, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(SideEffectRow)
                .where(SideEffectRow.id == effect_id)
                .values(done_at=now, claimed_until=None, outcome=outcome[:32])
            )

    async def retry(self, effect_id: int, error: str, at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(SideEffectRow)
                .where(SideEffectRow.id == effect_id)
                .values(due_at=at, claimed_until=None, last_error=error[:500])
            )

    async def pending(self) -> int:
        async with self._sessions() as session:
            query = select(func.count(SideEffectRow.id)).where(SideEffectRow.done_at.is_(None))
            return int((await session.execute(query)).scalar_one())
