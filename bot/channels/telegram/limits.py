"""Staying within Telegram's limits, and retrying what can be retried.

* ``Throttle`` is a PTB rate limiter: every message-sending call waits for its chat's bucket
  (about 1 message/s in a private chat, with a short burst; 20/min in a group) and for the
  bot's overall bucket (30/s by default, a little less so that clock jitter between us and
  Telegram does not cost a 429). Other calls (answerCallbackQuery, getFile...) are not
  throttled, as Telegram does not count them.
* ``retrying`` runs one Bot API call with tenacity: ``RetryAfter`` (429) waits exactly what
  Telegram asked (plus a little), network errors, timeouts and 5xx back off exponentially
  with jitter; anything else (400, 403...) is final and raised at once.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import random
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from bot.channels.base import about_to_send

T = TypeVar("T")

# Bot API methods Telegram counts against the per-chat and overall message limits.
THROTTLED = frozenset(
    name.lower()
    for name in {
        "sendMessage", "sendDocument", "sendPhoto", "sendAudio", "sendVideo", "sendVoice",
        "sendAnimation", "sendSticker", "sendMediaGroup", "sendLocation", "sendContact",
        "copyMessage", "forwardMessage", "editMessageText", "editMessageCaption",
        "editMessageReplyMarkup", "editMessageMedia",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limits:
    """Client-side sending limits. A rate of 0 turns that limiter off (tests only)."""

    # Messages per second in one private chat after a short burst, as Telegram tolerates
    # (~1/s). The margin keeps a message that reached Telegram late from making the next
    # one look early to its counter.
    per_chat_rate: float = 0.9
    per_chat_burst: int = 3
    group_per_minute: float = 20.0
    # Telegram's ~30/s overall. What costs a 429 is not the rate but a burst arriving
    # bunched up: against Telegram's bucket of ~30, a burst of B at a rate r stays inside
    # it while the network delays messages unevenly by up to (30 - B) / r seconds; and a
    # pause of the sender (a busy machine) is made up for up to B / r seconds. B = 15 at
    # 29.7/s is half a second either way; 29 at 29/s (before) tolerated 34 ms of jitter
    # and gave up 1 msg/s for it.
    overall_rate: float = 29.7
    overall_burst: int = 15

    @classmethod
    def off(cls) -> Limits:
        return cls(per_chat_rate=0, per_chat_burst=1, group_per_minute=0, overall_rate=0)


class Throttle(BaseRateLimiter[dict[str, Any]]):
    """Waits for the chat's and the bot's buckets before each message-sending call."""

    MAX_IDLE_BUCKETS = 5000

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._overall: AsyncLimiter | None = None
        self._chats: dict[object, AsyncLimiter] = {}
        self._groups: dict[object, AsyncLimiter] = {}
        self.instances = 1  # live instances sharing the bot's overall budget

    async def initialize(self) -> None:
        self._overall = self._overall_bucket()

    def _overall_bucket(self) -> AsyncLimiter | None:
        rate = self.limits.overall_rate / self.instances
        if rate <= 0:
            return None
        # The instances' bursts add up at Telegram as their rates do; a bucket holds at
        # least one message.
        burst = max(1.0, min(self.limits.overall_burst / self.instances, rate))
        return AsyncLimiter(burst, burst / rate)

    def share(self, instances: int) -> None:
        """The bot's overall budget divided among ``instances`` live instances."""
        instances = max(1, instances)
        if instances != self.instances:
            self.instances = instances
            self._overall = self._overall_bucket()

    @property
    def overall_rate(self) -> float:
        """Messages per second this instance may send in all (0: no limit)."""
        return self.limits.overall_rate / self.instances

    async def shutdown(self) -> None:
        self._chats.clear()
        self._groups.clear()

    def _bucket(
        self, table: dict[object, AsyncLimiter], key: object, burst: float, period: float
    ) -> AsyncLimiter:
        limiter = table.get(key)
        if limiter is None:
            if len(table) > self.MAX_IDLE_BUCKETS:
                # Forget chats whose bucket is full again: they have been quiet long enough.
                for stale in [k for k, v in table.items() if v.has_capacity(v.max_rate)]:
                    del table[stale]
            limiter = table[key] = AsyncLimiter(burst, period)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint.lower() in THROTTLED:
            chat = data.get("chat_id")
            limits = self.limits
            is_group = isinstance(chat, str) or (isinstance(chat, int) and chat < 0)
            if chat is not None and is_group and limits.group_per_minute > 0:
                burst = max(limits.group_per_minute, 1)
                await self._bucket(self._groups, chat, burst, 60.0).acquire()
            if chat is not None and limits.per_chat_rate > 0:
                burst = max(limits.per_chat_burst, 1)
                period = burst / limits.per_chat_rate
                await self._bucket(self._chats, chat, burst, period).acquire()
            if self._overall is not None:
                await self._overall.acquire()
            await about_to_send()  # the message's turn: now it is really being sent
        return await callback(*args, **kwargs)


def seconds(value: int | float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def retry_after(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (PTB 22 warns that the type will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return seconds(exc.retry_after)


def transient(exc: BaseException) -> bool:
    """Worth trying again: flood control, network trouble, timeouts, 5xx (not 4xx)."""
    if isinstance(exc, RetryAfter):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


@dataclass(frozen=True, slots=True)
class Backoff:
    """How hard to try one call before giving up (then the caller decides)."""

    attempts: int = 10
    within: float = 300.0  # seconds
    first: float = 0.5
    cap: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RetryAfter):
            # Exactly what Telegram asked for, and a hair more so we never come back early.
            return retry_after(exc) + 0.1 + random.uniform(0, 0.2)
        delay = min(self.cap, self.first * 2 ** (state.attempt_number - 1))
        return delay * random.uniform(0.5, 1.0)


async def retrying(
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    on_retry: Callable[[BaseException], None] | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call`` until it succeeds, fails for good, or the backoff budget is spent.

    ``sleep`` waits between attempts; a test passes one that records the waits asked for
    (e.g. what a 429's ``retry_after`` became) instead of spending them.
    """

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            exc = state.outcome.exception()
            if exc is not None:
                on_retry(exc)

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(transient),
        wait=backoff.wait,
        stop=stop_after_attempt(backoff.attempts) | stop_after_delay(backoff.within),
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
