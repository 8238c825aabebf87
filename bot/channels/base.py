"""What the dispatcher and the app need from a channel."""

from __future__ import annotations

from typing import Protocol

from handlers.messages import Reply


class Unreachable(Exception):
    """The person cannot be reached on this channel any more (e.g. they blocked the bot)."""


class Channel(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def deliver(self, address: str, reply: Reply) -> None:
        """Send a proactive message; return only once the platform acknowledged it.
        Raise Unreachable for permanent failures; anything else is retried later."""
        ...
