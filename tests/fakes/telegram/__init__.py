"""Faithful Telegram Bot API emulator for tests (see ``/work/shared/reference/telegram.md``).

    async with TelegramEmulator() as emu:
        app = (
            Application.builder()
            .token(emu.token)
            .base_url(emu.api_base_url)          # "http://127.0.0.1:PORT/bot"
            .base_file_url(emu.file_base_url)    # "http://127.0.0.1:PORT/file/bot"
            .build()
        )
        user = emu.user(id=1001, first_name="Anna", language_code="ca")
        await user.send_text("hola")
        [reply] = await user.wait_for_messages(1)

HTTP side: ``{root}/bot{token}/{method}`` (GET/POST; query, form-urlencoded, multipart, JSON),
``{root}/file/bot{token}/{file_path}`` (``%3A`` accepted), envelope with HTTP status ==
error_code, long-polling getUpdates with offsets, webhook delivery, flood control and fault
injection. Control side: ``emu.user()``, ``VirtualUser`` / ``VirtualGroup``, ``emu.calls``,
``emu.stats``, ``emu.answered_callbacks``.

Modules: ``server`` (lifecycle, control side, HTTP), ``methods`` (Bot API methods, webhook
delivery), ``users`` (virtual users/groups), ``html`` (Telegram HTML parser ported from tdlib),
``limits`` (flood control, fault injection, counters), ``models`` (stored state).
"""

from .html import HtmlParseError, parse_html
from .limits import SENDING_METHODS, FaultPlan, RateLimits, Stats
from .models import ApiError, Call, Chat, ChatMessage, StoredFile, UploadedFile
from .server import (
    DEFAULT_TOKEN,
    DOWNLOAD_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    UPLOAD_LIMIT,
    TelegramEmulator,
)
from .users import CallbackPress, VirtualGroup, VirtualUser

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD_LIMIT",
    "PHOTO_UPLOAD_LIMIT",
    "SENDING_METHODS",
    "UPLOAD_LIMIT",
    "ApiError",
    "Call",
    "CallbackPress",
    "Chat",
    "ChatMessage",
    "FaultPlan",
    "HtmlParseError",
    "RateLimits",
    "Stats",
    "StoredFile",
    "TelegramEmulator",
    "UploadedFile",
    "VirtualGroup",
    "VirtualUser",
    "parse_html",
]
