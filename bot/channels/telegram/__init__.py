"""The Telegram channel (python-telegram-bot 22 as transport; conversations stay in handlers/).

``build_channel(settings, conversation)`` is what ``bot/app.py`` calls when
``[telegram] enabled = true``. Modules: ``translate`` (update -> Turn, pure), ``render``
(Reply -> Bot API calls, pure), ``commands`` (command menus), ``limits`` (throttling and
retries), ``webhook`` (the route Telegram POSTs to), ``adapter`` (the PTB Application and
the ``Channel`` itself).
"""

from __future__ import annotations

from typing import Any

from bot.channels.kit import Conversation, SharedMemory, turns_at_once
from bot.channels.telegram.adapter import DOWNLOAD_LIMIT, TelegramChannel, TelegramOptions
from bot.channels.telegram.limits import Backoff, Limits
from bot.channels.telegram.translate import CHANNEL
from bot.channels.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from config.settings import ConfigError, Settings


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
        "max_concurrent_turns": turns_at_once(settings.database_url),
    }
    values.update(overrides)
    return TelegramOptions(**values)


def build_channel(
    settings: Settings,
    conversation: Conversation,
    memory: SharedMemory | None = None,
    **overrides: Any,
) -> TelegramChannel:
    """``memory``: where panels and notices are kept (bot/app.py gives the shared one)."""
    return TelegramChannel(options_from(settings, **overrides), conversation, memory)


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
