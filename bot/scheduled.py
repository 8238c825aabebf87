"""The retention purge as a job of the scheduler (bot/scheduler.py), so that only the
leading instance runs it (storage/leader.py): at most once every ``PURGE_EVERY``. An
instance that takes the lead over purges at its first tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.retention import purge
from storage.blobs import EncryptedFileBlobStore

log = logging.getLogger("videotramit.scheduled")

PURGE_EVERY = timedelta(hours=1)


class RetentionPurge:
    def __init__(
        self, sessions: async_sessionmaker[Any], blobs: EncryptedFileBlobStore | None
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._last: datetime | None = None
        self.report: dict[str, int] | None = None  # what the last run removed

    async def __call__(self, now: datetime) -> dict[str, int] | None:
        """Purge if it is due: the report, or None when it was not."""
        if self._last is not None and now - self._last < PURGE_EVERY:
            return None
        self.report = await purge(self._sessions, now, dry_run=False, blobs=self._blobs)
        self._last = now
        log.info("retention purge", extra={"removed": self.report})
        return self.report
