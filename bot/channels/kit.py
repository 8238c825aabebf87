"""What every chat channel needs, whatever the platform: a serial queue per chat, the
memory of which message holds a panel (to edit it in place), and a throttle for notices.

Panels and notices must be known to every instance (a clerk's panel is redrawn by whichever
instance sends the next update): a channel keeps them through the ``SharedMemory`` port,
which bot/app.py wires to tables (storage/shared.py); ``LocalMemory`` keeps them in the
process when a channel runs on its own.

Channels translate and render; they never touch storage. What they learn about a person (a
file too big, a block, a group) is a Turn for the engine (handlers/messages.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar

from handlers.messages import Answer, Reply, Turn

log = logging.getLogger("videotramit.channels")

K = TypeVar("K", bound=Hashable)
E = TypeVar("E")
M = TypeVar("M")


def turns_at_once(database_url: str) -> int:
    """How many engine turns a channel lets run at the same time: SQLite has one writer,
    so turns queue in the channel instead of fighting for its lock; PostgreSQL takes 16."""
    scheme = database_url.split(":", 1)[0].split("+", 1)[0].lower()
    return 1 if scheme == "sqlite" else 16


class Conversation(Protocol):
    """The engine, as a channel sees it."""

    async def handle(self, turn: Turn) -> list[Reply]: ...
    async def answer(self, turn: Turn) -> Answer: ...
    async def sent(self, answer: Answer, count: int) -> None: ...


class ChatQueues(Generic[K, E]):
    """One worker per busy chat: a chat's events are served in order, different chats
    concurrently (at most ``max_active`` at the same time)."""

    def __init__(
        self,
        serve: Callable[[E], Awaitable[None]],
        *,
        max_active: int = 64,
        on_error: Callable[[E, Exception], None] | None = None,
    ) -> None:
        self._serve = serve
        self._on_error = on_error
        self._queues: dict[K, deque[E]] = {}
        self._workers: dict[K, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max_active)
        self._pending = 0
        self._idle_event = asyncio.Event()
        self._idle_event.set()

    def submit(self, key: K, event: E) -> None:
        self._pending += 1
        self._idle_event.clear()
        self._queues.setdefault(key, deque()).append(event)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key))

    @property
    def idle(self) -> bool:
        """Nothing queued or being served (tests and benchmarks wait for this)."""
        return self._pending == 0

    def chat_idle(self, key: K) -> bool:
        return key not in self._workers

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until nothing is queued or being served; False if that took too long."""
        try:
            await asyncio.wait_for(self._idle_event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _work(self, key: K) -> None:
        try:
            while True:
                queue = self._queues.get(key)
                if not queue:
                    return
                event = queue.popleft()
                try:
                    async with self._slots:
                        await self._serve(event)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self._on_error is not None:
                        self._on_error(event, exc)
                    else:
                        log.error("chat event failed", extra={"error": exc.__class__.__name__})
                finally:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle_event.set()
        finally:
            if not self._queues.get(key):
                self._queues.pop(key, None)
            self._workers.pop(key, None)

    async def close(self) -> None:
        """Cancel what is still queued or running (after ``wait_idle`` gave it its chance)."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._queues.clear()
        self._pending = 0
        self._idle_event.set()


class PanelMemory(Generic[K, M]):
    """Which message shows each chat's panel (e.g. the staff session panel), so it can be
    redrawn in place. In memory only: after a restart the next panel is a new message."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._panels: OrderedDict[tuple[K, str], M] = OrderedDict()
        self._messages: set[tuple[K, M]] = set()

    def get(self, chat: K, panel: str) -> M | None:
        return self._panels.get((chat, panel))

    def holds_panel(self, chat: K, message: M) -> bool:
        return (chat, message) in self._messages

    def remember(self, chat: K, panel: str, message: M) -> None:
        self.forget(chat, panel)
        self._panels[(chat, panel)] = message
        self._messages.add((chat, message))
        while len(self._panels) > self._size:
            (old_chat, _), old = self._panels.popitem(last=False)
            self._messages.discard((old_chat, old))

    def forget(self, chat: K, panel: str) -> None:
        old = self._panels.pop((chat, panel), None)
        if old is not None:
            self._messages.discard((chat, old))


class NoticeThrottle(Generic[K]):
    """At most one notice per key every ``every`` seconds (e.g. "I only work in private
    chats" in a group); measured on the monotonic clock, not the service's clock."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._told: dict[K, float] = {}

    def due(self, key: K) -> bool:
        now = time.monotonic()
        told = self._told.get(key)
        if told is not None and now - told < self._every:
            return False
        if len(self._told) > 10_000:
            self._told = {k: t for k, t in self._told.items() if now - t < self._every}
        self._told[key] = now
        return True


class SharedMemory(Protocol):
    """What a channel remembers that every instance must see alike. Chats and messages
    are the platform's ids as text."""

    async def panel(self, chat: str, panel: str) -> str | None: ...
    async def holds_panel(self, chat: str, message: str) -> bool: ...
    async def remember_panel(self, chat: str, panel: str, message: str) -> None: ...
    async def forget_panel(self, chat: str, panel: str) -> None: ...
    async def notice_due(self, key: str, every: float) -> bool:
        """True at most once every ``every`` seconds per key."""
        ...


class LocalMemory:
    """``SharedMemory`` in this process only (a channel built without the app)."""

    def __init__(self) -> None:
        self._panels: PanelMemory[str, str] = PanelMemory()
        self._notices: dict[float, NoticeThrottle[str]] = {}

    async def panel(self, chat: str, panel: str) -> str | None:
        return self._panels.get(chat, panel)

    async def holds_panel(self, chat: str, message: str) -> bool:
        return self._panels.holds_panel(chat, message)

    async def remember_panel(self, chat: str, panel: str, message: str) -> None:
        self._panels.remember(chat, panel, message)

    async def forget_panel(self, chat: str, panel: str) -> None:
        self._panels.forget(chat, panel)

    async def notice_due(self, key: str, every: float) -> bool:
        return self._notices.setdefault(every, NoticeThrottle(every)).due(key)


async def send_in_order(replies: Sequence[Reply], send: Callable[[Reply], Awaitable[bool]]) -> int:
    """Send a turn's replies in order until one fails (`send` says False); returns how many
    went out. The failed one and those after it are the outbox's: the engine's `sent`
    leaves them to the dispatcher, which tries them again in the same order."""
    for count, reply in enumerate(replies):
        if not await send(reply):
            return count
    return len(replies)
