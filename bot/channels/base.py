"""What the dispatcher and the app need from a channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from aiohttp import web

from handlers.messages import Reply


class Unreachable(Exception):
    """The person cannot be reached on this channel any more (e.g. they blocked the bot)."""


# Set by the dispatcher around one delivery. A channel that makes messages wait for their
# turn (Telegram's pacing; ``marks_sending = True`` on the channel) awaits
# ``about_to_send()`` when the turn comes, just before the platform is called, so that a
# message still waiting is not marked as being sent (a crash then would report it as cut
# instead of sending it). Other channels are marked just before ``deliver``.
SENDING_HOOK: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "sending_hook", default=None
)


async def about_to_send() -> None:
    hook = SENDING_HOOK.get()
    if hook is not None:
        await hook()


class Channel(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def deliver(self, address: str, reply: Reply) -> None:
        """Send a proactive message; return only once the platform acknowledged it.
        Raise Unreachable for permanent failures; anything else is retried later."""
        ...


@runtime_checkable
class ServesWeb(Protocol):
    """A channel that needs routes on the service's web server (e.g. a webhook)."""

    def web_routes(self) -> list[web.RouteDef]: ...


@runtime_checkable
class SharesBudget(Protocol):
    """A channel whose platform limits the whole bot (all instances together), e.g.
    Telegram's ~30 messages/s: told how many instances are alive, it takes its part."""

    def share_budget(self, instances: int) -> None: ...
