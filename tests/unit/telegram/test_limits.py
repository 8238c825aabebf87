"""Throttling and retries, without a network and without waiting.

The throttle runs on an event loop whose clock the test controls (tests/virtual_clock.py):
aiolimiter schedules its wake-ups on the loop, and that loop's clock jumps straight to the
next one when nothing else can run. Each call's instant on that clock is therefore exact
(to a few microseconds) and the same on every run: the tests assert when each call went
out and in which order, never how long the machine took.

The retries get a ``sleep`` that records the waits asked for instead of spending them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.telegram.limits import Backoff, Limits, Throttle, retrying
from tests.virtual_clock import run

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
QUICK = Backoff(attempts=4, within=5.0, first=0.01, cap=0.02)
EXACT = 1e-4  # instants on the virtual clock are exact to well within this


@dataclass(frozen=True)
class Sent:
    at: float  # seconds on the loop's clock since the burst was started
    method: str
    chat: int


def burst(limits: Limits, calls: Iterable[tuple[str, int]], *, instances: int = 1) -> list[Sent]:
    """Start all ``calls`` (method, chat) at once through a fresh throttle (one of
    ``instances`` live ones), on the virtual clock; return them in the order they went out."""

    async def main() -> list[Sent]:
        throttle = Throttle(limits)
        await throttle.initialize()
        throttle.share(instances)
        loop = asyncio.get_running_loop()
        started = loop.time()
        out: list[Sent] = []

        async def one(method: str, chat: int) -> None:
            async def callback(*args: Any, **kwargs: Any) -> bool:
                out.append(Sent(loop.time() - started, method, chat))
                return True

            await throttle.process_request(callback, (), {}, method, {"chat_id": chat}, None)

        await asyncio.gather(*(one(method, chat) for method, chat in calls))
        return out

    return run(main)


def instants(sent: list[Sent], method: str, chat: int) -> list[float]:
    return [s.at for s in sent if (s.method, s.chat) == (method, chat)]


def at(*seconds: float) -> Any:
    return pytest.approx(list(seconds), abs=EXACT)


def test_one_chat_is_paced_and_other_chats_are_not() -> None:
    # The shipped limits: a private chat gets a burst of 3, then 0.9 messages a second
    # (and the other chats' 7 with chat 1's first 3 fit the overall burst).
    others = range(100, 107)
    sent = burst(
        Limits(),
        [("sendMessage", 1)] * 6
        + [("sendMessage", chat) for chat in others]
        + [("answerCallbackQuery", 1)] * 10  # not sending methods: Telegram does not
        + [("getFile", 1)] * 10,  # count them, so they never wait
    )

    assert len(sent) == 6 + 7 + 20
    step = 1 / Limits().per_chat_rate
    assert instants(sent, "sendMessage", 1) == at(0, 0, 0, step, 2 * step, 3 * step)
    for chat in others:
        assert instants(sent, "sendMessage", chat) == at(0)
    assert instants(sent, "answerCallbackQuery", 1) == at(*[0] * 10)
    assert instants(sent, "getFile", 1) == at(*[0] * 10)
    # Nothing waited behind chat 1: its fourth message is the first thing held back.
    held = [(s.method, s.chat) for s in sent if s.at > EXACT]
    assert held == [("sendMessage", 1)] * 3


def test_the_configured_rate_is_the_pace() -> None:
    sent = burst(
        Limits(per_chat_rate=20.0, per_chat_burst=1, overall_rate=0),
        [("sendMessage", 1)] * 5 + [("editMessageText", 2)] * 3,
    )
    assert instants(sent, "sendMessage", 1) == at(0, 0.05, 0.10, 0.15, 0.20)
    assert instants(sent, "editMessageText", 2) == at(0, 0.05, 0.10)


def test_a_group_gets_20_a_minute_and_a_private_chat_beside_it_is_not_slowed() -> None:
    group = -100_123
    sent = burst(
        Limits(per_chat_rate=0, group_per_minute=20.0, overall_rate=0),
        [("sendMessage", group)] * 23 + [("sendMessage", 7)] * 5,
    )
    assert instants(sent, "sendMessage", group) == at(*[0] * 20, 3, 6, 9)
    assert instants(sent, "sendMessage", 7) == at(*[0] * 5)


def test_the_overall_rate_caps_a_burst() -> None:
    sent = burst(
        Limits(per_chat_rate=0, overall_rate=50.0, overall_burst=20),
        [("sendMessage", chat) for chat in range(75)],
    )
    assert len([s for s in sent if s.at <= EXACT]) == 20  # the burst at once...
    # ...then the other 55 one by one at 50 a second.
    assert [s.at for s in sent if s.at > EXACT] == at(*(n / 50 for n in range(1, 56)))


def test_the_default_overall_burst_is_half_telegrams_and_the_rate_close_to_it() -> None:
    """Telegram's bucket holds ~30: a burst of 15 leaves room for messages bunched up by
    the network, so the rate can be 29.7/s (it was 29/s with a burst of 29)."""
    sent = burst(Limits(per_chat_rate=0), [("sendMessage", chat) for chat in range(40)])
    assert len([s for s in sent if s.at <= EXACT]) == 15
    assert [s.at for s in sent if s.at > EXACT] == at(*(n / 29.7 for n in range(1, 26)))


def test_instances_share_the_overall_burst_too() -> None:
    sent = burst(
        Limits(per_chat_rate=0, overall_rate=30.0, overall_burst=10),
        [("sendMessage", chat) for chat in range(8)],
        instances=2,
    )
    assert len([s for s in sent if s.at <= EXACT]) == 5


def test_limits_off_never_wait() -> None:
    sent = burst(Limits.off(), [("sendMessage", 1)] * 40 + [("sendMessage", -5)] * 40)
    assert max(s.at for s in sent) <= EXACT


class Waits:
    """A ``sleep`` for ``retrying`` that records each wait instead of spending it."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.asked: list[float] = []
        self.log = log if log is not None else []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.log.append(f"wait {seconds}")


async def test_retry_after_is_honoured() -> None:
    log: list[str] = []
    waits = Waits(log)

    async def flaky() -> str:
        log.append("call")
        if log.count("call") == 1:
            raise RetryAfter(7)
        return "fet"

    assert await retrying(flaky, QUICK, sleep=waits) == "fet"
    [asked] = waits.asked
    # What Telegram asked for, and a hair more so we never come back early — not the
    # exponential backoff (QUICK would have waited at most 0.01 s).
    assert 7 < asked <= 7.3
    assert log == ["call", f"wait {asked}", "call"]


@pytest.mark.parametrize("error", [NetworkError("Bad Gateway (502)"), TimedOut()])
async def test_network_errors_are_retried_with_a_growing_backoff(error: Exception) -> None:
    attempts = 0
    waits = Waits()

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise error
        return attempts

    assert await retrying(flaky, QUICK, sleep=waits) == 4
    # first × 2^(n-1), capped, with jitter between half and all of it.
    first, second, third = waits.asked
    assert 0.005 <= first <= 0.01
    assert 0.01 <= second <= 0.02
    assert 0.01 <= third <= 0.02  # the cap


@pytest.mark.parametrize(
    "error", [BadRequest("Chat not found"), Forbidden("Forbidden: bot was blocked by the user")]
)
async def test_final_errors_are_not_retried(error: Exception) -> None:
    attempts = 0
    waits = Waits()

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        raise error

    with pytest.raises(type(error)):
        await retrying(failing, QUICK, sleep=waits)
    assert attempts == 1
    assert waits.asked == []


async def test_the_budget_is_bounded() -> None:
    attempts = 0
    waits = Waits()

    async def down() -> None:
        nonlocal attempts
        attempts += 1
        raise NetworkError("Bad Gateway (502)")

    with pytest.raises(NetworkError):
        await retrying(down, QUICK, sleep=waits)
    assert attempts == QUICK.attempts
    assert len(waits.asked) == QUICK.attempts - 1  # no wait after the last attempt


async def test_the_bots_overall_budget_is_shared_by_the_live_instances() -> None:
    throttle = Throttle(Limits(overall_rate=29.0, per_chat_rate=0, group_per_minute=0))
    await throttle.initialize()

    async def send() -> bool:
        return True

    assert throttle.overall_rate == 29.0
    throttle.share(2)
    assert throttle.overall_rate == 14.5
    throttle.share(40)  # less than one message a second each: still sends
    assert throttle.overall_rate == 29.0 / 40
    assert await throttle.process_request(send, (), {}, "sendMessage", {"chat_id": 1}, None)
    throttle.share(0)  # never divided by nothing
    assert throttle.overall_rate == 29.0
