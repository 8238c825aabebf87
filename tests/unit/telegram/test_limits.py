"""Throttling and retries, without a network."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.telegram.limits import Backoff, Limits, Throttle, retrying

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
QUICK = Backoff(attempts=4, within=5.0, first=0.01, cap=0.02)


async def ok(*args: Any, **kwargs: Any) -> bool:
    return True


async def test_one_chat_is_paced_and_other_chats_are_not() -> None:
    throttle = Throttle(Limits(per_chat_rate=20.0, per_chat_burst=1, overall_rate=0))
    await throttle.initialize()

    async def send(chat: int) -> None:
        await throttle.process_request(ok, (), {}, "sendMessage", {"chat_id": chat}, None)

    started = time.monotonic()
    for _ in range(5):
        await send(1)
    assert time.monotonic() - started >= 0.15  # 1 + 4 × 50 ms
    started = time.monotonic()
    await asyncio.gather(*(send(chat) for chat in range(100, 120)))
    # Paced one after another these 20 would take about a second; unpaced, almost nothing.
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    for _ in range(20):  # not a sending method: never throttled
        await throttle.process_request(ok, (), {}, "answerCallbackQuery", {"chat_id": 1}, None)
    assert time.monotonic() - started < 0.5  # throttled, 20 calls would take about a second


async def test_overall_rate() -> None:
    throttle = Throttle(Limits(per_chat_rate=0, overall_rate=50.0))
    await throttle.initialize()
    started = time.monotonic()
    await asyncio.gather(
        *(
            throttle.process_request(ok, (), {}, "sendMessage", {"chat_id": n}, None)
            for n in range(75)
        )
    )
    assert time.monotonic() - started >= 0.4  # 50 at once, then 25 at 50/s


async def test_retry_after_is_honoured() -> None:
    calls: list[float] = []

    async def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RetryAfter(1)
        return "fet"

    assert await retrying(flaky, QUICK) == "fet"
    assert calls[1] - calls[0] >= 1.0


@pytest.mark.parametrize("error", [NetworkError("Bad Gateway (502)"), TimedOut()])
async def test_network_errors_are_retried(error: Exception) -> None:
    attempts = 0

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise error
        return attempts

    assert await retrying(flaky, QUICK) == 3


@pytest.mark.parametrize(
    "error", [BadRequest("Chat not found"), Forbidden("Forbidden: bot was blocked by the user")]
)
async def test_final_errors_are_not_retried(error: Exception) -> None:
    attempts = 0

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        raise error

    with pytest.raises(type(error)):
        await retrying(failing, QUICK)
    assert attempts == 1


async def test_the_budget_is_bounded() -> None:
    attempts = 0

    async def down() -> None:
        nonlocal attempts
        attempts += 1
        raise NetworkError("Bad Gateway (502)")

    with pytest.raises(NetworkError):
        await retrying(down, QUICK)
    assert attempts == QUICK.attempts
