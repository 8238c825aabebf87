"""Claiming and settling outbox rows for the dispatcher.

Rows are claimed with a lease (claimed_until) under FOR UPDATE SKIP LOCKED, so several
instances on PostgreSQL share the work and a crashed instance's rows come back.

A chat's messages go out in the order they were queued, whichever instance sends them:
only the oldest pending message of each (channel, address) can be claimed. A message that
waits for its retry, or that another instance holds, holds back the newer ones of its chat;
a message scheduled for later (``not_before``, never tried yet) does not.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased

from domain.model import OutboxMessage
from storage.models import OutboxRow, UserRow


class OutboxStore:
    def __init__(self, factory: async_sessionmaker[Any]) -> None:
        self._factory = factory

    async def claim(
        self,
        channels: Sequence[str],
        now: datetime,
        *,
        limit: int = 50,
        lease_s: int = 120,
        only: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxMessage]:
        """Claim due messages of `channels`; `only` restricts a channel to some addresses
        (a terminal delivers to its own person and leaves the rest queued for theirs)."""
        recipients = or_(
            *(
                and_(OutboxRow.channel == name, OutboxRow.address.in_(list(only[name])))
                if only and name in only
                else OutboxRow.channel == name
                for name in channels
            )
        )
        older = aliased(OutboxRow)
        # An older message of the same chat that is due, in flight or waiting for its retry.
        held_back = exists().where(
            older.channel == OutboxRow.channel,
            older.address == OutboxRow.address,
            older.id < OutboxRow.id,
            older.delivered_at.is_(None),
            older.failed_at.is_(None),
            or_(older.next_attempt_at <= now, older.attempts > 0, older.claimed_until.is_not(None)),
        )
        async with self._factory() as session, session.begin():
            query = (
                select(OutboxRow)
                .where(
                    recipients,
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                    OutboxRow.next_attempt_at <= now,
                    or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                    ~held_back,
                )
                .order_by(OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.execute(query)).scalars())
            for row in rows:
                row.claimed_until = now + timedelta(seconds=lease_s)
            return [
                OutboxMessage(
                    id=r.id,
                    channel=r.channel,
                    address=r.address,
                    payload=dict(r.payload),
                    attempts=r.attempts,
                    user_id=r.user_id,
                )
                for r in rows
            ]

    async def delivered(self, message_id: int, now: datetime) -> None:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(delivered_at=now, claimed_until=None, attempts=OutboxRow.attempts + 1)
            )

    async def retry(self, message_id: int, error: str, at: datetime) -> None:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(
                    next_attempt_at=at,
                    claimed_until=None,
                    attempts=OutboxRow.attempts + 1,
                    last_error=error[:500],
                )
            )

    async def unreachable(self, message: OutboxMessage, error: str, now: datetime) -> None:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id)
                .values(failed_at=now, claimed_until=None, last_error=error[:500])
            )
            if message.user_id is not None:
                await session.execute(
                    update(UserRow).where(UserRow.id == message.user_id).values(unreachable=True)
                )

    async def dropped(self, message_id: int, now: datetime) -> None:
        """Not to be sent any more (its appointment was cancelled or moved meanwhile)."""
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(failed_at=now, claimed_until=None, last_error="dropped at delivery")
            )

    async def pending(self) -> int:
        async with self._factory() as session:
            query = select(func.count()).where(
                OutboxRow.delivered_at.is_(None), OutboxRow.failed_at.is_(None)
            )
            return int((await session.execute(query)).scalar_one())
