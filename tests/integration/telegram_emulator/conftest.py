"""Fixtures: an emulator per test and a real python-telegram-bot 22 Application against it."""

from __future__ import annotations

import datetime as dtm
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import TelegramEmulator


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(webhook_retry_delay=0.05, webhook_max_attempts=4) as e:
        yield e


def ptb_app(emu: TelegramEmulator, token: str | None = None, **builder: Any) -> Application:
    """The exact builder lines the project's Telegram channel uses against the emulator."""
    b = (
        Application.builder()
        .token(token or emu.token)
        .base_url(emu.api_base_url)  # http://127.0.0.1:PORT/bot  (PTB appends the token)
        .base_file_url(emu.file_base_url)  # http://127.0.0.1:PORT/file/bot
    )
    for name, value in builder.items():
        b = getattr(b, name)(value)
    return b.build()


def ptb_bot(emu: TelegramEmulator, token: str | None = None) -> Bot:
    return Bot(token or emu.token, base_url=emu.api_base_url, base_file_url=emu.file_base_url)


@asynccontextmanager
async def polling(app: Application, **kw: Any) -> AsyncIterator[Application]:
    """initialize/start/start_polling inside the running loop, and the reverse on exit."""
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(**kw)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


class Seen:
    """What the echo bot's handlers received."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.callbacks: list[str] = []
        self.downloads: list[bytes] = []
        self.errors: list[BaseException] = []
        self.members: list[tuple[str, str]] = []


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Sí", callback_data="yes"),
            InlineKeyboardButton("No", callback_data="no"),
        ]
    ]
)


def echo_app(emu: TelegramEmulator, seen: Seen, **builder: Any) -> Application:
    """Echo + button handler + /start + file download: a minimal PTB bot."""
    app = ptb_app(emu, **builder)

    async def start(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.updates.append(update)
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            f"<b>Hola</b>, args={' '.join(ctx.args or [])}", reply_markup=KEYBOARD
        )

    async def echo(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.updates.append(update)
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    async def button(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.updates.append(update)
        query = update.callback_query
        assert query is not None and query.data is not None
        seen.callbacks.append(query.data)
        await query.answer(f"triat: {query.data}")
        if query.message is not None and getattr(query.message, "reply_markup", None):
            await query.edit_message_text(f"Has triat {query.data}")

    async def files(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.updates.append(update)
        msg = update.message
        assert msg is not None
        attachment = msg.photo[-1] if msg.photo else msg.document
        assert attachment is not None
        try:
            tg_file = await attachment.get_file()
            seen.downloads.append(bytes(await tg_file.download_as_bytearray()))
            await msg.reply_text(f"rebut {tg_file.file_size} bytes")
        except Exception as exc:  # the test inspects it
            seen.errors.append(exc)
            await msg.reply_text("massa gran")

    async def member(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.updates.append(update)
        cmu = update.my_chat_member
        assert cmu is not None
        seen.members.append((cmu.old_chat_member.status, cmu.new_chat_member.status))

    async def on_error(update: object, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert ctx.error is not None
        seen.errors.append(ctx.error)

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, files))
    app.add_handler(CallbackQueryHandler(button))
    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(on_error)
    return app


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def jpeg(width: int = 1600, height: int = 1200) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, "JPEG")
    return out.getvalue()
