"""Turns taken once: the updates a channel delivered that a turn has already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HandledUpdateRow


class SqlHandledUpdates:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def first_time(self, channel: str, key: str, now: datetime) -> bool:
        """Record `key` as handled by this turn; False if a committed turn handled it.
        Called under the person's turn lock: a second delivery of the same update waits
        for the first turn to commit or roll back, then sees its row or takes its place."""
        query = select(HandledUpdateRow.key).where(
            HandledUpdateRow.channel == channel, HandledUpdateRow.key == key
        )
        if (await self._s.execute(query)).first() is not None:
            return False
        self._s.add(HandledUpdateRow(channel=channel, key=key, handled_at=now))
        return True
