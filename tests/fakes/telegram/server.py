"""A Telegram Bot API emulator served by aiohttp inside the test's event loop.

Written from /work/shared/reference/telegram.md; error texts follow tdlib/telegram-bot-api
``Client.cpp`` (the real server). This module holds the lifecycle, the control side used by
tests and the HTTP layer; the Bot API methods are in ``methods.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from .limits import FaultPlan, FloodControl, RateLimits, ScriptedFault, Stall, Stats
from .methods import (
    DOWNLOAD_LIMIT,
    NOT_DEFAULT_UPDATES,
    PHOTO_UPLOAD_LIMIT,
    UPDATE_TYPES,
    UPLOAD_LIMIT,
    BotApiMethods,
    Handler,
    _Described,
    _Poller,
)
from .models import (
    ApiError,
    Call,
    Chat,
    ChatMessage,
    ClockLike,
    Params,
    StoredFile,
    UploadedFile,
    bad_request,
    fixed_epoch,
)

if TYPE_CHECKING:
    from .users import CallbackPress, VirtualUser

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD_LIMIT",
    "PHOTO_UPLOAD_LIMIT",
    "UPLOAD_LIMIT",
    "TelegramEmulator",
]

DEFAULT_TOKEN = "123456789:AAE-videotramit_TEST_token_0123456789"
MiB = 1 << 20
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_LEADING_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,})?")


class TelegramEmulator(BotApiMethods):
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
        clock: ClockLike = fixed_epoch,
    ) -> None:
        self.token = token
        # Telegram's time (message dates, the request log); settable, so a module-wide
        # emulator can follow each test's clock.
        self.clock = clock
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
        self.stall: Stall | None = None
        self.stalled: list[Call] = []  # calls acted on and left unanswered (stall_after)
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
        # Behind a load balancer (``balance``): the addresses updates go to in turn, and
        # which one acknowledged each update.
        self.webhook_targets: list[str] = []
        self.acknowledged_by: dict[int, str] = {}
        self.acknowledged_at: dict[int, float] = {}  # the event loop's clock (monotonic)
        self.webhook_errors: list[tuple[int, str, str]] = []  # (update_id, target, error)
        self._next_target = 0
        self._refused_in_a_row = 0
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
        self.release_stall()
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

    def stall_after(self, n: int, method: str = "sendMessage") -> Stall:
        """Accept the ``n``-th successful ``method`` call from now and never answer it
        (until ``release_stall``): a message Telegram received while the sender died
        waiting for the answer. The call shows in ``stalled`` once it hangs."""
        self.stall = Stall(method.lower(), n)
        return self.stall

    def release_stall(self) -> None:
        """Answer the stalled call (if its client is still there) and stall no more."""
        if self.stall is not None:
            self.stall.released.set()

    def balance(self, targets: Iterable[str]) -> None:
        """Put a round-robin load balancer between Telegram and the bot: webhook updates
        go to ``targets`` in turn instead of the URL given to setWebhook (which stays the
        bot's one public address, as with a real balancer). A target that refuses the
        connection (its process is gone) is skipped at once, as a balancer's health check
        would, and the update goes to the next one; it is never dropped for that."""
        self.webhook_targets = list(targets)
        self._next_target = 0
        self._notify()

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

    @property
    def long_poll_waiting(self) -> bool:
        """True while a getUpdates call is held open (a test waits for this, not a sleep)."""
        return self._poller is not None

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
            "date": self._unix_now(),
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
            "date": self._unix_now(),
            **content,
        }
        if reply_to is not None:
            data["reply_to_message"] = self._quoted(reply_to)
        if chat.type == "private" and chat.blocked:
            self.unblock(user)  # a client must unblock (restart) the bot before writing
        msg = ChatMessage(chat.id, mid, False, data, files=files or {})
        chat.messages[mid] = msg
        if chat.type == "private":
            chat.bot_member = True  # writing to the bot starts it
        if self._delivered_to_bot(chat, data):
            self._enqueue("message", copy.deepcopy(data))
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
                if fault.error_code == 502 and fault.description is None:
                    return "502"  # the front end's HTML page, as injected faults
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
            at=self._clock_seconds(),
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
            if self.stall is not None and self.stall.hits(name):
                await self._hang(call, self.stall)
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

    async def _hang(self, call: Call, stall: Stall) -> None:
        self.stalled.append(call)
        self._notify()
        await stall.released.wait()

    async def _handle_download(self, request: web.Request, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        params = {"file_path": file_path, "raw_path": request.raw_path}
        call = Call(method="download", params=params, files={}, at=self._clock_seconds())
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
