"""The Telegram channel: python-telegram-bot 22 as a transport, inside the service's loop.

PTB fetches updates (long polling, or our own aiohttp route in webhook mode) and makes the
HTTP calls; everything else is ours. One ``TypeHandler`` hands each update to a per-chat
queue, so different chats are served concurrently while one chat's updates (and the bot's
answers to them) keep their order. Each update becomes at most one Turn for the engine;
its replies are sent in place, retried until Telegram acknowledges them. Proactive
messages come from the outbox dispatcher through ``deliver()``.

Message bodies are never logged above DEBUG, and the token never at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from aiohttp import web
from telegram import (
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import Unreachable
from bot.channels.kit import ChatQueues, Conversation, LocalMemory, SharedMemory, send_in_order
from bot.channels.telegram import commands
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.limits import Backoff, Limits, Throttle, retrying
from bot.channels.telegram.render import PARSE_MODE, Outgoing, chosen, is_photo, render
from bot.channels.telegram.translate import (
    ALLOWED_UPDATES,
    CHANNEL,
    GroupNotice,
    Ignored,
    Inbound,
    classify,
)
from bot.channels.telegram.webhook import webhook_route
from config.settings import ConfigError
from handlers.messages import InFile, Reply, Turn, TurnKind

log = logging.getLogger("videotramit.telegram")

T = TypeVar("T")
MiB = 1 << 20
DOWNLOAD_LIMIT = 20 * MiB  # what the Bot API lets a bot download (getFile)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# A button press must be answered within seconds (the client shows a spinner until then).
ANSWER_BACKOFF = Backoff(attempts=8, within=12.0, first=0.2, cap=2.0)
# Turns of what a person wrote (the others are what the channel learned about them).
WRITTEN = (TurnKind.TEXT, TurnKind.COMMAND, TurnKind.CHOICE, TurnKind.FILE)


@dataclass(frozen=True)
class TelegramOptions:
    token: str
    base_url: str = "https://api.telegram.org"  # methods at {base_url}/bot{token}/{method}
    mode: str = "polling"  # or "webhook"
    webhook_url: str = ""  # {public_base_url}/telegram/webhook
    webhook_secret: str = ""
    languages: tuple[str, ...] = ("ca", "es", "en")
    default_language: str = "ca"
    staff_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # telegram id -> roles
    limits: Limits = Limits()
    # A turn's replies: past this the outbox has them (held for handlers.engine.REPLY_HOLD).
    replies: Backoff = Backoff(attempts=6, within=20.0)
    proactive: Backoff = Backoff(attempts=4, within=60.0)  # the outbox retries later anyway
    poll_timeout: int = 10  # long-poll seconds
    max_active_chats: int = 64  # chats served at the same time (network waits overlap)
    connections: int = 32  # HTTP connections to the Bot API
    max_concurrent_turns: int = 16  # engine turns at once; 1 on SQLite (one writer anyway)
    download_limit: int = DOWNLOAD_LIMIT
    group_notice_every: float = 600.0  # seconds between "I only work in private" in a group
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 10.0
    pool_timeout: float = 10.0
    media_timeout: float = 60.0  # uploads and downloads of files
    stop_timeout: float = 8.0  # in-flight turns get this long to finish on stop()


class TelegramChannel:
    """The ``Channel`` for Telegram. Build with ``build_channel`` (bot/channels/telegram)."""

    name = CHANNEL
    marks_sending = True  # its pacing calls about_to_send (bot/channels/base.py)

    def __init__(
        self,
        options: TelegramOptions,
        conversation: Conversation,
        memory: SharedMemory | None = None,
    ) -> None:
        if not options.token:
            raise ValueError("a Telegram bot token is required")
        self.options = options
        self._conversation = conversation
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._requests: tuple[AiohttpRequest, AiohttpRequest] | None = None
        self.bot_id = 0
        self.username = ""
        # per-chat work queues (order within a chat, concurrency across chats)
        self._chats: ChatQueues[int, Update] = ChatQueues(
            self._process, max_active=options.max_active_chats, on_error=self._failed
        )
        self._turn_slots = asyncio.Semaphore(max(1, options.max_concurrent_turns))
        self.last_update_id = 0
        # Webhook deliveries waiting for their update to be handled (by update_id).
        self._handling: dict[int, list[asyncio.Future[None]]] = {}
        # Panels' message ids and the group-notice throttle, shared by every instance.
        self._memory: SharedMemory = memory if memory is not None else LocalMemory()
        self._throttle = Throttle(options.limits)
        self.counters: dict[str, int] = {
            "updates": 0,
            "turns": 0,
            "sent": 0,
            "retries": 0,
            "failed": 0,
            "refused_files": 0,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def mode(self) -> str:
        return self.options.mode

    @property
    def running(self) -> bool:
        return self._app is not None and self._app.running

    def chat_idle(self, chat_id: int) -> bool:
        return self._chats.chat_idle(chat_id)

    def share_budget(self, instances: int) -> None:
        """Telegram's overall sending budget is the bot's: with ``instances`` instances
        alive (their heartbeats), this one takes an equal part."""
        self._throttle.share(instances)

    @property
    def idle(self) -> bool:
        """Nothing queued or being handled (tests and benchmarks wait for this)."""
        return self._chats.idle

    def web_routes(self) -> list[web.RouteDef]:
        """In webhook mode, Telegram POSTs updates to /telegram/webhook."""
        return [webhook_route(self)] if self.options.mode == "webhook" else []

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        o = self.options
        root = o.base_url.rstrip("/")
        timeouts = {
            "connect_timeout": o.connect_timeout,
            "read_timeout": o.read_timeout,
            "write_timeout": o.write_timeout,
            "pool_timeout": o.pool_timeout,
            "media_write_timeout": o.media_timeout,
        }
        self._requests = (
            AiohttpRequest(connections=o.connections, **timeouts),
            AiohttpRequest(connections=1, **timeouts),
        )
        builder = (
            Application.builder()
            .token(o.token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .rate_limiter(self._throttle)
            .job_queue(None)
        )
        if o.mode == "webhook":
            builder = builder.updater(None)
        app = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def start(self) -> None:
        if self._app is not None:
            return
        app = self._build()
        # getMe; PTB does not retry it, so we do (a bad token is final).
        try:
            await retrying(app.initialize, Backoff(attempts=5, within=60.0))
        except BaseException as exc:
            for request in self._requests or ():
                await request.shutdown()
            if isinstance(exc, InvalidToken):
                raise ConfigError(
                    "telegram.token: Telegram rejected the token (check it with @BotFather)"
                ) from None
            raise
        self._app = app
        self.bot_id, self.username = app.bot.id, app.bot.username or ""
        try:
            await self._register_commands()
            await app.start()
            if self.options.mode == "webhook":
                await retrying(
                    lambda: app.bot.set_webhook(
                        self.options.webhook_url,
                        secret_token=self.options.webhook_secret,
                        allowed_updates=list(ALLOWED_UPDATES),
                    ),
                    Backoff(attempts=5, within=60.0),
                )
            else:
                assert app.updater is not None
                await app.updater.start_polling(
                    timeout=self.options.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=self._on_poll_error,
                )
        except BaseException:
            await self.stop()
            raise
        log.info(
            "telegram channel started",
            extra={"bot": self.username, "mode": self.options.mode},
        )

    async def stop(self) -> None:
        app = self._app
        if app is None:
            return
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()  # confirms the updates fetched so far
            if app.running:
                await app.stop()  # hands what is left in PTB's queue to ours
            await self.wait_idle(self.options.stop_timeout)  # turns in flight finish
        finally:
            self._app = None
            await self._chats.close()
            self._give_back_unhandled()
            with contextlib.suppress(Exception):
                await app.shutdown()
            log.info("telegram channel stopped")

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until nothing is queued or being handled; False if that took too long."""
        return await self._chats.wait_idle(timeout)

    def _live(self) -> Application[Any, Any, Any, Any, Any, Any]:
        if self._app is None:
            raise RuntimeError("the Telegram channel is not running")
        return self._app

    async def _register_commands(self) -> None:
        """Command menus per language: citizens everywhere in private chats; staff and
        administrators get theirs in their own chat only."""
        app = self._live()
        o = self.options

        async def put(names: tuple[str, ...], scope: Any, language: str | None) -> None:
            menu = commands.menu(language or o.default_language, names)
            try:
                await retrying(
                    lambda: app.bot.set_my_commands(menu, scope=scope, language_code=language),
                    Backoff(attempts=3, within=20.0),
                )
            except TelegramError as exc:
                log.warning(
                    "could not set the command menu",
                    extra={"scope": scope.type, "error": exc.__class__.__name__},
                )

        everyone = BotCommandScopeAllPrivateChats()
        for language in (*o.languages, None):
            await put(commands.CITIZEN, everyone, language)
        for telegram_id, roles in o.staff_roles.items():
            if not telegram_id.lstrip("-").isdigit():
                continue
            scope = BotCommandScopeChat(int(telegram_id))
            for language in (*o.languages, None):
                await put(commands.commands_for(roles), scope, language)

    # ------------------------------------------------------------------ incoming

    async def accept_webhook(self, data: dict[str, Any]) -> None:
        """An update POSTed to /telegram/webhook (secret already checked by the route);
        returns once it has been handled, its replies sent. Telegram is answered only then,
        so an update this instance dies with is delivered again (behind a load balancer, to
        another instance) instead of being lost with this process's memory. RuntimeError:
        the channel stopped before handling it (Telegram is to deliver it again)."""
        app = self._live()
        if not app.running:
            raise RuntimeError("the Telegram channel is stopping")
        update = Update.de_json(data, app.bot)
        handled = asyncio.get_running_loop().create_future()
        self._handling.setdefault(update.update_id, []).append(handled)
        try:
            await app.update_queue.put(update)
            await handled
        finally:
            waiting = self._handling.get(update.update_id, [])
            if handled in waiting:
                waiting.remove(handled)
            if not waiting:
                self._handling.pop(update.update_id, None)

    def _handled(self, update_id: int) -> None:
        for waiting in self._handling.pop(update_id, []):
            if not waiting.done():
                waiting.set_result(None)

    def _give_back_unhandled(self) -> None:
        """Stopped with updates not handled: their deliveries are refused, not answered."""
        for waiting in (w for ws in self._handling.values() for w in ws):
            if not waiting.done():
                waiting.set_exception(RuntimeError("the Telegram channel stopped"))
        self._handling.clear()

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB calls this for every update, one at a time: queue it for its chat and return."""
        self.counters["updates"] += 1
        self.last_update_id = max(self.last_update_id, update.update_id)
        chat = update.effective_chat
        self._chats.submit(chat.id if chat is not None else 0, update)

    def _failed(self, update: Update, exc: Exception) -> None:
        self.counters["failed"] += 1
        log.error(
            "telegram update failed",
            extra={"update_id": update.update_id, "error": self._describe(exc)},
        )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler error", extra={"error": self._describe(context.error)})

    def _on_poll_error(self, exc: TelegramError) -> None:
        log.warning("telegram polling error", extra={"error": self._describe(exc)})

    def _describe(self, exc: BaseException | None) -> str:
        """Class and message with the token blanked out (httpx errors may quote URLs)."""
        if exc is None:
            return ""
        text = f"{exc.__class__.__name__}: {exc}"
        return text.replace(self.options.token, "<token>")[:300]

    async def _process(self, update: Update) -> None:
        try:
            await self._handle_update(update)
        finally:
            # A failed update is answered too: delivering it again would fail again.
            self._handled(update.update_id)

    async def _handle_update(self, update: Update) -> None:
        event = classify(update, bot_id=self.bot_id, bot_username=self.username)
        if isinstance(event, Ignored):
            log.debug("telegram update ignored", extra={"reason": event.reason})
            if event.callback_query_id:
                await self._answer(event.callback_query_id)
            return
        if isinstance(event, GroupNotice):
            if event.callback_query_id:
                await self._answer(event.callback_query_id)
            await self._group_notice(event)
            return
        await self._inbound(event, str(update.update_id))

    async def _inbound(self, event: Inbound, key: str) -> None:
        turn = replace(event.turn, key=key)  # delivered again, it is not taken twice
        chat_id = event.chat_id
        log.debug("telegram turn", extra={"kind": turn.kind.value, "chat": chat_id})
        press = event.press
        if press is not None:
            await self._answer(press.query_id)  # first, so the client's spinner stops
            if press.label is not None and press.message_id is not None:
                await self._mark_chosen(chat_id, press.message_id, press.message_text, press.label)
        if event.file is not None:
            turn = replace(await self._fetch(event), key=key)
        if turn.kind in WRITTEN:
            self.counters["turns"] += 1
        async with self._turn_slots:
            answer = await self._conversation.answer(turn)
        sent = await send_in_order(answer.replies, lambda r: self._reply(chat_id, r))
        await self._conversation.sent(answer, sent)

    async def _reply(self, chat_id: int, reply: Reply) -> bool:
        try:
            await self._send(chat_id, reply, self.options.replies)
        except Forbidden:
            log.info("telegram user blocked the bot during a turn", extra={"chat": chat_id})
            return False
        except TelegramError as exc:
            self.counters["failed"] += 1
            log.error(
                "telegram reply not sent with its turn, left to the outbox",
                extra={"chat": chat_id, "error": self._describe(exc)},
            )
            return False
        return True

    async def _answer(self, query_id: str) -> None:
        app = self._live()
        try:
            await retrying(
                lambda: app.bot.answer_callback_query(query_id),
                ANSWER_BACKOFF,
                self._note_retry,
            )
        except TelegramError as exc:  # e.g. "query is too old": nothing left to do
            log.debug("callback not answered", extra={"error": exc.__class__.__name__})

    async def _mark_chosen(
        self, chat_id: int, message_id: int, text: str | None, label: str
    ) -> None:
        """Remove the pressed message's buttons (so they cannot be pressed twice) and show
        what was chosen. The session panel keeps its buttons: it is redrawn in place."""
        if await self._memory.holds_panel(str(chat_id), str(message_id)):
            return
        edited = chosen(text, label) if text else None
        if edited is not None:
            method = "editMessageText"
            params: dict[str, Any] = {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": edited,
                "parse_mode": PARSE_MODE,
                "link_preview_options": NO_PREVIEW,
            }
        else:  # a caption, or too long to add the choice: just remove the buttons
            method = "editMessageReplyMarkup"
            params = {"chat_id": chat_id, "message_id": message_id}

        async def edit() -> Any:
            return await self._raw(method, params)

        try:
            await retrying(edit, self.options.replies, self._note_retry)
        except BadRequest as exc:  # already edited, too old, deleted: the engine still answers
            log.debug("pressed message not edited", extra={"error": str(exc)[:120]})
        except TelegramError as exc:
            log.warning("pressed message not edited", extra={"error": self._describe(exc)})

    async def _fetch(self, event: Inbound) -> Turn:
        """Download a photo or document (after checking its size) into a FILE turn; what
        went wrong becomes a FILE_TOO_BIG or FILE_LOST turn the engine answers."""
        ref = event.file
        assert ref is not None
        app = self._live()
        limit = self.options.download_limit
        too_big = replace(event.turn, kind=TurnKind.FILE_TOO_BIG, size_limit=limit)
        lost = replace(event.turn, kind=TurnKind.FILE_LOST)
        if ref.size is not None and ref.size > limit:
            self.counters["refused_files"] += 1
            log.info("telegram file refused: too big", extra={"size": ref.size})
            return too_big
        try:
            tg_file = await retrying(
                lambda: app.bot.get_file(ref.file_id), self.options.replies, self._note_retry
            )
            if tg_file.file_size is not None and tg_file.file_size > limit:
                raise BadRequest("File is too big")
            data = await retrying(
                lambda: tg_file.download_as_bytearray(
                    read_timeout=self.options.media_timeout,
                    connect_timeout=self.options.connect_timeout,
                    pool_timeout=self.options.pool_timeout,
                ),
                self.options.replies,
                self._note_retry,
            )
        except BadRequest as exc:
            if "too big" in str(exc).lower():
                self.counters["refused_files"] += 1
                return too_big
            log.warning("telegram file not fetched", extra={"error": self._describe(exc)})
            return lost
        except TelegramError as exc:
            log.warning("telegram file not fetched", extra={"error": self._describe(exc)})
            return lost
        if len(data) > limit:
            self.counters["refused_files"] += 1
            return too_big
        file = InFile(name=ref.name, data=bytes(data), declared_type=ref.declared_type)
        return replace(event.turn, file=file)

    async def _group_notice(self, event: GroupNotice) -> None:
        """Once in a while, in a group: "I only work in private chats" and a link. The
        engine words it without opening any conversation; nothing personal is sent there."""
        if not await self._memory.notice_due(str(event.chat_id), self.options.group_notice_every):
            return
        for reply in await self._conversation.handle(event.turn):
            try:
                await self._send(event.chat_id, reply, self.options.proactive)
            except TelegramError as exc:  # kicked, or the group is gone
                log.info("group notice not delivered", extra={"error": exc.__class__.__name__})

    # ------------------------------------------------------------------ outgoing

    def _note_retry(self, exc: BaseException) -> None:
        self.counters["retries"] += 1
        log.debug("telegram call retried", extra={"error": exc.__class__.__name__})

    async def deliver(self, address: str, reply: Reply) -> None:
        """A proactive message from the outbox; returns once Telegram acknowledged it."""
        try:
            chat_id = int(address)
        except ValueError:
            raise Unreachable(f"not a Telegram chat id: {address[:40]!r}") from None
        try:
            await self._send(chat_id, reply, self.options.proactive)
        except Forbidden as exc:  # blocked, deactivated, never started the bot
            raise Unreachable(str(exc)) from exc
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                raise Unreachable(str(exc)) from exc
            raise
        except InvalidToken as exc:  # the outbox retries; the operator must fix the token
            raise RuntimeError("the Telegram token was rejected") from exc

    async def _send(self, chat_id: int, reply: Reply, backoff: Backoff) -> None:
        outgoing = render(reply)
        if reply.panel and await self._edit_panel(chat_id, reply.panel, outgoing, backoff):
            return
        last: int | None = None
        for item in outgoing:
            last = await self._send_retrying(chat_id, item, backoff)
            self.counters["sent"] += 1
        if reply.panel and last is not None:
            await self._memory.remember_panel(str(chat_id), reply.panel, str(last))

    async def _raw(self, method: str, params: dict[str, Any]) -> Any:
        """A Bot API call whose answer is used as plain JSON: building PTB objects from
        every answer costs a tenth of a turn's CPU. Method names are case-insensitive on
        the Bot API; the lower-case name tells PTB this is not a typo for its own method."""
        bot = self._live().bot
        return await bot.do_api_request(method.lower(), api_kwargs=params)

    async def _send_retrying(self, chat_id: int, item: Outgoing, backoff: Backoff) -> int:
        return await retrying(lambda: self._send_one(chat_id, item), backoff, self._note_retry)

    async def _send_one(self, chat_id: int, item: Outgoing) -> int:
        """Send one message; returns its message_id."""
        bot = self._live().bot
        if item.file is not None and is_photo(item.file):
            # A picture (the statistics chart) shows in the chat, not as a download.
            message = await bot.send_photo(
                chat_id,
                photo=item.file.data,
                filename=item.file.name,
                caption=item.html or None,
                parse_mode=PARSE_MODE if item.html else None,
                reply_markup=item.keyboard,
                read_timeout=self.options.media_timeout,
                write_timeout=self.options.media_timeout,
            )
            return message.message_id
        if item.file is not None:
            message = await bot.send_document(
                chat_id,
                document=item.file.data,
                filename=item.file.name,
                caption=item.html or None,
                parse_mode=PARSE_MODE if item.html else None,
                reply_markup=item.keyboard,
                read_timeout=self.options.media_timeout,
                write_timeout=self.options.media_timeout,
            )
            return message.message_id
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": item.html,
            "parse_mode": PARSE_MODE,
            "link_preview_options": NO_PREVIEW,
        }
        if item.keyboard is not None:
            params["reply_markup"] = item.keyboard
        result = await self._raw("sendMessage", params)
        return int(result["message_id"])

    async def _edit_panel(
        self, chat_id: int, panel: str, outgoing: list[Outgoing], backoff: Backoff
    ) -> bool:
        """Redraw the panel in its previous message. False: send a new message instead."""
        known = await self._memory.panel(str(chat_id), panel)
        if known is None or len(outgoing) != 1 or outgoing[0].file is not None:
            return False
        message_id = int(known)
        item = outgoing[0]
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": item.html,
            "parse_mode": PARSE_MODE,
            "link_preview_options": NO_PREVIEW,
        }
        if item.keyboard is not None:
            params["reply_markup"] = item.keyboard
        try:
            await retrying(lambda: self._raw("editMessageText", params), backoff, self._note_retry)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            # Too old, deleted, not editable: a fresh panel at the bottom of the chat.
            await self._memory.forget_panel(str(chat_id), panel)
            return False
        self.counters["sent"] += 1
        return True


__all__ = [
    "DOWNLOAD_LIMIT",
    "Conversation",
    "TelegramChannel",
    "TelegramOptions",
]
