"""The Telegram channel on the Bot API emulator (issue 3).

    .venv/bin/python -m benchmarks telegram        (or: python -m benchmarks.bench_telegram)

1. **Updates handled per second** — the full bot (engine, SQLite on disk, python-telegram-bot
   over HTTP) against a bare PTB echo bot, on the same emulator, in the same run, flood
   control off (the figure measures processing, not Telegram's limits). ``USERS`` people
   each send ``MESSAGES`` messages as fast as the emulator takes them; the echo bot answers
   each with one message, the full bot runs a real conversation (start, language, privacy,
   help, menus, /book, cancel...: one to three answers per update). The clock stops when the
   last answer has been acknowledged. The two bots take turns, ``ROUNDS`` times each (the
   machine's load varies), and the best round of each is compared. Target: ratio ≥ 0.5.
2. **Proactive sends** — 1,000 outbox messages to 1,000 different chats, delivered by the
   service's outbox dispatcher through the Telegram channel (its default limits), with the
   emulator enforcing Telegram's 30 messages/s overall. Target: ≥ 90% of 30/s, no 429 left
   unretried, none lost.

Prints::

    BENCH telegram_updates <updates/s> updates/s ratio=<full/echo>
    BENCH telegram_echo_baseline <updates/s> updates/s
    BENCH telegram_proactive_rate <msg/s> msg/s ratio=<rate/30>
    BENCH telegram_proactive_delivered <n> messages ratio=<delivered/1000>
    BENCH telegram_proactive_unretried_429 <n> responses
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.app import App, build_app
from bot.channels.telegram import Limits, TelegramChannel, build_channel
from tests.fakes.telegram_api import RateLimits, TelegramEmulator, VirtualUser
from tests.support import Clock, office_settings

USERS = int(os.environ.get("BENCH_TG_USERS", "50"))
MESSAGES = 20  # per user
ROUNDS = 3  # echo and full bot measured in turns; the best of each is compared
PROACTIVE = int(os.environ.get("BENCH_TG_PROACTIVE", "1000"))
TELEGRAM_RATE = 30.0
# One person's 20 inputs: typed numbers pick buttons, words and commands work anywhere.
SCRIPT = [
    "/start", "1", "1", "ajuda", "/my", "/book", "ajuda", "cancel·la", "/language", "1",
    "/help", "/book", "1", "cancel·la", "hola", "/my", "menu", "ajuda", "/book", "cancel·la",
]  # fmt: skip


def settings_for(emu: TelegramEmulator, folder: Path) -> Any:
    return office_settings(
        f"sqlite+aiosqlite:///{folder / 'vt.db'}",
        folder,
        telegram={"enabled": True, "token": emu.token, "base_url": emu.base_url},
    )


async def wait_until(predicate: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def echo_rate(emu: TelegramEmulator, first_id: int) -> float:
    """The baseline: a bare PTB echo bot on the same emulator, in the same run."""
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
    people = [emu.user(id=first_id + i) for i in range(USERS)]
    total = USERS * MESSAGES
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    try:
        started = time.perf_counter()
        for n in range(MESSAGES):
            for person in people:
                await person.send_text(f"missatge {n}")
        await wait_until(lambda: sum(len(p.inbox) for p in people) >= total, 120, "echoes")
        elapsed = time.perf_counter() - started
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    await emu.drain(5)
    return total / elapsed


async def send(person: VirtualUser, text: str) -> None:
    if text.startswith("/"):
        await person.send_command(text[1:])
    else:
        await person.send_text(text)


async def full_rate(emu: TelegramEmulator, app: App, first_id: int) -> tuple[float, int]:
    """The full bot: a fresh Telegram channel on the (already migrated) app."""
    channel = build_channel(app.settings, app.engine, limits=Limits.off())
    app.channels["telegram"] = channel
    await channel.start()
    people = [emu.user(id=first_id + i, language_code="ca") for i in range(USERS)]
    try:
        first = emu._next_update_id
        started = time.perf_counter()
        for text in SCRIPT[:MESSAGES]:
            for person in people:
                await send(person, text)
        target = emu._next_update_id - 1
        await wait_until(
            lambda: channel.last_update_id >= target and channel.idle, 120, "the full bot"
        )
        elapsed = time.perf_counter() - started
        answers = sum(len(p.inbox) for p in people)
    finally:
        await channel.stop()
    return (target - first + 1) / elapsed, answers


async def updates_per_second(folder: Path) -> tuple[list[float], list[float], int]:
    """Echo and full bot in turns (the machine's load changes; the best round counts)."""
    echo: list[float] = []
    full: list[float] = []
    answers = 0
    async with TelegramEmulator(limits=RateLimits.off()) as emu:
        settings = settings_for(emu, folder)
        app = build_app(settings, clock=Clock())
        await app.prepare_database()
        try:
            await full_rate(emu, app, 900_000)  # warm-up: imports, caches, first queries
            for n in range(ROUNDS):
                echo.append(await echo_rate(emu, 100_000 + n * 1000))
                rate, answers = await full_rate(emu, app, 200_000 + n * 1000)
                full.append(rate)
                emu.calls.clear()
        finally:
            await app.close()
    return echo, full, answers


async def proactive(folder: Path) -> dict[str, Any]:
    async with TelegramEmulator(limits=RateLimits()) as emu:  # Telegram's limits enforced
        settings = settings_for(emu, folder)
        app = build_app(settings, clock=Clock())  # rows are due by the clock that queued them
        channel = app.channels["telegram"]
        assert isinstance(channel, TelegramChannel)  # as `videotramit run` builds it
        await app.prepare_database()
        people = [emu.user(id=300_000 + i, language_code="ca") for i in range(PROACTIVE)]
        async with app.uow() as uow:
            for person in people:
                user = await uow.users.get_or_create(
                    "telegram",
                    str(person.id),
                    address=str(person.id),
                    display_name="",
                    language="ca",
                )
                await uow.outbox.enqueue(
                    channel="telegram",
                    address=str(person.id),
                    payload={"text": f"Recordatori per a {person.id}: demà a les 9:30."},
                    user_id=user.id,
                )
            await uow.commit()
        await channel.start()
        emu.stats.throttled_by_limit = 0
        try:
            started = time.perf_counter()
            app.dispatcher.start()
            await wait_until(
                lambda: app.dispatcher.delivered >= PROACTIVE, 180, "proactive deliveries"
            )
            elapsed = time.perf_counter() - started
        finally:
            await app.close()
        got = [len(p.inbox) for p in people]
        return {
            "rate": PROACTIVE / elapsed,
            "delivered": sum(1 for n in got if n == 1),
            "duplicates": sum(n - 1 for n in got if n > 1),
            "throttled": emu.stats.throttled,
            "unretried_429": emu.stats.unretried_429,
            "retried_too_early": emu.stats.retried_too_early,
            "seconds": elapsed,
        }


async def run() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        echo, full, answers = await updates_per_second(folder / "updates")
        print(
            f"# {USERS} people x {MESSAGES} updates, {ROUNDS} rounds; echo bot: "
            f"{' '.join(f'{r:.0f}' for r in echo)}/s; full bot: "
            f"{' '.join(f'{r:.0f}' for r in full)}/s ({answers} answers per round)"
        )
        best_full, best_echo = max(full), max(echo)
        print(f"BENCH telegram_updates {best_full:.1f} updates/s ratio={best_full / best_echo:.2f}")
        print(f"BENCH telegram_echo_baseline {best_echo:.1f} updates/s")
        result = await proactive(folder / "proactive")
        print(
            f"# proactive: {PROACTIVE} messages in {result['seconds']:.1f} s; 429 answered: "
            f"{result['throttled']}, retried too early: {result['retried_too_early']}, "
            f"duplicates: {result['duplicates']}"
        )
        rate = result["rate"]
        print(f"BENCH telegram_proactive_rate {rate:.1f} msg/s ratio={rate / TELEGRAM_RATE:.2f}")
        delivered = result["delivered"]
        print(
            f"BENCH telegram_proactive_delivered {delivered} messages "
            f"ratio={delivered / PROACTIVE:.3f}"
        )
        print(f"BENCH telegram_proactive_unretried_429 {result['unretried_429']} responses")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
