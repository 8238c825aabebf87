"""Stopping the background loops always ends, even when a cancellation is swallowed once:
Python 3.11's asyncio.wait_for returns instead of raising when the cancel lands just as
what it waits for completes. Before, `App.close()` then waited forever (seen as a Telegram
session test stuck at its end until the suite's timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from bot.scheduler import Scheduler
from bot.worker import Worker
from tests.support import Clock


async def stops_within(stop: Coroutine[Any, Any, None], seconds: float) -> bool:
    """Whether `stop` ends by itself. Not asyncio.wait_for: its timeout would cancel the
    stop, and with it the loop being stopped, which is the second cancel that hides the
    bug."""
    stopping = asyncio.create_task(stop)
    done, _ = await asyncio.wait({stopping}, timeout=seconds)
    return stopping in done


class SwallowsOneCancel(Worker):
    """A pass that, the first time it is cancelled, carries on as wait_for's race does."""

    name = "swallower"

    def __init__(self) -> None:
        super().__init__(idle_seconds=0.01)
        self.started = asyncio.Event()
        self.swallowed = 0

    async def run_once(self) -> int:
        self.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
        return 0


async def test_a_worker_whose_cancellation_was_swallowed_still_stops() -> None:
    worker = SwallowsOneCancel()
    worker.start()
    await worker.started.wait()
    assert await stops_within(worker.stop(), seconds=10)
    assert worker.swallowed == 1


async def test_a_scheduler_whose_job_swallowed_the_cancellation_still_stops() -> None:
    started = asyncio.Event()
    swallowed: list[datetime] = []

    async def job(now: datetime) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(now)

    scheduler = Scheduler({"slow": job}, clock=Clock(), interval=0.01)
    scheduler.start()
    await started.wait()
    assert await stops_within(scheduler.stop(), seconds=10)
    assert len(swallowed) == 1
