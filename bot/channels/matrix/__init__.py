"""The Matrix channel (matrix-nio 0.26 with end-to-end encryption; conversations stay in
handlers/).

``build_channel(settings, conversation)`` is what ``bot/app.py`` calls when
``[matrix] enabled = true``. Modules: ``translate`` (event content -> Turn, pure),
``render`` (Reply -> event contents, pure), ``adapter`` (the nio client and the
``Channel`` itself).
"""

from __future__ import annotations

from typing import Any

from bot.channels.kit import Conversation, turns_at_once
from bot.channels.matrix.adapter import MatrixChannel, MatrixOptions
from bot.channels.matrix.translate import CHANNEL
from config.settings import ConfigError, Settings

MiB = 1 << 20


def options_from(settings: Settings, **overrides: Any) -> MatrixOptions:
    """Channel options from ``[matrix]``; ConfigError names the key when something
    required is missing. The crypto store and session live in ``data_dir/matrix``."""
    mx = settings.matrix
    homeserver = mx.homeserver.strip().rstrip("/")
    if not homeserver.startswith(("https://", "http://")):
        raise ConfigError("matrix.homeserver: required, e.g. https://matrix.example.org")
    user_id = mx.user_id.strip()
    if not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("matrix.user_id: the bot's full Matrix id, e.g. @oac:example.org")
    password = mx.password.get_secret_value()
    token = mx.access_token.get_secret_value().strip()
    values: dict[str, Any] = {
        "homeserver": homeserver,
        "user_id": user_id,
        "password": password,
        "access_token": token,
        "device_id": mx.device_id.strip(),
        "store_dir": settings.data_dir / "matrix",
        "default_language": settings.default_language,
        "download_limit": settings.storage.max_file_mb * MiB,
        "max_concurrent_turns": turns_at_once(settings.database_url),
    }
    values.update(overrides)
    return MatrixOptions(**values)


def build_channel(
    settings: Settings, conversation: Conversation, **overrides: Any
) -> MatrixChannel:
    return MatrixChannel(options_from(settings, **overrides), conversation)


__all__ = ["CHANNEL", "MatrixChannel", "MatrixOptions", "build_channel", "options_from"]
