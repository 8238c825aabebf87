"""The whole bot on Telegram: real python-telegram-bot over HTTP against the Bot API emulator.

One emulator per test (its flood control off unless a test turns it on), so a test run
again (the `any_hour` runs) meets no users, messages or calls left by an earlier run; each
test starts the service's pieces it needs (app on a SQLite file, the Telegram channel, the
dispatcher, the web server for webhooks) and stops them at the end.
"""

from __future__ import annotations

import asyncio
import socket
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import App, build_app
from bot.channels.telegram import Backoff, Limits, TelegramChannel, build_channel
from bot.web import build_web
from tests.e2e.conftest import bot_database_url
from tests.fakes.telegram_api import ChatMessage, RateLimits, TelegramEmulator, VirtualUser
from tests.support import STAFF_TOML, Clock, office_settings

ANNA_TG = 7001  # staff
LAIA_TG = 7003  # administrator
WEBHOOK_SECRET = "wh-secret_0123456789"
QUICK = Backoff(attempts=12, within=60.0, first=0.05, cap=0.5)


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(
        limits=RateLimits.off(), webhook_retry_delay=0.05, webhook_max_attempts=3
    ) as emulator:
        yield emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def staff_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tomllib.loads(STAFF_TOML)["staff"]
    ids = {"anna": str(ANNA_TG), "laia": str(LAIA_TG)}
    return [{**entry, "telegram_id": ids.get(entry["id"], "")} for entry in entries]


@dataclass
class RunningBot:
    emu: TelegramEmulator
    app: App
    channel: TelegramChannel
    web_url: str = ""
    runner: web.AppRunner | None = None
    people: dict[int, Person] = field(default_factory=dict)

    async def settle(self, chat_id: int | None = None, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until every update sent so far has been handled and answered (in one chat,
        or everywhere)."""
        target = self.emu._next_update_id - 1
        deadline = time.monotonic() + timeout

        def done() -> bool:
            if self.channel.last_update_id < target:
                return False
            return self.channel.idle if chat_id is None else self.channel.chat_idle(chat_id)

        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"bot not settled: seen {self.channel.last_update_id} of {target}, "
                    f"idle={self.channel.idle}\n{self.emu.debug()}"
                )
            await asyncio.sleep(0.01)
        # And the replies sent marked as sent (together, a moment later in the service),
        # so that what the test queues next is not held back behind them.
        await self.app.engine.settle_sent()

    def person(self, user: VirtualUser) -> Person:
        return Person(self, user)


class Person:
    """A Telegram user talking to the bot, with a transcript of what the bot answered."""

    def __init__(self, bot: RunningBot, user: VirtualUser) -> None:
        self.bot = bot
        self.user = user
        self.last: list[ChatMessage] = []
        self.text = ""

    def _new(self) -> list[ChatMessage]:
        self.last = list(self.user.unread)
        self.user.mark_read()
        # What the person sees of the answer now: texts and button labels.
        self.text = "\n".join(
            [m.text or "" for m in self.last] + [b for m in self.last for b in m.button_texts]
        )
        return self.last

    async def say(self, text: str) -> list[ChatMessage]:
        await self.user.send_text(text)
        await self.bot.settle(self.user.chat_id)
        return self._new()

    async def command(self, command: str, payload: str | None = None) -> list[ChatMessage]:
        await self.user.send_command(command, payload)
        await self.bot.settle(self.user.chat_id)
        return self._new()

    def keyboard_message(self, label: str) -> tuple[ChatMessage, str]:
        """The newest message from the bot with a button whose text starts with ``label``."""
        for message in reversed(self.user.inbox):
            for text in message.button_texts:
                if text == label or text.startswith(label):
                    return message, text
        shown = [m.button_texts for m in self.user.inbox[-3:]]
        raise LookupError(f"no button {label!r}; last keyboards: {shown}")

    async def press(self, label: str) -> list[ChatMessage]:
        message, text = self.keyboard_message(label)
        press = await self.user.press(message, text)
        await self.bot.settle(self.user.chat_id)
        assert press.answered, "every button press is answered (answerCallbackQuery)"
        return self._new()

    async def press_nth(self, index: int) -> list[ChatMessage]:
        """Press the ``index``-th button (from 0) of the newest message with buttons."""
        message = next(m for m in reversed(self.user.inbox) if m.buttons)
        press = await self.user.press(message, message.button_texts[index])
        await self.bot.settle(self.user.chat_id)
        assert press.answered
        return self._new()

    async def send_photo(self, data: bytes) -> list[ChatMessage]:
        await self.user.send_photo(data)
        await self.bot.settle(self.user.chat_id)
        return self._new()

    async def send_document(self, data: bytes, name: str, mime: str | None = None) -> list[Any]:
        await self.user.send_document(data, name, mime)
        await self.bot.settle(self.user.chat_id)
        return self._new()


@asynccontextmanager
async def running_bot(
    emu: TelegramEmulator,
    folder: Path,
    clock: Clock,
    *,
    mode: str = "polling",
    limits: Limits | None = None,
    dispatcher: bool = False,
    **channel_options: Any,
) -> AsyncIterator[RunningBot]:
    """The service as `videotramit run` wires it: build_app registers the Telegram channel
    from [telegram]; the test then swaps in one with test-friendly limits and retries."""
    port = free_port()
    settings = office_settings(
        bot_database_url(folder),
        folder,
        staff=staff_entries(),
        telegram={
            "enabled": True,
            "token": emu.token,
            "base_url": emu.base_url,
            "mode": mode,
            "webhook_secret": WEBHOOK_SECRET,
        },
        web={"listen": f"127.0.0.1:{port}", "public_base_url": f"http://127.0.0.1:{port}"},
    )
    app = build_app(settings, clock=clock)
    # Telegram's message dates follow the test's clock too (the emulator is module-wide).
    emu.clock = clock
    assert isinstance(app.channels["telegram"], TelegramChannel)  # wired by bot/app.py
    options: dict[str, Any] = {
        "limits": limits if limits is not None else Limits.off(),
        "replies": QUICK,
        "proactive": Backoff(attempts=3, within=10.0, first=0.05, cap=0.5),
        "poll_timeout": 5,
    }
    options.update(channel_options)
    channel = build_channel(settings, app.engine, app.channel_memory("telegram"), **options)
    app.channels["telegram"] = channel
    await app.prepare_database()
    runner = None
    if mode == "webhook":
        runner = web.AppRunner(build_web(app), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    await channel.start()
    if dispatcher:
        app.dispatcher.start()
        app.effects.start()
    bot = RunningBot(emu, app, channel, f"http://127.0.0.1:{port}", runner)
    try:
        yield bot
    finally:
        await app.close()
        if runner is not None:
            await runner.cleanup()
        if emu.webhook is not None:
            await emu._delete_webhook()
