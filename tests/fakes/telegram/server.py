"""A Telegram Bot API emulator served by aiohttp inside the test's event loop.

Written from /work/shared/reference/telegram.md; error texts follow tdlib/telegram-bot-api
``Client.cpp`` (the real server). See ``tests/fakes/telegram/__init__.py`` for the overview.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import io
import json
import logging
import mimetypes
import random
import re
import string
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web

from .html import HtmlParseError, parse_html, trim_formatted
from .limits import FaultPlan, FloodControl, RateLimits, ScriptedFault, Stats
from .models import (
    ApiError,
    Call,
    Chat,
    ChatMessage,
    Params,
    StoredFile,
    UploadedFile,
    bad_request,
)

if TYPE_CHECKING:
    from .users import CallbackPress, VirtualUser

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAE-videotramit_TEST_token_0123456789"
MiB = 1 << 20
DOWNLOAD_LIMIT = 20 * MiB  # tdlib Client.h MAX_DOWNLOAD_FILE_SIZE = 20 << 20
UPLOAD_LIMIT = 50 * MiB
PHOTO_UPLOAD_LIMIT = 10 * MiB
MAX_TEXT = 4096
MAX_CAPTION = 1024

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
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_LEADING_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,})?")

Handler = Callable[[Params], Awaitable[Any]]


class _Described:
    """A successful result that also carries a ``description`` (e.g. "Webhook was set")."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


class _Poller:
    terminated = False


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramEmulator:
    """Bot API emulator. Use ``async with TelegramEmulator() as emu`` (or start()/stop()).

    Configure PTB with ``.base_url(emu.api_base_url).base_file_url(emu.file_base_url)``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "videotramit_test_bot",
        bot_first_name: str = "Videotramit",
        host: str = "127.0.0.1",
        port: int = 0,
        limits: RateLimits | None = None,
        faults: FaultPlan | None = None,
        long_poll_max: float = 50.0,
        group_privacy: bool = True,
        webhook_retry_delay: float = 1.0,
        webhook_max_delay: float = 60.0,
        webhook_max_attempts: int = 10,
        webhook_timeout: float = 10.0,
        strict_webhook_url: bool = False,
        seed: int = 0,
        first_update_id: int = 100_000_001,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.host = host
        self.port = port
        self.limits = limits if limits is not None else RateLimits()
        self.flood = FloodControl(self.limits)
        self.faults = faults
        self.scripted_faults: list[ScriptedFault] = []
        self.long_poll_max = long_poll_max
        self.group_privacy = group_privacy
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_delay = webhook_max_delay
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_timeout = webhook_timeout
        self.strict_webhook_url = strict_webhook_url

        self.calls: list[Call] = []
        self.stats = Stats()
        self.answered_callbacks: list[dict[str, Any]] = []
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, VirtualUser] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []  # pending (unconfirmed) updates, oldest first
        self.allowed_updates: list[str] | None = None  # sticky, as set by getUpdates/setWebhook
        self.webhook: dict[str, Any] | None = None
        self.webhook_last_error: tuple[int, str] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}

        self._rng = random.Random(seed)
        self._next_update_id = first_update_id
        self._next_group = 1
        self._next_callback = 1
        self._file_counter = 0
        self._pending_callbacks: dict[str, CallbackPress] = {}
        self._poller: _Poller | None = None
        self._signal = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_attempts: dict[int, int] = {}
        self._methods: dict[str, Handler] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                "sendMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                "deleteMessage", "answerCallbackQuery", "sendDocument", "sendPhoto", "getFile",
                "sendChatAction", "setMyCommands", "getMyCommands", "deleteMyCommands",
                "setChatMenuButton", "getChatMenuButton", "getChat", "logOut", "close",
            )
        }  # fmt: skip

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """Bot API root: methods at ``{base_url}/bot{token}/{method}``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What PTB's ``base_url`` wants (the token is appended by PTB)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What PTB's ``base_file_url`` wants."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> TelegramEmulator:
        self._closing = False
        app = web.Application(client_max_size=UPLOAD_LIMIT + 8 * MiB)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        for press in self._pending_callbacks.values():
            press._expire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ control side

    def user(
        self,
        id: int | None = None,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ca",
        started: bool = True,
    ) -> VirtualUser:
        """A virtual Telegram user with a private chat to the bot (``started=False``: the user
        never opened the bot, so sends answer 403)."""
        from .users import VirtualUser

        if id is None:
            id = 10_000 + len(self.users) + 1
            while id in self.users:
                id += 1
        if id in self.users:
            return self.users[id]
        user = VirtualUser(self, id, first_name, last_name, username, language_code)
        self.users[id] = user
        self.chats[id] = Chat(
            id=id,
            type="private",
            first_name=first_name,
            last_name=last_name,
            username=username,
            bot_member=started,
        )
        return user

    def block(self, user: VirtualUser, *, notify: bool = True) -> None:
        """The user blocks the bot: sends answer 403 "Forbidden: bot was blocked by the user"."""
        chat = self.chats[user.id]
        chat.blocked = True
        if notify:
            self._enqueue("my_chat_member", self._member_update(chat, user, "member", "kicked"))
        self._notify()

    def unblock(self, user: VirtualUser, *, notify: bool = True) -> None:
        chat = self.chats[user.id]
        chat.blocked = False
        if notify:
            self._enqueue("my_chat_member", self._member_update(chat, user, "kicked", "member"))
        self._notify()

    def inject_faults(
        self,
        share: float,
        kinds: Iterable[str] = ("429", "502"),
        *,
        methods: Iterable[str] | None = None,
        retry_after: int = 1,
        seed: int = 0,
    ) -> FaultPlan:
        """Answer a seeded share of calls with faults. ``methods=None``: all but getUpdates."""
        self.faults = FaultPlan(
            share=share,
            kinds=tuple(kinds),
            methods=None if methods is None else frozenset(methods),
            retry_after=retry_after,
            seed=seed,
        )
        return self.faults

    def clear_faults(self) -> None:
        self.faults = None
        self.scripted_faults.clear()

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error (429 needs no
        description: "Too Many Requests: retry after N" is used)."""
        self.scripted_faults.append(
            ScriptedFault(method.lower(), error_code, description, retry_after, times)
        )

    def calls_to(self, method: str) -> list[Call]:
        name = method.lower()
        return [c for c in self.calls if c.name == name]

    def messages(self, chat_id: int, *, from_bot: bool | None = True) -> list[ChatMessage]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        msgs = sorted(chat.messages.values(), key=lambda m: m.message_id)
        return [m for m in msgs if from_bot is None or m.from_bot == from_bot]

    def visible_commands(self, user: VirtualUser, chat_id: int | None = None) -> list[dict]:
        """The command menu a client would show ``user`` (Bot API scope resolution order)."""
        chat_id = user.id if chat_id is None else chat_id
        chat = self.chats[chat_id]
        langs = [user.language_code or "", ""] if user.language_code else [""]
        scopes: list[dict[str, Any]]
        if chat.type == "private":
            scopes = [
                {"type": "chat", "chat_id": str(chat_id)},
                {"type": "all_private_chats"},
                {"type": "default"},
            ]
        else:
            scopes = [
                {"type": "chat_member", "chat_id": str(chat_id), "user_id": user.id},
                {"type": "chat", "chat_id": str(chat_id)},
                {"type": "all_group_chats"},
                {"type": "default"},
            ]
        for scope in scopes:
            for lang in langs:
                cmds = self.commands.get((self._scope_key(scope), lang))
                if cmds:
                    return cmds
        return []

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Waits until ``predicate()`` is truthy and returns its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{self.debug()}")
            signal = self._signal
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), min(remaining, 0.5))

    async def drain(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Waits until every queued update was confirmed (offset) or delivered (webhook)."""
        await self.wait_for(lambda: not self.updates, timeout, "updates to be consumed")

    def debug(self, last: int = 12) -> str:
        lines = [f"pending updates: {len(self.updates)}; webhook: {self.webhook}"]
        for c in self.calls[-last:]:
            extra = f" {c.description}" if c.description else ""
            lines.append(f"  {c.method} -> {c.status}{extra} {dict(list(c.params.items())[:4])}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ internals: state

    def _notify(self) -> None:
        self._signal.set()
        self._signal = asyncio.Event()

    def _allowed_types(self) -> set[str]:
        if self.allowed_updates:
            return set(self.allowed_updates)
        return set(UPDATE_TYPES) - NOT_DEFAULT_UPDATES

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if kind not in self._allowed_types():
            self.stats.updates_dropped_not_allowed += 1
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.updates.append(update)
        self._notify()
        return update

    def _member_update(self, chat: Chat, user: VirtualUser, old: str, new: str) -> dict[str, Any]:
        def member(status: str) -> dict[str, Any]:
            m: dict[str, Any] = {"user": self.bot, "status": status}
            if status == "kicked":
                m["until_date"] = 0
            return m

        return {
            "chat": chat.wire(),
            "from": user.wire(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _new_group(self, creator: VirtualUser, title: str, group_id: int | None) -> Chat:
        if group_id is None:
            group_id = -(4_000_000_000 + self._next_group)
            self._next_group += 1
        chat = Chat(id=group_id, type="group", title=title, member_ids={creator.id})
        self.chats[group_id] = chat
        self._enqueue("my_chat_member", self._member_update(chat, creator, "left", "member"))
        self._user_message(creator, chat, {"new_chat_members": [self.bot]})
        return chat

    def _user_message(
        self,
        user: VirtualUser,
        chat: Chat,
        content: dict[str, Any],
        files: dict[str, StoredFile] | None = None,
        reply_to: ChatMessage | None = None,
    ) -> ChatMessage:
        mid = chat.new_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": user.wire(),
            "chat": chat.wire(),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            data["reply_to_message"] = self._quoted(reply_to)
        msg = ChatMessage(chat.id, mid, False, data, files=files or {})
        chat.messages[mid] = msg
        if chat.type == "private":
            chat.bot_member = True  # writing to the bot starts it
        if self._delivered_to_bot(chat, data):
            self._enqueue("message", data)
        self._notify()
        return msg

    def _delivered_to_bot(self, chat: Chat, data: dict[str, Any]) -> bool:
        if chat.type == "private":
            return not chat.blocked
        if not chat.bot_member:
            return False
        if not self.group_privacy:
            return True
        if not {"text", "caption", "photo", "document"} & data.keys():
            return True  # service messages (new_chat_members, ...) always reach the bot
        text = data.get("text") or data.get("caption") or ""
        me = "@" + self.bot["username"]
        if text.startswith("/"):
            m = _LEADING_COMMAND_RE.match(text)
            if m and (m.group(1) is None or m.group(1).lower() == me.lower()):
                return True
        reply = data.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return True
        return me.lower() in text.lower()

    @staticmethod
    def _quoted(msg: ChatMessage) -> dict[str, Any]:
        quoted = copy.deepcopy(msg.data)
        quoted.pop("reply_to_message", None)
        return quoted

    def _press(
        self, user: VirtualUser, message: ChatMessage, button: str, stale: bool
    ) -> CallbackPress:
        from .users import CallbackPress

        chat = self.chats[message.chat_id]
        live = chat.messages.get(message.message_id)
        if live is None or live.deleted:
            raise LookupError(f"message {message.message_id} no longer exists in chat {chat.id}")

        def find(markups: Iterable[dict[str, Any] | None]) -> dict[str, Any] | None:
            for markup in markups:
                for row in (markup or {}).get("inline_keyboard", []):
                    for b in row:
                        if button in (b.get("text"), b.get("callback_data")):
                            return b
            return None

        found = find([live.reply_markup])
        if found is None:
            if not stale:
                raise LookupError(
                    f"no button {button!r} on the current message (buttons: "
                    f"{live.button_texts}); pass stale=True to press an old one"
                )
            older = [message.reply_markup] + [h.get("reply_markup") for h in live.history]
            found = find(older)
        data = found.get("callback_data") if found is not None else button
        if not data:
            raise ValueError(f"button {button!r} has no callback_data")
        query_id = str(4_000_000_000_000_000 + self._next_callback * 7919)
        self._next_callback += 1
        chat_instance = str(int(hashlib.sha1(f"{chat.id}".encode()).hexdigest()[:15], 16))
        payload = {
            "id": query_id,
            "from": user.wire(),
            "message": copy.deepcopy(live.data),
            "chat_instance": chat_instance,
            "data": data,
        }
        press = CallbackPress(self, query_id, data, live)
        self._pending_callbacks[query_id] = press
        self._enqueue("callback_query", payload)
        return press

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

    # ------------------------------------------------------------------ HTTP layer

    @staticmethod
    def _json_response(
        status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> web.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return web.Response(
            status=status, body=body, content_type="application/json", headers=headers
        )

    def _error_response(self, err: ApiError) -> web.Response:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": err.error_code,
            "description": err.description,
        }
        headers = None
        if err.parameters:
            payload["parameters"] = err.parameters
            if "retry_after" in err.parameters:
                headers = {"Retry-After": str(err.parameters["retry_after"])}
        return self._json_response(err.error_code, payload, headers)

    def _check_token(self, token: str) -> None:
        user_part = token.split(":", 1)[0]
        if (
            not token
            or token[0] == "0"
            or len(token) > 80
            or "/" in token
            or ":" not in token
            or not user_part.isdigit()
        ):
            raise ApiError(401, "Unauthorized: invalid token specified")
        if token != self.token:
            raise ApiError(401, "Unauthorized")

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, str], dict[str, UploadedFile]]:
        raw: dict[str, str] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method not in ("POST", "PUT"):
            return raw, files
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = bytes(await part.read(decode=False))
                    if len(data) > UPLOAD_LIMIT:
                        raise ApiError(413, "Request Entity Too Large")
                    files[part.name] = UploadedFile(
                        part.name, part.filename, part.headers.get("Content-Type"), data
                    )
                else:
                    raw[part.name] = await part.text()
        elif ctype == "application/x-www-form-urlencoded":
            form = await request.post()
            raw.update({k: str(v) for k, v in form.items()})
        elif ctype == "application/json":
            body = await request.read()
            if body.strip():
                try:
                    obj = json.loads(body)
                except ValueError:
                    raise bad_request("can't parse JSON encoded request") from None
                if isinstance(obj, dict):
                    for k, v in obj.items():
                        # tdlib keeps JSON strings as-is and re-encodes other values
                        raw[k] = v if isinstance(v, str) else json.dumps(v)
        else:
            await request.read()
        return raw, files

    @staticmethod
    def _retry_key(method: str, raw: dict[str, str], files: dict[str, UploadedFile]) -> str:
        h = hashlib.sha1(method.encode())
        h.update(json.dumps(raw, sort_keys=True).encode())
        for name in sorted(files):
            h.update(name.encode() + hashlib.sha1(files[name].data).digest())
        return h.hexdigest()

    def _draw_fault(self, method: str) -> ApiError | str | None:
        for fault in self.scripted_faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.scripted_faults.remove(fault)
                if fault.error_code == 429:
                    n = fault.retry_after or 1
                    return ApiError(429, f"Too Many Requests: retry after {n}", {"retry_after": n})
                desc = fault.description or {400: "Bad Request", 403: "Forbidden"}.get(
                    fault.error_code, "Internal Server Error"
                )
                params = {"retry_after": fault.retry_after} if fault.retry_after else None
                return ApiError(fault.error_code, desc, params)
        if self.faults is None:
            return None
        kind = self.faults.draw(method)
        if kind == "429":
            n = self.faults.retry_after
            return ApiError(429, f"Too Many Requests: retry after {n}", {"retry_after": n})
        return kind

    def _fault_response(self, request: web.Request, kind: str) -> web.StreamResponse:
        if kind == "reset":
            self.stats.resets += 1
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        self.stats.bad_gateway += 1
        if kind == "502-empty":
            return web.Response(status=502, body=b"")
        return web.Response(status=502, body=BAD_GATEWAY_HTML, content_type="text/html")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = unquote(request.raw_path.split("?", 1)[0])
        if path.startswith("/file/bot"):
            return await self._handle_download(request, path[len("/file/bot") :])
        if not path.startswith("/bot"):
            return self._error_response(ApiError(404, "Not Found"))
        token, sep, method = path[len("/bot") :].partition("/")
        if method.startswith("test/"):
            method = method[len("test/") :]
        call = Call(
            method=method,
            params={},
            files={},
            http_method=request.method,
            content_type=request.headers.get("Content-Type"),
            at=time.time(),
        )
        self.stats.requests += 1
        response: web.StreamResponse
        try:
            call.params, call.files = await self._read_params(request)
            if not sep:
                raise ApiError(404, "Not Found")
            self._check_token(token)
            name = method.lower()
            handler = self._methods.get(name)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            key = self._retry_key(name, call.params, call.files)
            self.stats.note_request(key)
            fault = self._draw_fault(name)
            if isinstance(fault, ApiError):
                if fault.error_code == 429:
                    self.stats.throttled_by_fault += 1
                raise fault
            if isinstance(fault, str):
                response = self._fault_response(request, fault)
                call.status = response.status
                call.description = f"injected {fault}"
                return response
            params = Params(call.params, call.files)
            try:
                result = await handler(params)
            finally:
                call.decoded = params.decoded
            description = None
            if isinstance(result, _Described):
                result, description = result.result, result.description
            payload: dict[str, Any] = {"ok": True, "result": result}
            if description:
                payload["description"] = description
            call.status, call.result = 200, result
            response = self._json_response(200, payload)
        except ApiError as err:
            if err.error_code == 429:
                self.stats.throttled += 1
                self.stats.note_429(
                    self._retry_key(method.lower(), call.params, call.files),
                    int((err.parameters or {}).get("retry_after", 1)),
                )
            call.status, call.description = err.error_code, err.description
            response = self._error_response(err)
        finally:
            self.calls.append(call)
            self._notify()
        return response

    async def _handle_download(self, request: web.Request, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        call = Call(method="download", params={"file_path": file_path}, files={}, at=time.time())
        call.http_method = request.method
        try:
            if token != self.token:
                raise ApiError(404, "Not Found")  # the file front end does not say more
            fault = self._draw_fault("download")
            if isinstance(fault, ApiError):
                raise fault
            if isinstance(fault, str):
                response = self._fault_response(request, fault)
                call.status = response.status
                return response
            stored = next((f for f in self.files.values() if f.file_path == file_path), None)
            if stored is None:
                raise ApiError(404, "Not Found")
            call.status = 200
            return web.Response(
                body=stored.data, content_type=stored.mime_type or "application/octet-stream"
            )
        except ApiError as err:
            call.status, call.description = err.error_code, err.description
            return self._error_response(err)
        finally:
            self.calls.append(call)
            self._notify()

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
            "date": int(time.time()),
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
        msg.data["edit_date"] = int(time.time())
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
        if self._poller is not None:
            self._poller.terminated = True
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
            if kind == "photos" and len(upload.data) > PHOTO_UPLOAD_LIMIT:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return None, upload.data
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if value in self.files:
            return self.files[value], b""
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

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

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self.webhook is not None and not self._closing:
                if not self.updates:
                    signal = self._signal
                    await signal.wait()
                    continue
                update = self.updates[0]
                uid = update["update_id"]
                headers = {"Content-Type": "application/json"}
                if self.webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
                body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
                error: str | None = None
                retry_after = 0
                try:
                    async with session.post(self.webhook["url"], data=body, headers=headers) as r:
                        await r.read()
                        if not 200 <= r.status <= 299:
                            error = f"Wrong response from the webhook: {r.status} {r.reason}"
                            with contextlib.suppress(ValueError):
                                retry_after = int(r.headers.get("Retry-After", "0"))
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"Connection error: {exc!r}"
                if error is None:
                    self.stats.webhook_deliveries += 1
                    self._webhook_attempts.pop(uid, None)
                    self.updates = [u for u in self.updates if u["update_id"] != uid]
                    self._notify()
                    continue
                self.stats.webhook_failures += 1
                self.webhook_last_error = (int(time.time()), error)
                attempts = self._webhook_attempts.get(uid, 0) + 1
                self._webhook_attempts[uid] = attempts
                if attempts >= self.webhook_max_attempts:
                    log.warning("webhook: dropping update %s after %s attempts", uid, attempts)
                    self.stats.webhook_dropped += 1
                    self._webhook_attempts.pop(uid, None)
                    self.updates = [u for u in self.updates if u["update_id"] != uid]
                    self._notify()
                    continue
                delay = min(self.webhook_max_delay, self.webhook_retry_delay * 2 ** (attempts - 1))
                if retry_after:
                    delay = min(float(retry_after), self.webhook_max_delay)
                self._notify()
                await asyncio.sleep(delay)
