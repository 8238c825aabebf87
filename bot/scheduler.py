"""One periodic job runner, on the app's clock.

Each tick runs every job once with the clock's "now" (tests move the clock and call
`tick()`; `videotramit run` ticks every `interval` seconds). A `leader` gates each tick:
with several instances on PostgreSQL only the one holding the advisory lock runs the
jobs; on SQLite there is one instance, always the leader. Jobs are idempotent (what they
queue has a dedupe key), so a tick repeated after a crash changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from bot.worker import cancel_and_wait
from handlers.ports import Clock
from storage.leader import AlwaysLeader, Leader

log = logging.getLogger("videotramit.scheduler")

Job = Callable[[datetime], Awaitable[object]]


class Scheduler:
    def __init__(
        self,
        jobs: Mapping[str, Job],
        *,
        clock: Clock,
        leader: Leader | None = None,
        interval: float = 30.0,
    ) -> None:
        self.jobs = dict(jobs)
        self._clock = clock
        self.leader: Leader = leader or AlwaysLeader()
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0

    async def tick(self) -> bool:
        """Run every job once, if this instance leads; False when it does not."""
        if not await self.leader.held():
            return False
        now = self._clock.now()
        for name, job in self.jobs.items():
            try:
                await job(now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled job failed", extra={"job": name})
        self.ticks += 1
        return True

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
