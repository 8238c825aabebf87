"""Reply -> what to send to the Bot API (pure: no network, no PTB application).

Reply texts are plain text. Everything sent is HTML-escaped and sent with ``parse_mode=HTML``,
so a name like ``<b>Joan & Co</b>`` is shown literally. Long texts are split on line
boundaries so that each message stays within Telegram's 4,096 characters (counted here in
UTF-16 code units, the stricter of the two ways Telegram counts). Choices become an inline
keyboard, ``columns`` buttons per row, on the last message of the reply; each button carries
the choice's opaque token as ``callback_data`` (at most 64 bytes).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.messages import Choice, OutFile, Reply

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_COLUMNS = 8
PARSE_MODE = "HTML"
EMPTY_TEXT = "…"  # Telegram refuses empty messages; used only when a reply has buttons but no text


class RenderError(ValueError):
    """A reply cannot be shown on Telegram as it is (a programming error upstream)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Bot API call: a text message (``file is None``) or a document with a caption."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None
    file: OutFile | None = None


def escape(text: str) -> str:
    """Telegram HTML needs only <, > and & escaped (quotes are fine outside attributes)."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` so the head is at most ``limit`` UTF-16 units, preferring a space."""
    units = 0
    end = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        end = index + 1
    else:
        return text, ""
    space = text.rfind(" ", 0, end)
    if space > end // 2:
        return text[:space], text[space + 1 :]
    return text[:end], text[end:]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` UTF-16 units, cut at line ends when possible, then at
    spaces, then anywhere. Whitespace around chunks is dropped (Telegram drops it anyway);
    empty chunks are never returned."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = line if not current else f"{current}\n{line}"
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            chunks.append(current)
        current = line
        while utf16_len(current) > limit:
            head, current = _cut(current, limit)
            if head.strip():
                chunks.append(head)
    if current.strip():
        chunks.append(current)
    return [chunk.strip() for chunk in chunks]


def callback_data(choice: Choice) -> str:
    data = choice.token
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        raise RenderError(f"choice token must be 1-{MAX_CALLBACK_DATA} bytes, got {data!r}")
    return data


def keyboard(choices: tuple[Choice, ...], columns: int = 1) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    width = min(max(columns, 1), MAX_COLUMNS)
    buttons = [
        InlineKeyboardButton(choice.label, callback_data=callback_data(choice))
        for choice in choices
    ]
    rows = [buttons[i : i + width] for i in range(0, len(buttons), width)]
    return InlineKeyboardMarkup(rows)


PHOTO_TYPES = ("image/png", "image/jpeg")
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto's limit; larger pictures go as documents


def is_photo(file: OutFile) -> bool:
    return file.content_type in PHOTO_TYPES and len(file.data) <= PHOTO_LIMIT


def render(reply: Reply) -> list[Outgoing]:
    """The messages a reply becomes, in order; the keyboard rides on the last one."""
    markup = keyboard(reply.choices, reply.columns)
    text = reply.text.strip()
    if reply.file is not None:
        if utf16_len(text) <= MAX_CAPTION:
            return [Outgoing(html=escape(text), keyboard=markup, file=reply.file)]
        # Too long for a caption: the text first, then the document carrying the buttons.
        texts = [Outgoing(html=escape(chunk)) for chunk in split_text(text)]
        return [*texts, Outgoing(html="", keyboard=markup, file=reply.file)]
    chunks = split_text(text)
    if not chunks:
        if markup is None:
            return []
        chunks = [EMPTY_TEXT]
    out = [Outgoing(html=escape(chunk)) for chunk in chunks]
    out[-1] = Outgoing(html=out[-1].html, keyboard=markup)
    return out


def chosen(text: str, label: str) -> str | None:
    """The text of a message whose button was pressed: the question, then what was chosen.

    Returns None when it would not fit (the caller then just removes the buttons)."""
    plain = f"{text.rstrip()}\n\n→ {label}"
    if utf16_len(plain) > MAX_TEXT:
        return None
    return f"{escape(text.rstrip())}\n\n<b>→ {escape(label)}</b>"
