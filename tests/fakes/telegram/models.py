"""State kept by the emulator: chats, messages, files, request log, and typed parameter access."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class HasNow(Protocol):
    def now(self) -> datetime: ...


ClockLike = HasNow | Callable[[], datetime]
"""Where the emulator reads Telegram's time (message dates, edit dates, the request log):
a clock object (the tests' ManualClock) or a callable giving an aware datetime."""

# Without a clock from the test, a fixed instant (the tests' Monday, 08:00 in Madrid): the
# emulator then never reads the machine's clock, and a test that cares passes its own.
FIXED_EPOCH = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def fixed_epoch() -> datetime:
    return FIXED_EPOCH


def read_clock(clock: ClockLike) -> datetime:
    return clock() if callable(clock) else clock.now()


class ApiError(Exception):
    """An error answered as ``{"ok": false, ...}`` with HTTP status == error_code."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


@dataclass
class UploadedFile:
    """One multipart file part as it arrived."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Request parameters as raw strings; handlers decode each field by its schema type.

    Every typed read is recorded in ``decoded`` so the call log shows typed values.
    """

    def __init__(self, raw: dict[str, str], files: dict[str, UploadedFile]) -> None:
        self.raw = raw
        self.files = files
        self.decoded: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self.raw or name in self.files

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name, default)
        self.decoded[name] = value
        return value

    def get_int(self, name: str, default: int | None = None) -> int | None:
        raw = self.raw.get(name)
        if raw is None or raw == "":
            value = default
        else:
            try:
                value = int(raw.strip())
            except ValueError:
                value = 0  # tdlib's to_integer yields 0 on garbage; callers validate
        self.decoded[name] = value
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        raw = self.raw.get(name)
        value = default if raw is None else raw.strip().lower() in ("true", "1")
        self.decoded[name] = value
        return value

    def get_json(self, name: str, what: str) -> Any:
        """Decodes a JSON-typed field; ``what`` names it in tdlib's error text."""
        raw = self.raw.get(name)
        if raw is None or raw == "":
            self.decoded[name] = None
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
        self.decoded[name] = value
        return value

    def get_chat_id(self, name: str = "chat_id") -> int | str | None:
        raw = self.raw.get(name)
        if raw is None or raw.strip() == "":
            self.decoded[name] = None
            return None
        raw = raw.strip()
        value: int | str
        try:
            value = int(raw)
        except ValueError:
            value = raw  # "@channelusername"
        self.decoded[name] = value
        return value


@dataclass
class Call:
    """One HTTP request to the Bot API side, as logged in ``emu.calls``."""

    method: str  # as it appeared in the URL (case preserved)
    params: dict[str, str]  # raw wire values
    files: dict[str, UploadedFile]
    status: int = 0
    description: str | None = None
    result: Any = None
    decoded: dict[str, Any] = field(default_factory=dict)
    http_method: str = "POST"
    content_type: str | None = None
    at: float = 0.0  # unix time by the emulator's clock when the request arrived

    @property
    def name(self) -> str:
        return self.method.lower()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self, name: str) -> Any:
        raw = self.params.get(name)
        return None if raw is None else json.loads(raw)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # "photos" | "documents"
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_path: str | None = None  # assigned by getFile

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ChatMessage:
    """A message in a chat. Bot messages stay live: edits replace ``data`` and push the old
    version to ``history``. ``snapshot()`` freezes a copy (for stale-button presses)."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    sent_text: str | None = None  # text/caption as the bot sent it (before HTML parsing)
    parse_mode: str | None = None
    files: dict[str, StoredFile] = field(default_factory=dict)
    deleted: bool = False
    is_snapshot: bool = False

    @property
    def text(self) -> str | None:
        return self.data.get("text", self.data.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.data.get("entities", self.data.get("caption_entities", [])))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.data.get("reply_markup")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for b in self.buttons]

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def document(self) -> StoredFile | None:
        return self.files.get("document")

    @property
    def photo(self) -> StoredFile | None:
        return self.files.get("photo")

    def snapshot(self) -> ChatMessage:
        return ChatMessage(
            chat_id=self.chat_id,
            message_id=self.message_id,
            from_bot=self.from_bot,
            data=copy.deepcopy(self.data),
            history=copy.deepcopy(self.history),
            sent_text=self.sent_text,
            parse_mode=self.parse_mode,
            files=dict(self.files),
            deleted=self.deleted,
            is_snapshot=True,
        )

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else "user"
        return (
            f"<ChatMessage {who} chat={self.chat_id} id={self.message_id} text={self.text!r} "
            f"buttons={self.button_texts} edits={len(self.history)}>"
        )


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    bot_member: bool = True  # groups: the bot is a member; private: the user started the bot
    blocked: bool = False  # private: the user blocked the bot
    member_ids: set[int] = field(default_factory=set)
    menu_button: dict[str, Any] | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def wire(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            d["first_name"] = self.first_name
            if self.last_name:
                d["last_name"] = self.last_name
            if self.username:
                d["username"] = self.username
        else:
            d["title"] = self.title
        return d

    def new_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid
