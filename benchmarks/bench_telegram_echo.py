"""Baseline: updates per second a bare python-telegram-bot 22 echo bot handles on the emulator.

    .venv/bin/python -m benchmarks.bench_telegram_echo --users 50 --messages 20

The full-bot benchmark (issue 3, "ratio >= 0.5") compares against ``run_echo()``'s figure.
Flood control is off so the figure measures processing, not Telegram's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.telegram import RateLimits, TelegramEmulator


async def run_echo(users: int = 50, messages: int = 20, limit_s: float = 120.0) -> dict[str, Any]:
    async with TelegramEmulator(limits=RateLimits.off()) as emu:
        app = (
            Application.builder()
            .token(emu.token)
            .base_url(emu.api_base_url)
            .base_file_url(emu.file_base_url)
            .build()
        )

        async def echo(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None and update.message.text is not None
            await update.message.reply_text(update.message.text)

        app.add_handler(MessageHandler(filters.TEXT, echo))
        people = [emu.user(id=100_000 + i) for i in range(users)]
        total = users * messages
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling()
        try:
            t0 = time.perf_counter()
            for n in range(messages):
                for person in people:
                    await person.send_text(f"missatge {n}")
            await emu.wait_for(
                lambda: sum(len(p.inbox) for p in people) >= total, limit_s, "all echoes"
            )
            elapsed = time.perf_counter() - t0
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        in_order = all(
            [m.text for m in p.inbox] == [f"missatge {n}" for n in range(messages)] for p in people
        )
        return {
            "bench": "telegram_echo_ptb",
            "updates": total,
            "seconds": round(elapsed, 3),
            "updates_per_second": round(total / elapsed, 1),
            "in_order_per_chat": in_order,
            "http_calls": len(emu.calls),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    args, _ = parser.parse_known_args()  # `python -m benchmarks` passes its own argv
    result = asyncio.run(run_echo(args.users, args.messages))
    print(json.dumps(result))
    print(f"BENCH telegram_echo_ptb {result['updates_per_second']} updates/s")


if __name__ == "__main__":
    main()
