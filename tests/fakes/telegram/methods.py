"""Bot API methods of the emulator: parameter decoding by schema, validation with the real
server's error texts (tdlib/telegram-bot-api ``Client.cpp``), stored results, webhook delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import logging
import mimetypes
import random
import re
import string
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from .html import HtmlParseError, parse_html, trim_formatted
from .limits import FloodControl, RateLimits, Stats
from .models import (
    ApiError,
    Chat,
    ChatMessage,
    ClockLike,
    Params,
    StoredFile,
    bad_request,
    read_clock,
)

if TYPE_CHECKING:
    from .users import CallbackPress

log = logging.getLogger(__name__)

MiB = 1 << 20
DOWNLOAD_LIMIT = 20 * MiB  # tdlib Client.h MAX_DOWNLOAD_FILE_SIZE = 20 << 20
UPLOAD_LIMIT = 50 * MiB
PHOTO_UPLOAD_LIMIT = 10 * MiB
MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")

UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
)  # fmt: skip
# tdlib Client.h DEFAULT_ALLOWED_UPDATE_TYPES leaves these out
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
INLINE_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip

Handler = Callable[[Params], Awaitable[Any]]


class _Described:
    """A successful result that also carries a ``description`` (e.g. "Webhook was set")."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


class _Poller:
    terminated = False


class BotApiMethods:
    """The Bot API side of ``TelegramEmulator`` (which provides the state declared here)."""

    token: str
    bot: dict[str, Any]
    clock: ClockLike
    limits: RateLimits
    flood: FloodControl
    stats: Stats
    long_poll_max: float
    group_privacy: bool
    strict_webhook_url: bool
    webhook_retry_delay: float
    webhook_max_delay: float
    webhook_max_attempts: int
    webhook_timeout: float
    chats: dict[int, Chat]
    files: dict[str, StoredFile]
    updates: list[dict[str, Any]]
    allowed_updates: list[str] | None
    webhook: dict[str, Any] | None
    webhook_last_error: tuple[int, str] | None
    commands: dict[tuple[str, str], list[dict[str, str]]]
    default_menu_button: dict[str, Any]
    answered_callbacks: list[dict[str, Any]]
    _rng: random.Random
    _file_counter: int
    _pending_callbacks: dict[str, CallbackPress]
    _poller: _Poller | None
    _signal: asyncio.Event
    _closing: bool
    _webhook_task: asyncio.Task[None] | None
    _webhook_attempts: dict[int, int]
    webhook_targets: list[str]
    acknowledged_by: dict[int, str]
    webhook_errors: list[tuple[int, str, str]]
    _next_target: int
    _refused_in_a_row: int

    def _notify(self) -> None:
        raise NotImplementedError

    def _clock_seconds(self) -> float:
        """Telegram's time in unix seconds, by the emulator's clock: the test's clock when it
        gave one, so message dates agree with the bot's time."""
        return read_clock(self.clock).timestamp()

    def _unix_now(self) -> int:
        """Telegram's time as the Bot API states it (whole unix seconds)."""
        return int(self._clock_seconds())

    # ------------------------------------------------------------------ content helpers

    @staticmethod
    def _quoted(msg: ChatMessage) -> dict[str, Any]:
        quoted = copy.deepcopy(msg.data)
        quoted.pop("reply_to_message", None)
        return quoted

    def _mint_file(self, data: bytes, kind: str, **kw: Any) -> StoredFile:
        alphabet = string.ascii_letters + string.digits + "-_"
        prefix = "AgACAgIAAxkBAAI" if kind == "photos" else "BQACAgIAAxkBAAI"
        file_id = prefix + "".join(self._rng.choice(alphabet) for _ in range(56))
        unique = ("AQAD" if kind == "photos" else "AgAD") + "".join(
            self._rng.choice(alphabet) for _ in range(12)
        )
        stored = StoredFile(file_id, unique, bytes(data), kind, **kw)
        self.files[file_id] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[StoredFile]:
        """PhotoSize files from smallest to largest; the largest keeps the original bytes."""
        try:
            from PIL import Image

            img = Image.open(io.BytesIO(data))
            width, height = img.size
        except Exception:  # not an image Pillow reads: a single size, assumed dimensions
            return [self._mint_file(data, "photos", width=800, height=600, mime_type="image/jpeg")]
        sizes = []
        for side in (90, 320, 800):
            if max(width, height) <= side:
                break
            scale = side / max(width, height)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            out = io.BytesIO()
            img.convert("RGB").resize((w, h)).save(out, "JPEG", quality=80)
            sizes.append(self._mint_file(out.getvalue(), "photos", width=w, height=h))
        sizes.append(self._mint_file(data, "photos", width=width, height=height))
        return sizes

    @staticmethod
    def _photo_wire(sizes: list[StoredFile]) -> list[dict[str, Any]]:
        return [
            {
                "file_id": s.file_id,
                "file_unique_id": s.file_unique_id,
                "file_size": s.size,
                "width": s.width,
                "height": s.height,
            }
            for s in sizes
        ]

    @staticmethod
    def _document_wire(f: StoredFile) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": f.size,
        }
        if f.file_name:
            d["file_name"] = f.file_name
        if f.mime_type:
            d["mime_type"] = f.mime_type
        return d

    @staticmethod
    def _scope_key(scope: dict[str, Any]) -> str:
        key = {"type": scope["type"]}
        if "chat_id" in scope:
            key["chat_id"] = str(scope["chat_id"])
        if "user_id" in scope:
            key["user_id"] = str(scope["user_id"])
        return json.dumps(key, sort_keys=True)

    # ------------------------------------------------------------------ validation helpers

    def _require_chat(self, p: Params, name: str = "chat_id") -> Chat:
        chat_id = p.get_chat_id(name)
        if chat_id is None:
            raise bad_request("chat_id is empty")
        chat: Chat | None
        if isinstance(chat_id, str):
            wanted = chat_id.lstrip("@").lower()
            chat = next(
                (c for c in self.chats.values() if (c.username or "").lower() == wanted), None
            )
        else:
            chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _check_reachable(self, chat: Chat) -> None:
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.bot_member:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_member:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")

    def _check_flood(self, method: str, chat: Chat) -> None:
        retry_after = self.flood.check(method, chat.id, chat.is_group)
        if retry_after:
            self.stats.throttled_by_limit += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _format(
        self,
        text: str,
        parse_mode: str | None,
        entities: Any,
        limit: int,
        too_long: str,
        allow_empty: bool = False,
    ) -> tuple[str, list[dict[str, Any]]]:
        if len(text.encode()) > (1 << 15):
            raise bad_request("text is too long")
        mode = (parse_mode or "").lower()
        if not text:
            plain, ents = "", []
        elif mode in ("", "none"):
            plain, ents = text, list(entities or [])
        elif mode == "html":
            try:
                plain, ents = parse_html(text)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("markdown", "markdownv2"):
            plain, ents = text, []  # not modelled: text kept verbatim, no entities
        else:
            raise bad_request("unsupported parse_mode")
        plain, ents = trim_formatted(plain, ents)
        if not plain and not allow_empty:
            raise bad_request("text must be non-empty")
        if len(plain) > limit:
            raise bad_request(too_long)
        return plain, ents

    def _text_content(self, p: Params, field: str, limit: int) -> tuple[dict[str, Any], str | None]:
        text = p.get_str(field)
        is_caption = field == "caption"
        if not text and not is_caption:
            raise bad_request("message text is empty")
        ent_field = "caption_entities" if is_caption else "entities"
        plain, ents = self._format(
            text or "",
            p.get_str("parse_mode"),
            p.get_json(ent_field, "entities"),
            limit,
            "message caption is too long" if is_caption else "message is too long",
            allow_empty=is_caption,
        )
        content: dict[str, Any] = {}
        if plain:
            content[field] = plain
            if ents:
                content[ent_field] = ents
        return content, text

    def _markup(self, p: Params, inline_only: bool = False) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" not in markup:
            if inline_only and any(k in markup for k in ("keyboard", "remove_keyboard")):
                raise bad_request("inline keyboard expected")
            return None  # reply keyboards etc. are accepted but never echoed in a Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in rows:
            for b in row:
                self._check_button(b)
        return {"inline_keyboard": rows} if any(rows) else None

    @staticmethod
    def _check_button(b: Any) -> None:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(b, dict):
            raise bad_request(prefix + "InlineKeyboardButton must be an Object")
        if not isinstance(b.get("text"), str):
            raise bad_request(prefix + 'Can\'t find field "text"')
        data = b.get("callback_data")
        if isinstance(data, str) and data:
            if len(data.encode()) > 64:
                raise bad_request("BUTTON_DATA_INVALID")
            return
        if b.get("url") or any(
            k in b for k in INLINE_BUTTON_ACTIONS if k not in ("url", "callback_data")
        ):
            return
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")

    def _reply_target(self, chat: Chat, p: Params) -> ChatMessage | None:
        reply = p.get_json("reply_parameters", "reply parameters")
        mid = p.get_int("reply_to_message_id")
        allow = p.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            mid = reply.get("message_id", mid)
            allow = bool(reply.get("allow_sending_without_reply", allow))
        if not mid:
            return None
        target = chat.messages.get(int(mid))
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _store_bot_message(
        self,
        chat: Chat,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        reply_to: ChatMessage | None,
        sent_text: str | None,
        p: Params,
        files: dict[str, StoredFile] | None = None,
    ) -> dict[str, Any]:
        mid = chat.new_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": self.bot,
            "chat": chat.wire(),
            "date": self._unix_now(),
        }
        if reply_to is not None:
            data["reply_to_message"] = self._quoted(reply_to)
        data.update(content)
        if markup is not None:
            data["reply_markup"] = markup
        msg = ChatMessage(
            chat.id,
            mid,
            True,
            data,
            sent_text=sent_text,
            parse_mode=p.raw.get("parse_mode"),
            files=files or {},
        )
        chat.messages[mid] = msg
        self._notify()
        return data

    def _editable(self, p: Params) -> tuple[Chat, ChatMessage]:
        if p.get_str("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
        chat = self._require_chat(p)
        mid = p.get_int("message_id")
        if not mid:
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: Chat, msg: ChatMessage, method: str, new: dict[str, Any]) -> Any:
        if all(msg.data.get(k) == v for k, v in new.items()):
            raise bad_request(NOT_MODIFIED)
        self._check_reachable(chat)
        self._check_flood(method, chat)
        msg.history.append(copy.deepcopy(msg.data))
        for k, v in new.items():
            if v is None:
                msg.data.pop(k, None)
            else:
                msg.data[k] = v
        msg.data["edit_date"] = self._unix_now()
        self._notify()
        return msg.data

    # ------------------------------------------------------------------ Bot API methods

    async def _m_getMe(self, p: Params) -> Any:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_logOut(self, p: Params) -> Any:
        return True

    async def _m_close(self, p: Params) -> Any:
        # tdlib: close is refused during the first 10 minutes after launch
        raise ApiError(429, "Too Many Requests: retry after 600", {"retry_after": 600})

    async def _m_getUpdates(self, p: Params) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get_int("offset", 0) or 0
        limit = p.get_int("limit", 100) or 100
        if limit <= 0 or limit > 100:
            limit = 100
        timeout = float(max(0, min(p.get_int("timeout", 0) or 0, self.long_poll_max)))
        allowed = p.get_json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        if self._poller is not None:
            self._poller.terminated = True
        me = _Poller()
        self._poller = me
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if me.terminated:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                if self.updates:
                    return self.updates[:limit]
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing or self.webhook is not None:
                    return []
                signal = self._signal
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(signal.wait(), remaining)
        finally:
            if self._poller is me:
                self._poller = None

    async def _m_setWebhook(self, p: Params) -> Any:
        url = p.get_str("url", "") or ""
        if p.get_bool("drop_pending_updates"):
            self.updates.clear()
        if not url:
            return await self._delete_webhook()
        parts = urlsplit(url)
        schemes = ("https",) if self.strict_webhook_url else ("http", "https")
        if parts.scheme not in schemes or not parts.hostname:
            raise bad_request("invalid webhook URL specified")
        if self.strict_webhook_url and (parts.port or 443) not in (443, 80, 88, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = p.get_str("secret_token", "") or ""
        if len(secret) > 256:
            raise bad_request("secret token is too long")
        if not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = p.get_int("max_connections", 40) or 40
        allowed = p.get_json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        same = self.webhook is not None and self.webhook["url"] == url
        self.webhook = {
            "url": url,
            "secret_token": secret or None,
            "max_connections": max(1, min(max_connections, 100)),
            "ip_address": p.get_str("ip_address"),
        }
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_loop())
        self._notify()
        return _Described(True, "Webhook is already set" if same else "Webhook was set")

    async def _m_deleteWebhook(self, p: Params) -> Any:
        if p.get_bool("drop_pending_updates"):
            self.updates.clear()
        return await self._delete_webhook()

    async def _delete_webhook(self) -> _Described:
        was_set = self.webhook is not None
        self.webhook = None
        self.webhook_last_error = None
        await self._stop_webhook_task()
        self._notify()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _m_getWebhookInfo(self, p: Params) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
            if self.webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    async def _m_sendMessage(self, p: Params) -> Any:
        chat = self._require_chat(p)
        content, sent = self._text_content(p, "text", MAX_TEXT)
        markup = self._markup(p)
        reply_to = self._reply_target(chat, p)
        self._check_reachable(chat)
        self._check_flood("sendmessage", chat)
        return self._store_bot_message(chat, content, markup, reply_to, sent, p)

    async def _m_editMessageText(self, p: Params) -> Any:
        chat, msg = self._editable(p)
        if "text" not in msg.data:
            raise bad_request("there is no text in the message to edit")
        content, sent = self._text_content(p, "text", MAX_TEXT)
        new = {
            "text": content["text"],
            "entities": content.get("entities"),
            "reply_markup": self._markup(p, inline_only=True),
        }
        result = self._apply_edit(chat, msg, "editmessagetext", new)
        msg.sent_text, msg.parse_mode = sent, p.raw.get("parse_mode")
        return result

    async def _m_editMessageCaption(self, p: Params) -> Any:
        chat, msg = self._editable(p)
        if not msg.files:
            raise bad_request("there is no caption in the message to edit")
        content, sent = self._text_content(p, "caption", MAX_CAPTION)
        new = {
            "caption": content.get("caption"),
            "caption_entities": content.get("caption_entities"),
            "reply_markup": self._markup(p, inline_only=True),
        }
        result = self._apply_edit(chat, msg, "editmessagecaption", new)
        msg.sent_text = sent
        return result

    async def _m_editMessageReplyMarkup(self, p: Params) -> Any:
        chat, msg = self._editable(p)
        new = {"reply_markup": self._markup(p, inline_only=True)}
        return self._apply_edit(chat, msg, "editmessagereplymarkup", new)

    async def _m_deleteMessage(self, p: Params) -> Any:
        chat = self._require_chat(p)
        msg = chat.messages.get(p.get_int("message_id") or 0)
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if chat.is_group and not msg.from_bot:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self._notify()
        return True

    async def _m_answerCallbackQuery(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        text = p.get_str("text")
        answer = {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time", 0),
        }
        press = self._pending_callbacks.get(query_id)
        if press is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        del self._pending_callbacks[query_id]
        answer["data"] = press.data
        answer["message_id"] = press.message.message_id
        self.answered_callbacks.append(answer)
        press._answered(answer)
        self._notify()
        return True

    async def _m_sendChatAction(self, p: Params) -> Any:
        chat = self._require_chat(p)
        action = p.get_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_reachable(chat)
        return True

    def _input_file(self, p: Params, field: str, kind: str) -> tuple[StoredFile | None, bytes]:
        """Returns (already known file, b"") or (None, uploaded bytes) — validating sizes."""
        value = p.raw.get(field)
        upload = p.files.get(field)
        if upload is None and value and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if kind == "photos":
                self._check_photo(upload.data)
            return None, upload.data
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if value in self.files:
            return self.files[value], b""
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _check_photo(data: bytes) -> None:
        # Telegram's own server errors (passed through upper-case by the Bot API server);
        # limits from the sendPhoto docs / tdlib inputMessagePhoto: 10 MB, w + h <= 10000,
        # ratio <= 20. The >10 MB text is as reported for MTProto clients (webogram #1011).
        if len(data) > PHOTO_UPLOAD_LIMIT:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        try:
            from PIL import Image

            width, height = Image.open(io.BytesIO(data)).size
        except Exception:
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")

    async def _m_sendDocument(self, p: Params) -> Any:
        chat = self._require_chat(p)
        known, data = self._input_file(p, "document", "documents")
        content, sent = self._text_content(p, "caption", MAX_CAPTION)
        markup = self._markup(p)
        reply_to = self._reply_target(chat, p)
        self._check_reachable(chat)
        self._check_flood("senddocument", chat)
        if known is None:
            upload = p.files.get("document") or p.files[p.raw["document"][len("attach://") :]]
            name = upload.filename or "document"
            mime = mimetypes.guess_type(name)[0] or upload.content_type
            known = self._mint_file(
                data, "documents", file_name=name, mime_type=mime or "application/octet-stream"
            )
        content = {"document": self._document_wire(known), **content}
        return self._store_bot_message(
            chat, content, markup, reply_to, sent, p, files={"document": known}
        )

    async def _m_sendPhoto(self, p: Params) -> Any:
        chat = self._require_chat(p)
        known, data = self._input_file(p, "photo", "photos")
        content, sent = self._text_content(p, "caption", MAX_CAPTION)
        markup = self._markup(p)
        reply_to = self._reply_target(chat, p)
        self._check_reachable(chat)
        self._check_flood("sendphoto", chat)
        sizes = [known] if known is not None else self._photo_sizes(data)
        content = {"photo": self._photo_wire(sizes), **content}
        return self._store_bot_message(
            chat, content, markup, reply_to, sent, p, files={"photo": sizes[-1]}
        )

    async def _m_getFile(self, p: Params) -> Any:
        file_id = p.get_str("file_id") or ""
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        if stored.file_path is None:
            ext = ""
            if stored.file_name and "." in stored.file_name:
                ext = "." + stored.file_name.rsplit(".", 1)[1]
            elif stored.kind == "photos":
                ext = ".jpg"
            self._file_counter += 1
            stored.file_path = f"{stored.kind}/file_{self._file_counter}{ext}"
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def _command_scope(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope", "BotCommandScope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
        kinds = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")
        if scope["type"] not in (*kinds, "chat", "chat_administrators", "chat_member"):
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        if scope["type"] not in kinds and not scope.get("chat_id"):
            raise bad_request("can't parse BotCommandScope: Empty chat_id specified")
        lang = p.get_str("language_code", "") or ""
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad_request("invalid language code specified")
        return self._scope_key(scope), lang

    async def _m_setMyCommands(self, p: Params) -> Any:
        commands = p.get_json("commands", "commands")
        key = self._command_scope(p)
        if commands is None:
            commands = []
        if not isinstance(commands, list):
            raise bad_request("expected an Array of BotCommand")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        clean = []
        for c in commands:
            if not isinstance(c, dict) or "command" not in c or "description" not in c:
                raise bad_request("can't parse BotCommand: expected an Object")
            command = str(c["command"]).strip().removeprefix("/")
            description = str(c["description"]).strip()
            if not command:
                raise bad_request("command must be non-empty")
            if len(command) > 32:
                raise bad_request("command length must not exceed 32")
            if not _COMMAND_RE.match(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not description:
                raise bad_request("command description must be non-empty")
            if len(description) > 256:
                raise bad_request("command description length must not exceed 256")
            clean.append({"command": command, "description": description})
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        return True

    async def _m_getMyCommands(self, p: Params) -> Any:
        return self.commands.get(self._command_scope(p), [])

    async def _m_deleteMyCommands(self, p: Params) -> Any:
        self.commands.pop(self._command_scope(p), None)
        return True

    async def _m_setChatMenuButton(self, p: Params) -> Any:
        button = p.get_json("menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button: MenuButton must be an Object")
        if p.has("chat_id"):
            self._require_chat(p).menu_button = button
        else:
            self.default_menu_button = (
                {"type": "commands"} if button["type"] == "default" else button
            )
        return True

    async def _m_getChatMenuButton(self, p: Params) -> Any:
        if p.has("chat_id"):
            chat = self._require_chat(p)
            if chat.menu_button and chat.menu_button["type"] != "default":
                return chat.menu_button
        return self.default_menu_button

    async def _m_getChat(self, p: Params) -> Any:
        chat = self._require_chat(p)
        return {
            **chat.wire(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ------------------------------------------------------------------ webhook delivery

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _webhook_target(self) -> str:
        """The setWebhook URL, or behind a balancer the next target in turn."""
        assert self.webhook is not None
        if not self.webhook_targets:
            return str(self.webhook["url"])
        target = self.webhook_targets[self._next_target % len(self.webhook_targets)]
        self._next_target += 1
        return target

    async def _reroute(self, exc: aiohttp.ClientConnectorError) -> None:
        """A balanced target refused the connection: the update goes to the next target at
        once; when every target refused in a row, after the retry delay. Never dropped."""
        self.stats.webhook_refused += 1
        self.webhook_last_error = (self._unix_now(), f"Connection error: {exc!r}")
        self._refused_in_a_row += 1
        if self._refused_in_a_row >= len(self.webhook_targets):
            self._refused_in_a_row = 0
            await asyncio.sleep(self.webhook_retry_delay)

    async def _webhook_loop(self) -> None:
        """One update at a time, oldest first; behind a balancer (``balance``) several chats
        at once, up to the webhook's max_connections, each chat's updates still in order."""
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        busy: dict[object, asyncio.Task[None]] = {}  # chat -> its delivery in flight
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                while self.webhook is not None and not self._closing:
                    for chat in [c for c, task in busy.items() if task.done()]:
                        del busy[chat]
                    limit = self.webhook["max_connections"] if self.webhook_targets else 1
                    for update in self.updates:
                        chat = _chat_of(update)
                        if len(busy) >= limit:
                            break
                        if chat not in busy:
                            busy[chat] = asyncio.create_task(self._deliver(session, update))
                    signal = asyncio.ensure_future(self._signal.wait())
                    await asyncio.wait([signal, *busy.values()], return_when="FIRST_COMPLETED")
                    signal.cancel()
        finally:
            for task in busy.values():
                task.cancel()
            await asyncio.gather(*busy.values(), return_exceptions=True)

    async def _deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        """One delivery attempt; after a failure, the wait before the next one."""
        assert self.webhook is not None
        uid = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        error: str | None = None
        retry_after = 0
        target = self._webhook_target()
        try:
            async with session.post(target, data=body, headers=headers) as r:
                await r.read()
                if not 200 <= r.status <= 299:
                    error = f"Wrong response from the webhook: {r.status} {r.reason}"
                    with contextlib.suppress(ValueError):
                        retry_after = int(r.headers.get("Retry-After", "0"))
        except aiohttp.ClientConnectorError as exc:
            if target in self.webhook_targets:
                await self._reroute(exc)
                return
            error = f"Connection error: {exc!r}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection error: {exc!r}"
        if error is None:
            self.stats.webhook_deliveries += 1
            self.acknowledged_by[uid] = target
            self.acknowledged_at[uid] = asyncio.get_running_loop().time()
            self._refused_in_a_row = 0
            self._webhook_attempts.pop(uid, None)
            self.updates = [u for u in self.updates if u["update_id"] != uid]
            self._notify()
            return
        self.stats.webhook_failures += 1
        self.webhook_last_error = (self._unix_now(), error)
        self.webhook_errors.append((uid, target, error))
        attempts = self._webhook_attempts.get(uid, 0) + 1
        self._webhook_attempts[uid] = attempts
        if attempts >= self.webhook_max_attempts:
            log.warning("webhook: dropping update %s after %s attempts", uid, attempts)
            self.stats.webhook_dropped += 1
            self._webhook_attempts.pop(uid, None)
            self.updates = [u for u in self.updates if u["update_id"] != uid]
            self._notify()
            return
        delay = min(self.webhook_max_delay, self.webhook_retry_delay * 2 ** (attempts - 1))
        if retry_after:
            delay = min(float(retry_after), self.webhook_max_delay)
        self._notify()
        await asyncio.sleep(delay)


def _chat_of(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its updates are delivered in order)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat:
            return chat.get("id")
    return ("update", update["update_id"])
