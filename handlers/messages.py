"""Channel-neutral messages: what a person sends (a Turn) and what the bot answers (a Reply).

Channels translate their platform's events into Turns and render Replies; nothing in here
knows about Telegram, Matrix or the terminal.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TurnKind(StrEnum):
    """What a person did. The first four come from what they wrote; the others are what a
    channel learned about them, which the engine answers like any other input."""

    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"
    FILE = "file"
    FILE_TOO_BIG = "file_too_big"  # a file over `size_limit` bytes, refused unread
    FILE_LOST = "file_lost"  # a file the channel could not fetch
    JOINED = "joined"  # a new private chat with the bot (e.g. a Matrix invite accepted)
    GONE = "gone"  # the person blocked the bot or left the chat: unreachable
    BACK = "back"  # the person unblocked the bot: reachable again
    GROUP = "group"  # something in a group chat: only a pointer to private chats is said


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a file in the sandbox gave, before the turn's unit of work opened:
    the normalised document (opaque here, handed back to the documents port) or the
    reason code it was refused for."""

    refused: str = ""
    document: object = None


@dataclass(frozen=True, slots=True)
class InFile:
    """A file a person sent: bytes plus what the platform claimed about it (never trusted).
    `checked` is filled by the engine before the turn runs (DocumentsPort.check)."""

    name: str
    data: bytes
    declared_type: str = "application/octet-stream"
    checked: Checked | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One thing a person did in a chat.

    `channel` + `address` identify the private chat the reply goes to; `external_id` is the
    platform's user id. `text` carries the text or the command's arguments; `command` the
    command name without its prefix; `choice` the opaque token of a pressed button.
    `size_limit` is the largest file the channel takes (FILE_TOO_BIG); `link` how to reach
    the bot in private (GROUP).
    """

    channel: str
    external_id: str
    address: str
    kind: TurnKind
    text: str = ""
    command: str = ""
    choice: str = ""
    file: InFile | None = None
    display_name: str = ""
    language_hint: str = ""
    # The person already chose `language_hint` (e.g. `chat --language en`), so it is not
    # asked again; otherwise it is only the client's setting, preselected.
    language_chosen: bool = False
    size_limit: int = 0
    link: str = ""
    # The platform's id of what it delivered (a Telegram update id): a turn with a key is
    # taken once, however often the platform delivers it (after a crash, to another
    # instance). Empty: the channel delivers each thing once.
    key: str = ""


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. `token` is opaque and short (it fits Telegram's 64-byte callback_data)."""

    token: str
    label: str


@dataclass(frozen=True, slots=True)
class OutFile:
    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says. `choices` render as buttons or a numbered list.

    `panel` names a message that is updated in place (e.g. the staff session panel) where
    the channel can edit messages; other channels just send it again. `by_number` says
    whether typing an option's number picks it (false while a typed value is awaited, e.g.
    an email address, so a number typed there stays a value). `language` is the
    recipient's, for the few words a channel adds itself (e.g. that a file cannot be sent).
    """

    text: str
    choices: tuple[Choice, ...] = ()
    file: OutFile | None = None
    panel: str = ""
    columns: int = 1
    extra: dict[str, str] = field(default_factory=dict)
    by_number: bool = True
    language: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A turn's replies and, when they are kept in the outbox until sent, the ids that
    hold them there (one per reply), for the channel to settle once it has sent them."""

    replies: list[Reply]
    held: tuple[int, ...] = ()


def reply_payload(reply: Reply, language: str) -> dict[str, Any]:
    """A reply as an outbox row keeps it, to be sent as it was (bot.dispatcher.reply_from)."""
    payload: dict[str, Any] = {
        "text": reply.text,
        "choices": [[c.token, c.label] for c in reply.choices],
        "panel": reply.panel,
        "columns": reply.columns,
        "language": reply.language or language,
        "by_number": reply.by_number,
    }
    if reply.extra.get("subject"):
        payload["subject"] = reply.extra["subject"]
    if reply.file is not None:
        # Inline: a turn's files are small (an .ics, a chart) and the row is sealed.
        payload["file"] = {
            "name": reply.file.name,
            "type": reply.file.content_type,
            "data": base64.b64encode(reply.file.data).decode("ascii"),
        }
    return payload
