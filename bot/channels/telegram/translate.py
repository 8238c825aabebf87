"""Telegram update -> what the channel should do with it (pure: no network).

Only private chats reach the conversation engine. In groups the bot never forwards anything
and only says, now and then, that it works in private chats (``GroupNotice``): personal data
must never be written to a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Chat, Message, Update, User
from telegram.constants import ChatMemberStatus, MessageEntityType

from handlers.messages import Turn, TurnKind

CHANNEL = "telegram"
PRIVATE = Chat.PRIVATE
GROUPS = (Chat.GROUP, Chat.SUPERGROUP)
# Update types the bot asks for (getUpdates / setWebhook ``allowed_updates``).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the person sent, not downloaded yet."""

    file_id: str
    size: int | None
    name: str
    declared_type: str


@dataclass(frozen=True, slots=True)
class Press:
    """A button press on one of the bot's messages."""

    query_id: str
    message_id: int | None
    data: str
    label: str | None  # None: the button is no longer on the message (a stale press)
    message_text: str | None


@dataclass(frozen=True, slots=True)
class Inbound:
    """A private-chat event for the engine. ``turn.file`` is filled once ``file`` is fetched."""

    chat_id: int
    turn: Turn
    file: FileRef | None = None
    press: Press | None = None


@dataclass(frozen=True, slots=True)
class GroupNotice:
    """Say in a group that the bot only works in private chats (the engine words it)."""

    chat_id: int
    turn: Turn  # a GROUP turn: the group's address, the language hint, the bot's link
    callback_query_id: str | None = None  # a press in a group is answered, never handled


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str
    callback_query_id: str | None = None  # still answered, so the client's spinner stops


Event = Inbound | GroupNotice | Ignored


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return " ".join(part for part in (user.first_name, user.last_name) if part)


def _base(chat: Chat, user: User, kind: TurnKind, **values: Any) -> Turn:
    return Turn(
        channel=CHANNEL,
        external_id=str(user.id),
        address=str(chat.id),
        kind=kind,
        display_name=display_name(user),
        language_hint=user.language_code or "",
        **values,
    )


def parse_command(message: Message, bot_username: str) -> tuple[str, str] | None:
    """(command, arguments) when the message starts with a bot_command entity meant for us.

    ``/start@other_bot`` is for another bot: None. Arguments are the rest of the text (for
    ``/start`` the deep-link payload)."""
    text = message.text or ""
    entities = message.entities or ()
    if not entities or entities[0].type != MessageEntityType.BOT_COMMAND:
        return None
    if entities[0].offset != 0:
        return None
    token = message.parse_entity(entities[0])
    name, _, target = token[1:].partition("@")
    if target and target.lower() != bot_username.lower():
        return None
    if not name:
        return None
    rest = text[len(token) :].strip()
    return name.lower(), rest


def _file_ref(message: Message) -> FileRef | None:
    if message.photo:
        largest = message.photo[-1]  # PhotoSize from smallest to largest
        return FileRef(
            file_id=largest.file_id,
            size=largest.file_size,
            name=f"photo_{largest.file_unique_id}.jpg",
            declared_type="image/jpeg",
        )
    if message.document is not None:
        document = message.document
        return FileRef(
            file_id=document.file_id,
            size=document.file_size,
            name=document.file_name or f"document_{document.file_unique_id}",
            declared_type=document.mime_type or "application/octet-stream",
        )
    return None


def _bot_added(update: Update, bot_id: int) -> bool:
    member = update.my_chat_member
    if member is not None:
        return member.new_chat_member.status in (
            ChatMemberStatus.MEMBER,
            ChatMemberStatus.ADMINISTRATOR,
        ) and member.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    message = update.message
    return message is not None and any(u.id == bot_id for u in message.new_chat_members or ())


def classify(update: Update, *, bot_id: int, bot_username: str) -> Event:
    """Decide what one update means for the bot."""
    query = update.callback_query
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        return Ignored("no chat or user", query.id if query else None)
    if user.is_bot:
        return Ignored("from a bot", query.id if query else None)

    if chat.type in GROUPS:
        if query is not None:
            return Ignored("button pressed in a group", query.id)
        notice = GroupNotice(
            chat.id, _base(chat, user, TurnKind.GROUP, link=f"https://t.me/{bot_username}")
        )
        if _bot_added(update, bot_id):
            return notice
        message = update.message
        if message is not None and parse_command(message, bot_username) is not None:
            return notice
        return Ignored("group message")
    if chat.type != PRIVATE:
        return Ignored(f"{chat.type} chat", query.id if query else None)

    if query is not None:
        data = query.data or ""
        pressed = query.message
        label = None
        text = None
        message_id = None
        if isinstance(pressed, Message):
            label = _label(pressed, data)
            text = pressed.text
            message_id = pressed.message_id
        elif pressed is not None:  # too old for Telegram to include it
            message_id = pressed.message_id
        if not data:
            return Ignored("button without data", query.id)
        press = Press(query.id, message_id, data, label, text)
        return Inbound(chat.id, _base(chat, user, TurnKind.CHOICE, choice=data), press=press)

    member = update.my_chat_member
    if member is not None:
        status = member.new_chat_member.status
        if status == ChatMemberStatus.BANNED:  # "kicked": the person blocked the bot
            return Inbound(chat.id, _base(chat, user, TurnKind.GONE))
        if status == ChatMemberStatus.MEMBER:
            return Inbound(chat.id, _base(chat, user, TurnKind.BACK))
        return Ignored("chat member update")
    message = update.message
    if message is None:
        return Ignored("not a message")  # edited messages, ...
    command = parse_command(message, bot_username)
    if command is not None:
        name, args = command
        return Inbound(chat.id, _base(chat, user, TurnKind.COMMAND, command=name, text=args))
    ref = _file_ref(message)
    if ref is not None:
        turn = _base(chat, user, TurnKind.FILE, text=message.caption or "")
        return Inbound(chat.id, turn, file=ref)
    if message.text is not None:
        return Inbound(chat.id, _base(chat, user, TurnKind.TEXT, text=message.text))
    if message.new_chat_members or message.left_chat_member:
        return Ignored("service message")
    # Stickers, voice notes, locations...: the engine answers that it did not understand.
    return Inbound(chat.id, _base(chat, user, TurnKind.TEXT, text=""))


def _label(message: Message, data: str) -> str | None:
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
