"""A background worker woken after commits: it does what is due (``run_once``), and when
nothing was, sleeps until woken or ``idle_seconds`` pass. The outbox dispatcher and the
side-effects worker are both one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger("videotramit.worker")


class Worker(ABC):
    name = "worker"

    def __init__(self, idle_seconds: float) -> None:
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> int:
        """Do what is due; how many things were settled."""

    def wake(self) -> None:
        """Called after a commit that may have left work: do it now, not at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                settled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pass failed", extra={"worker": self.name})
                settled = 0
            if not settled:
                await self._sleep()

    async def _sleep(self) -> None:
        """Until woken, or `idle_seconds` pass."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._idle)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def drain(self, within: float = 30.0) -> None:
        """Work until nothing due is left (the demo and tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if not await self.run_once():
                return


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Stop a background loop for good. One cancel() is not always enough: Python 3.11's
    asyncio.wait_for returns its result instead of raising when the cancellation lands
    just as the awaited thing completes (a wake-up, a reply), so the loop goes on and
    awaiting it would never end. It is cancelled again until it is done."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled() and task.exception() is not None:
        log.error("worker ended with an error", exc_info=task.exception())
