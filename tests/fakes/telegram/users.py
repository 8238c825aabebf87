"""Control side: virtual users and groups that talk to the bot through the emulator."""

from __future__ import annotations

import asyncio
import mimetypes
import re
from typing import TYPE_CHECKING, Any

from .html import utf16_len
from .models import ChatMessage

if TYPE_CHECKING:
    from .server import TelegramEmulator


class CallbackPress:
    """A button press (callback_query) in flight; ``answer`` is filled by answerCallbackQuery."""

    def __init__(
        self, emu: TelegramEmulator, query_id: str, data: str, message: ChatMessage
    ) -> None:
        self.emu = emu
        self.id = query_id
        self.data = data
        self.message = message
        self.answer: dict[str, Any] | None = None
        self.expired = False

    def _answered(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def _expire(self) -> None:
        self.expired = True

    @property
    def answered(self) -> bool:
        return self.answer is not None

    async def wait_answered(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Waits for answerCallbackQuery; returns its parameters (text, show_alert, ...)."""
        await self.emu.wait_for(lambda: self.answer, timeout, f"answer to callback {self.data!r}")
        assert self.answer is not None
        return self.answer


class _Inbox:
    """Bot messages in one chat, with a read cursor for ``wait_for_messages``."""

    emu: TelegramEmulator
    chat_id: int
    _cursor: int = 0

    @property
    def inbox(self) -> list[ChatMessage]:
        """Everything the bot sent to this chat, oldest first (live: edits applied)."""
        return self.emu.messages(self.chat_id, from_bot=True)

    @property
    def unread(self) -> list[ChatMessage]:
        return self.inbox[self._cursor :]

    @property
    def last(self) -> ChatMessage | None:
        box = self.inbox
        return box[-1] if box else None

    def mark_read(self) -> None:
        self._cursor = len(self.inbox)

    async def wait_for_messages(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ChatMessage]:
        """Waits until ``n`` unread bot messages exist, returns them and marks them read.

        Raises TimeoutError (with the emulator's recent calls) if they do not arrive."""
        await self.emu.wait_for(
            lambda: len(self.inbox) - self._cursor >= n,
            timeout,
            f"{n} message(s) from the bot in chat {self.chat_id} (unread now: {self.unread})",
        )
        got = self.inbox[self._cursor : self._cursor + n]
        self._cursor += n
        return got

    async def wait_for_edit(
        self,
        message: ChatMessage,
        timeout: float = 5.0,  # noqa: ASYNC109
        edits: int | None = None,
    ) -> ChatMessage:
        """Waits until ``message`` has been edited (``edits`` times in total, default: once
        more than now) and returns the live message."""
        target = (len(message.history) + 1) if edits is None else edits
        live = self.emu.chats[message.chat_id].messages[message.message_id]
        await self.emu.wait_for(
            lambda: len(live.history) >= target, timeout, f"edit of message {message!r}"
        )
        return live


class VirtualUser(_Inbox):
    """A Telegram user. Messages go to the private chat unless ``chat=`` names a group."""

    def __init__(
        self,
        emu: TelegramEmulator,
        id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.emu = emu
        self.id = id
        self.chat_id = id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self._cursor = 0

    def wire(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    def _chat(self, chat: VirtualGroup | None) -> Any:
        target = self.emu.chats[self.id if chat is None else chat.chat_id]
        if target.is_group and self.id not in target.member_ids:
            raise ValueError(f"user {self.id} is not a member of group {target.id}")
        return target

    async def send_text(
        self,
        text: str,
        *,
        chat: VirtualGroup | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to: ChatMessage | None = None,
    ) -> ChatMessage:
        """Sends text; a leading ``/command`` gets its bot_command entity as clients add it."""
        content: dict[str, Any] = {"text": text}
        if entities is None:
            m = _leading_command(text)
            entities = [{"type": "bot_command", "offset": 0, "length": m}] if m else []
        if entities:
            content["entities"] = entities
        await asyncio.sleep(0)
        return self.emu._user_message(self, self._chat(chat), content, reply_to=reply_to)

    async def send_command(
        self,
        command: str,
        payload: str | None = None,
        *,
        chat: VirtualGroup | None = None,
        mention: bool = False,
    ) -> ChatMessage:
        """``/start`` (+ deep-link payload) with a bot_command entity; ``mention`` appends
        ``@botusername`` as clients do in groups."""
        cmd = command if command.startswith("/") else "/" + command
        if mention:
            cmd += "@" + self.emu.bot["username"]
        text = cmd if payload is None else f"{cmd} {payload}"
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}]
        return await self.send_text(text, chat=chat, entities=entities)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, chat: VirtualGroup | None = None
    ) -> ChatMessage:
        """A photo as Telegram stores it: several PhotoSize, largest last (original bytes)."""
        sizes = self.emu._photo_sizes(data)
        content: dict[str, Any] = {"photo": self.emu._photo_wire(sizes)}
        if caption:
            content["caption"] = caption
        await asyncio.sleep(0)
        return self.emu._user_message(self, self._chat(chat), content, files={"photo": sizes[-1]})

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat: VirtualGroup | None = None,
    ) -> ChatMessage:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.emu._mint_file(data, "documents", file_name=filename, mime_type=mime)
        content: dict[str, Any] = {"document": self.emu._document_wire(stored)}
        if caption:
            content["caption"] = caption
        await asyncio.sleep(0)
        return self.emu._user_message(self, self._chat(chat), content, files={"document": stored})

    async def press(
        self, message: ChatMessage, button: str, *, stale: bool = False
    ) -> CallbackPress:
        """Presses an inline button (matched by text or callback_data) on ``message``.

        By default the button must be on the message *now*. ``stale=True`` presses a button
        from an old snapshot / earlier version (or raw callback data) as an out-of-date client
        would; the callback_query then carries the message as it currently is."""
        await asyncio.sleep(0)
        return self.emu._press(self, message, button, stale)

    async def add_bot_to_group(
        self, title: str = "Veïns", group_id: int | None = None
    ) -> VirtualGroup:
        """Creates a basic group with this user and adds the bot (my_chat_member + service
        message with new_chat_members)."""
        await asyncio.sleep(0)
        chat = self.emu._new_group(self, title, group_id)
        return VirtualGroup(self.emu, chat.id)

    def visible_commands(self) -> list[dict[str, str]]:
        return self.emu.visible_commands(self)

    def __repr__(self) -> str:
        return f"<VirtualUser {self.id} {self.first_name!r} lang={self.language_code}>"


class VirtualGroup(_Inbox):
    def __init__(self, emu: TelegramEmulator, chat_id: int) -> None:
        self.emu = emu
        self.chat_id = chat_id
        self._cursor = 0

    @property
    def chat(self) -> Any:
        return self.emu.chats[self.chat_id]

    def add_member(self, user: VirtualUser) -> None:
        self.chat.member_ids.add(user.id)

    def remove_bot(self, by: VirtualUser) -> None:
        """``by`` kicks the bot: my_chat_member update; sends answer 403 "Forbidden: bot was
        kicked from the group chat"."""
        self.chat.bot_member = False
        update = self.emu._member_update(self.chat, by, "member", "kicked")
        self.emu._enqueue("my_chat_member", update)


def _leading_command(text: str) -> int:
    m = re.match(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?", text)
    return utf16_len(m.group(0)) if m else 0
