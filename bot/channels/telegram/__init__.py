"""The Telegram channel (python-telegram-bot 22 as transport; conversations stay in handlers/).

``build_channel(settings, conversation, sessions)`` is what ``bot/app.py`` calls when
``[telegram] enabled = true``. Modules: ``translate`` (update -> Turn, pure), ``render``
(Reply -> Bot API calls, pure), ``commands`` (command menus), ``limits`` (throttling and
retries), ``adapter`` (the PTB Application and the ``Channel`` itself).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.channels.telegram.adapter import (
    DOWNLOAD_LIMIT,
    Conversation,
    LanguageOf,
    MarkReachable,
    TelegramChannel,
    TelegramOptions,
)
from bot.channels.telegram.limits import Backoff, Limits
from bot.channels.telegram.translate import CHANNEL
from config.settings import ConfigError, Settings
from storage.db import is_sqlite

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def stored_language(sessions: async_sessionmaker[Any]) -> LanguageOf:
    """The language a Telegram user chose in the bot (None if they never wrote)."""
    from storage.models import UserRow

    async def lookup(external_id: str) -> str | None:
        async with sessions() as session:
            query = select(UserRow.language).where(
                UserRow.channel == CHANNEL, UserRow.external_id == external_id
            )
            value = (await session.execute(query)).scalar_one_or_none()
            return str(value) if value else None

    return lookup


def stored_reachability(sessions: async_sessionmaker[Any]) -> MarkReachable:
    """Record at once that a person blocked (or unblocked) the bot, so nothing is queued
    for them in vain; the outbox also marks them on the first refused send."""
    from storage.models import UserRow

    async def mark(external_id: str, reachable: bool) -> None:
        async with sessions() as session, session.begin():
            await session.execute(
                update(UserRow)
                .where(UserRow.channel == CHANNEL, UserRow.external_id == external_id)
                .values(unreachable=not reachable)
            )

    return mark


def options_from(settings: Settings, **overrides: Any) -> TelegramOptions:
    """Channel options from ``[telegram]``, ``[web]`` and ``[[staff]]``; ConfigError names
    the key when something required is missing."""
    tg = settings.telegram
    token = tg.token.get_secret_value().strip()
    if not token:
        raise ConfigError(
            "telegram.token: required when telegram.enabled is true "
            "(set VIDEOTRAMIT_TELEGRAM__TOKEN to the token BotFather gave you)"
        )
    secret = tg.webhook_secret.get_secret_value()
    if tg.mode == "webhook":
        if not secret:
            raise ConfigError("telegram.webhook_secret: required when telegram.mode is webhook")
        if not all(c.isalnum() or c in "_-" for c in secret) or len(secret) > 256:
            raise ConfigError("telegram.webhook_secret: 1-256 characters of A-Z, a-z, 0-9, _ and -")
    staff_roles = {
        entry.telegram_id.strip(): tuple(entry.roles)
        for entry in settings.staff
        if entry.telegram_id.strip()
    }
    values: dict[str, Any] = {
        "token": token,
        "base_url": tg.base_url,
        "mode": tg.mode,
        "webhook_url": settings.web.public_base_url.rstrip("/") + WEBHOOK_PATH,
        "webhook_secret": secret,
        "languages": tuple(settings.languages),
        "default_language": settings.default_language,
        "staff_roles": staff_roles,
        # SQLite has one writer: turns queue in the channel instead of fighting for the lock.
        "max_concurrent_turns": 1 if is_sqlite(settings.database_url) else 16,
    }
    values.update(overrides)
    return TelegramOptions(**values)


def build_channel(
    settings: Settings,
    conversation: Conversation,
    sessions: async_sessionmaker[Any] | None = None,
    **overrides: Any,
) -> TelegramChannel:
    return TelegramChannel(
        options_from(settings, **overrides),
        conversation,
        language_of=stored_language(sessions) if sessions is not None else None,
        mark_reachable=stored_reachability(sessions) if sessions is not None else None,
    )


__all__ = [
    "CHANNEL",
    "DOWNLOAD_LIMIT",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "Backoff",
    "Limits",
    "TelegramChannel",
    "TelegramOptions",
    "build_channel",
    "options_from",
]
