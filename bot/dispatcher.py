"""The outbox dispatcher: delivers queued proactive messages until each is acknowledged."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from bot.channels.base import SENDING_HOOK, Channel, Unreachable
from bot.worker import Worker, cancel_and_wait
from domain.model import OutboxMessage
from handlers.messages import Choice, OutFile, Reply
from handlers.ports import Clock
from storage.outbox import OutboxStore

log = logging.getLogger("videotramit.dispatcher")

CLAIM_BATCH = 50  # messages claimed by one pass of run_once
# Messages in flight in the service's loop: enough to keep the channel's limiter fed at
# Telegram's 30 msg/s while the next ones are claimed; each waits at most WINDOW / 30 s in
# the limiter, far inside its lease.
WINDOW = 60
STOP_GRACE_SECONDS = 5.0
# How long a claim holds a message; renewed every third of it while the message is held
# (waiting for its turn, or in the channel's call), so only a process that died lets it
# run out.
LEASE_SECONDS = 120


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 15 min, with jitter so instances do not stampede."""
    base = min(5 * 2**attempts, 900)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


class NotHeld(Exception):
    """The message is not held by this claim any more: not to be sent by us."""


FileLoader = Callable[[str], Awaitable[bytes]]
# Renders a typed notification at delivery (handlers.notify.NoticeRenderer): the Reply, or
# None when it is not to be sent any more (its appointment was cancelled or moved).
Render = Callable[[OutboxMessage], Awaitable[Reply | None]]


async def reply_from(payload: Mapping[str, Any], files: FileLoader | None) -> Reply:
    """Rebuild a Reply from its outbox payload (buttons, and a file by its blob hash)."""
    choices = tuple(Choice(token=t, label=label) for t, label in payload.get("choices", []))
    attached = payload.get("file")
    file = None
    if attached and "data" in attached:  # a turn's reply keeps its (small) file inline
        data = base64.b64decode(attached["data"])
        file = OutFile(name=attached["name"], data=data, content_type=attached["type"])
    elif attached and files is not None:
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
        by_number=bool(payload.get("by_number", True)),
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
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        super().__init__(idle_seconds)
        self.lease_seconds = lease_seconds
        # Real seconds between renewals (each renews to the clock's now + the lease).
        self.renew_seconds = lease_seconds / 3
        self._held: set[int] = set()  # claimed by this dispatcher and not settled yet
        self._renewing: asyncio.Task[None] | None = None
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
        """One pass: deliver what is due now and wait for all of it (tests, `drain`);
        returns how many messages were settled."""
        results = await asyncio.gather(*(await self._claim(CLAIM_BATCH)))
        return sum(results)

    async def run(self) -> None:
        """The service's loop, a pipeline: up to WINDOW messages are in flight, and more
        are claimed as soon as half of them are settled, so the channel's rate limiter
        always has the next ones waiting instead of idling while the slowest message of a
        batch finishes and the next batch is claimed and rendered."""
        in_flight: set[asyncio.Task[int]] = set()
        try:
            while True:
                claimed: list[asyncio.Task[int]] = []
                if len(in_flight) <= WINDOW // 2:
                    try:
                        claimed = [
                            asyncio.create_task(c)
                            for c in await self._claim(WINDOW - len(in_flight))
                        ]
                    except Exception:
                        log.exception("claim failed", extra={"worker": self.name})
                    in_flight.update(claimed)
                if claimed and len(in_flight) <= WINDOW // 2:
                    continue  # there may be more due: claim again before waiting
                if not in_flight:
                    await self._sleep()
                    continue
                self._wake.clear()
                woken = asyncio.create_task(self._wake.wait())
                try:
                    done, _ = await asyncio.wait(
                        in_flight | {woken},
                        timeout=self._idle,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
                for task in done - {woken}:
                    in_flight.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("delivery task failed", exc_info=task.exception())
        finally:
            await self._finish(in_flight)

    async def _claim(self, limit: int) -> list[Coroutine[Any, Any, int]]:
        """Claim up to `limit` due messages; a coroutine delivering each chat's in order."""
        if not self._channels or limit <= 0:
            return []
        messages = await self._store.claim(
            list(self._channels),
            self._now(),
            limit=limit,
            lease_s=self.lease_seconds,
            only=self._only,
        )
        self._held.update(message.id for message in messages)
        self._keep_leases()
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
        for message in messages:
            by_chat.setdefault((message.channel, message.address), []).append(message)
        return [self._deliver_in_order(group) for group in by_chat.values()]

    async def _finish(self, in_flight: set[asyncio.Task[int]]) -> None:
        """On stop, sends already under way get a moment to be acknowledged and recorded
        (cancelled in the channel's call, a message would be reported as INTERRUPTED)."""
        if in_flight:
            _, late = await asyncio.wait(in_flight, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def _keep_leases(self) -> None:
        if self._held and (self._renewing is None or self._renewing.done()):
            self._renewing = asyncio.create_task(self._renew_leases(), name="outbox-leases")

    async def _renew_leases(self) -> None:
        """While this dispatcher holds messages, their leases are renewed; it ends when
        the last one is settled (and starts again with the next claim)."""
        while self._held:
            await asyncio.sleep(self.renew_seconds)
            if not self._held:
                return
            try:
                await self._store.renew(set(self._held), self._now(), lease_s=self.lease_seconds)
            except Exception as exc:
                # The next renewal tries again; the lease has two more thirds to run.
                log.warning("lease renewal failed", extra={"error": exc.__class__.__name__})

    async def stop(self) -> None:
        await super().stop()
        if self._renewing is not None:
            await cancel_and_wait(self._renewing)
            self._renewing = None

    async def _deliver_in_order(self, messages: list[OutboxMessage]) -> int:
        try:
            return await self._deliver_each(messages)
        finally:
            # Settled, or given up (not held any more, or left to its retry): not renewed.
            self._held.difference_update(message.id for message in messages)

    async def _deliver_each(self, messages: list[OutboxMessage]) -> int:
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
                await self._deliver_marked(channel, message, reply)
            except NotHeld:
                return settled  # settled meanwhile by another claim (its lease ran out)
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
            finally:
                self._held.discard(message.id)
            settled += 1
        return settled

    async def _deliver_marked(self, channel: Channel, message: OutboxMessage, reply: Reply) -> None:
        """Deliver, with `sending_at` committed just before the platform is called: by the
        channel's pacing when the message's turn comes, else right before `deliver`."""
        marked = False

        async def mark() -> None:
            nonlocal marked
            if marked:
                return  # a reply sent as several messages is marked once
            if not await self._store.sending(message.id, self._now()):
                raise NotHeld(message.id)
            marked = True

        token = SENDING_HOOK.set(mark)
        try:
            if not getattr(channel, "marks_sending", False):
                await mark()
            await channel.deliver(message.address, reply)
        finally:
            SENDING_HOOK.reset(token)

    async def release_dead_leases(self) -> int:
        """The only instance on its database (SQLite) starts: whatever this database says
        is being sent belongs to a process that died. Returns how many were cut mid-send."""
        if not self._channels:
            return 0
        return await self._store.release_dead_leases(
            list(self._channels), self._now(), only=self._only
        )

    async def _reply(self, message: OutboxMessage) -> Reply | None:
        """A typed notification is written now (its kind's renderer, in its own unit of
        work); a message queued with its text (older rows) is rebuilt as it was."""
        if "kind" in message.payload and self._render is not None:
            return await self._render(message)
        return await reply_from(message.payload, self._files)
