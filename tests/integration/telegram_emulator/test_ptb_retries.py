"""PTB's own retry machinery against the emulator's flood control and faults."""

from __future__ import annotations

import time

from telegram.ext import AIORateLimiter

from tests.fakes.telegram import RateLimits, TelegramEmulator

from .conftest import Seen, echo_app, polling, ptb_app


async def test_aioratelimiter_honours_retry_after() -> None:
    limits = RateLimits(per_chat_per_second=5, per_chat_burst=1)
    async with TelegramEmulator(limits=limits) as emu:
        anna = emu.user(id=6001)
        app = ptb_app(emu, rate_limiter=AIORateLimiter(max_retries=3))
        async with app:
            t0 = time.monotonic()
            for i in range(3):
                await app.bot.send_message(anna.id, f"m{i}")
            elapsed = time.monotonic() - t0
        assert [m.text for m in anna.inbox] == ["m0", "m1", "m2"]
        assert emu.stats.throttled >= 1
        assert emu.stats.unretried_429 == 0 and emu.stats.retried_too_early == 0
        assert elapsed >= emu.stats.throttled * 1.0  # it slept retry_after each time


async def test_polling_survives_a_bad_gateway_on_getupdates(emu: TelegramEmulator) -> None:
    seen = Seen()
    anna = emu.user(id=6002)
    async with polling(echo_app(emu, seen)):
        await emu.wait_for(lambda: emu._poller, 3, "first long poll")
        emu.fail_next("getUpdates", 502)
        await anna.send_text("hola")  # wakes the poll; the next poll gets the 502
        await anna.send_text("encara hi ets?")
        replies = await anna.wait_for_messages(2, timeout=5)
    assert [m.text for m in replies] == ["hola", "encara hi ets?"]
    assert [c.status for c in emu.calls_to("getUpdates")].count(502) == 1
