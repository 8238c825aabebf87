"""Flood control, fault injection and the counters tests read."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

# Methods Telegram counts against the per-chat / global message limits (lower-case, as dispatched).
SENDING_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage", "sendDocument", "sendPhoto", "sendAudio", "sendVideo", "sendVoice",
        "sendAnimation", "sendSticker", "sendMediaGroup", "sendLocation", "sendContact",
        "sendPoll", "sendDice", "copyMessage", "forwardMessage", "editMessageText",
        "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia",
    )
)  # fmt: skip


@dataclass
class RateLimits:
    """Flood-control settings (reference §4.1): rates in tokens per second, bursts = bucket sizes.

    Defaults: ~1 msg/s per chat with a small burst, 20 msg/min per group, 30 msg/s overall.
    """

    enabled: bool = True
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: float = 20.0
    per_group_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30
    methods: frozenset[str] = SENDING_METHODS

    @classmethod
    def off(cls) -> RateLimits:
        return cls(enabled=False)


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if available now)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else math.inf

    def take(self) -> None:
        self.tokens -= 1.0


class FloodControl:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._chats: dict[int, TokenBucket] = {}
        self._groups: dict[int, TokenBucket] = {}
        self._global: TokenBucket | None = None

    def reset(self) -> None:
        self._chats.clear()
        self._groups.clear()
        self._global = None

    def check(self, method: str, chat_id: int | None, is_group: bool) -> int:
        """Consumes a send slot; returns 0 if allowed, else ``retry_after`` (integer s >= 1)."""
        lim = self.limits
        if not lim.enabled or method not in lim.methods:
            return 0
        now = time.monotonic()
        buckets: list[TokenBucket] = []
        if self._global is None:
            self._global = TokenBucket(lim.global_per_second, lim.global_burst)
        buckets.append(self._global)
        if chat_id is not None:
            if chat_id not in self._chats:
                self._chats[chat_id] = TokenBucket(lim.per_chat_per_second, lim.per_chat_burst)
            buckets.append(self._chats[chat_id])
            if is_group:
                if chat_id not in self._groups:
                    self._groups[chat_id] = TokenBucket(
                        lim.per_group_per_minute / 60.0, lim.per_group_burst
                    )
                buckets.append(self._groups[chat_id])
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.take()
        return 0


@dataclass
class FaultPlan:
    """A share of calls answered with an injected fault instead of being processed.

    kinds: "429" (flood error with ``retry_after``), "502" (front-end Bad Gateway, HTML body),
    "502-empty" (Bad Gateway, empty body), "reset" (connection closed without an answer).
    methods: lower-case method names the plan applies to; ``None`` means every method except
    getUpdates. Include "download" to fault file downloads.
    """

    share: float = 0.0
    kinds: tuple[str, ...] = ("429", "502")
    methods: frozenset[str] | None = None
    retry_after: int = 1
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if self.methods is not None:
            self.methods = frozenset(m.lower() for m in self.methods)
        unknown = set(self.kinds) - {"429", "502", "502-empty", "reset"}
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}")

    def applies_to(self, method: str) -> bool:
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods

    def draw(self, method: str) -> str | None:
        if self.share <= 0 or not self.applies_to(method):
            return None
        if self.rng.random() >= self.share:
            return None
        return self.rng.choice(self.kinds)


@dataclass
class ScriptedFault:
    """Answer the next ``times`` calls of ``method`` with this error (deterministic)."""

    method: str
    error_code: int
    description: str | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class Stall:
    """Accept the ``at``-th successful call of ``method`` from now (its effect is kept, as
    Telegram would keep a message it received) and never answer it until ``released``:
    the client sees a call hanging after the server acted on it."""

    method: str
    at: int
    seen: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def hits(self, method: str) -> bool:
        """Counts a successful call of ``method``; True for the one to stall."""
        if method != self.method or self.released.is_set():
            return False
        self.seen += 1
        return self.seen == self.at


@dataclass
class Stats:
    """Counters. ``unretried_429`` is what is left when a client gave up after a 429."""

    requests: int = 0
    throttled: int = 0  # 429s issued, any cause
    throttled_by_limit: int = 0
    throttled_by_fault: int = 0
    retried_after_429: int = 0  # an identical request arrived after a 429
    retried_too_early: int = 0  # ...but before retry_after had elapsed
    bad_gateway: int = 0
    resets: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0
    webhook_dropped: int = 0
    webhook_refused: int = 0  # a balanced target refused the connection: sent to the next
    updates_dropped_not_allowed: int = 0
    _pending_429: dict[str, list[float]] = field(default_factory=dict, repr=False)

    @property
    def unretried_429(self) -> int:
        return sum(len(v) for v in self._pending_429.values())

    def note_429(self, key: str, retry_after: int) -> None:
        self._pending_429.setdefault(key, []).append(time.monotonic() + retry_after)

    def note_request(self, key: str) -> None:
        pending = self._pending_429.get(key)
        if not pending:
            return
        allowed_at = pending.pop(0)
        if not pending:
            del self._pending_429[key]
        self.retried_after_429 += 1
        if time.monotonic() + 0.05 < allowed_at:  # small slack for timer granularity
            self.retried_too_early += 1


def lower_set(methods: Iterable[str] | None) -> frozenset[str] | None:
    return None if methods is None else frozenset(m.lower() for m in methods)
