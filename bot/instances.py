"""This instance among the others on one database: a heartbeat row every few seconds.

Telegram's overall budget (~30 messages/s) is the bot's, whatever the number of processes
sending for it: each live instance (heard from within ``INSTANCE_ALIVE``) takes an equal
part, and the parts grow back when an instance stops beating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import INSTANCE_BEAT, App
from bot.channels.base import SharesBudget

log = logging.getLogger("videotramit.instances")


async def beat_once(app: App) -> int:
    """Record this instance as alive; share the bot-wide budgets by the live count."""
    alive = await app.instances.beat(app.instance_id, app.clock.now())
    for channel in app.channels.values():
        if isinstance(channel, SharesBudget):
            channel.share_budget(alive)
    return alive


async def heartbeat(app: App, stop: asyncio.Event) -> None:
    """Beat until ``stop``; then leave, so the others take this one's part at once."""
    while not stop.is_set():
        try:
            await beat_once(app)
        except Exception as exc:  # the database is away: keep the last share, try again
            log.warning("heartbeat failed", extra={"error": exc.__class__.__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=INSTANCE_BEAT.total_seconds())
    with contextlib.suppress(Exception):
        await app.instances.leave(app.instance_id)
