"""The outbox dispatcher: delivers queued proactive messages until each is acknowledged."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from bot.channels.base import Channel, Unreachable
from bot.worker import Worker
from domain.model import OutboxMessage
from handlers.messages import Choice, OutFile, Reply
from handlers.ports import Clock
from storage.outbox import OutboxStore

log = logging.getLogger("videotramit.dispatcher")


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 15 min, with jitter so instances do not stampede."""
    base = min(5 * 2**attempts, 900)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


FileLoader = Callable[[str], Awaitable[bytes]]
# Renders a typed notification at delivery (handlers.notify.NoticeRenderer): the Reply, or
# None when it is not to be sent any more (its appointment was cancelled or moved).
Render = Callable[[OutboxMessage], Awaitable[Reply | None]]


async def reply_from(payload: Mapping[str, Any], files: FileLoader | None) -> Reply:
    """Rebuild a Reply from its outbox payload (buttons, and a file by its blob hash)."""
    choices = tuple(Choice(token=t, label=label) for t, label in payload.get("choices", []))
    attached = payload.get("file")
    file = None
    if attached and files is not None:
        data = await files(attached["sha256"])
        file = OutFile(name=attached["name"], data=data, content_type=attached["type"])
    extra = {"subject": str(payload["subject"])} if payload.get("subject") else {}
    language = str(payload.get("language", ""))
    return Reply(
        text=str(payload.get("text", "")),
        choices=choices,
        file=file,
        extra=extra,
        language=language,
        panel=str(payload.get("panel", "")),  # redrawn in place where the channel can
        columns=int(payload.get("columns", 1)),
    )


class Dispatcher(Worker):
    name = "outbox-dispatcher"

    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, Channel],
        *,
        clock: Clock,
        idle_seconds: float = 2.0,
        files: FileLoader | None = None,
        only: Mapping[str, Collection[str]] | None = None,
        render: Render | None = None,
    ) -> None:
        super().__init__(idle_seconds)
        self._files = files
        self._render = render
        self._only = only
        self._store = store
        self._channels = channels
        # The app's one clock, also the one that stamps rows when they are queued: a message
        # queued "now" is due by this clock, whatever the machine's time.
        self._now = clock.now
        self.delivered = 0
        self.dropped = 0

    async def run_once(self) -> int:
        """Deliver what is due; returns how many messages were settled."""
        if not self._channels:
            return 0
        messages = await self._store.claim(list(self._channels), self._now(), only=self._only)
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
        for message in messages:
            by_chat.setdefault((message.channel, message.address), []).append(message)
        results = await asyncio.gather(
            *(self._deliver_in_order(group) for group in by_chat.values())
        )
        return sum(results)

    async def _deliver_in_order(self, messages: list[OutboxMessage]) -> int:
        settled = 0
        for position, message in enumerate(messages):
            channel = self._channels[message.channel]
            try:
                reply = await self._reply(message)
                if reply is None:
                    await self._store.dropped(message.id, self._now())
                    self.dropped += 1
                    settled += 1
                    continue
                await channel.deliver(message.address, reply)
            except Unreachable as exc:
                log.warning("recipient unreachable", extra={"outbox_id": message.id})
                await self._store.unreachable(message, str(exc), self._now())
            except Exception as exc:
                log.warning(
                    "delivery failed, will retry",
                    extra={"outbox_id": message.id, "error": exc.__class__.__name__},
                )
                when = self._now() + backoff(message.attempts)
                # Later messages to the same chat wait too, so the order is kept.
                for pending in messages[position:]:
                    await self._store.retry(pending.id, exc.__class__.__name__, when)
                return settled
            else:
                await self._store.delivered(message.id, self._now())
                self.delivered += 1
            settled += 1
        return settled

    async def _reply(self, message: OutboxMessage) -> Reply | None:
        """A typed notification is written now (its kind's renderer, in its own unit of
        work); a message queued with its text (older rows) is rebuilt as it was."""
        if "kind" in message.payload and self._render is not None:
            return await self._render(message)
        return await reply_from(message.payload, self._files)
