"""Scheduled work, done by the leading instance only (storage/leader.py).

Today: the retention purge (bot/retention.py), every hour. Another instance checks every
``CHECK_EVERY`` whether it leads, so it takes over within a minute of the leader's death.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from bot.app import App
from bot.retention import purge

log = logging.getLogger("videotramit.scheduled")

CHECK_EVERY = timedelta(seconds=20)
PURGE_EVERY = timedelta(hours=1)


class Scheduled:
    def __init__(self, app: App) -> None:
        self.app = app
        self._last_purge: datetime | None = None

    async def tick(self) -> dict[str, int] | None:
        """One round: if this instance leads and the purge is due, purge. The report, or
        None when nothing was done."""
        if not await self.app.leader.held():
            self._last_purge = None  # when leading again, purge at once
            return None
        now = self.app.clock.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return None
        report = await purge(self.app.sessions, now, dry_run=False)
        self._last_purge = now
        log.info("retention purge", extra={"removed": report})
        return report

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduled work failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_EVERY.total_seconds())
