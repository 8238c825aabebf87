"""Turns taken once: the updates a channel delivered that a turn has already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HandledUpdateRow
from storage.shared import dialect_insert


class SqlHandledUpdates:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def first_time(self, channel: str, key: str, now: datetime) -> bool:
        """Record `key` as handled by this turn; False if a committed turn handled it.
        Called under the person's turn lock: a second delivery of the same update waits
        for the first turn to commit or roll back, then sees its row or takes its place."""
        statement = (
            dialect_insert(self._s)(HandledUpdateRow)
            .values(channel=channel, key=key, handled_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "key"])
        )
        result = await self._s.execute(statement)
        return bool(getattr(result, "rowcount", 0))
