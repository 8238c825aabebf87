"""Fair use: a token bucket per person, on the service's one clock.

Each person has a bucket of `burst` tokens that refills at `per_second`; a turn takes one.
An empty bucket means the person is going faster than anyone typing or tapping does (a
script, a flood): the turn is answered once with a polite "slow down" and then dropped
without touching the database until the bucket refills. In memory, per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Rate:
    burst: int
    per_second: float


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime
    warned: bool = False


class Throttle:
    def __init__(self, rate: Rate, capacity: int = 50_000) -> None:
        self.rate = rate
        self._capacity = capacity
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: tuple[str, str], now: datetime) -> str:
        """ "ok" when the person may go on; "warn" the first time they may not (say so);
        "drop" afterwards, until their bucket refills."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._capacity:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.rate.burst), now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(float(self.rate.burst), bucket.tokens + elapsed * self.rate.per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return "ok"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"

    def _forget_full(self, now: datetime) -> None:
        """Drop the buckets that have refilled (they hold nothing a new one would not)."""
        rate = self.rate
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at).total_seconds() * rate.per_second < rate.burst
        }
