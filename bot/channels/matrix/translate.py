"""Matrix event content -> what the person did (pure: no network, no nio client).

Works on the events' ``content`` dicts, so it reads the same for plain and decrypted
events. Commands start with ``!`` (Element swallows a leading ``/``; ``/`` works too from
other clients). A bare number picks an option of the list it answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.messages import Turn, TurnKind

CHANNEL = "matrix"
COMMAND = re.compile(r"^[!/]([A-Za-z][A-Za-z0-9_]{0,31})(?:\s+(.*))?$", re.DOTALL)
TEXT_TYPES = ("m.text", "m.emote")
MEDIA_TYPES = ("m.image", "m.file")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the person sent, not downloaded yet. ``encryption`` holds the ``file``
    object of an encrypted attachment (key, iv, hashes), None for a plain one."""

    url: str
    size: int | None
    name: str
    declared_type: str
    encryption: dict[str, Any] | None = None


def strip_reply_fallback(body: str) -> str:
    """A reply's body may start with the quoted message ("> <@x> ..." lines, then a blank
    line); the person's own words follow it."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def replied_to(content: dict[str, Any]) -> str | None:
    """The event id a message answers (``m.in_reply_to``), if any."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None
    reply = relates.get("m.in_reply_to")
    if isinstance(reply, dict) and isinstance(reply.get("event_id"), str):
        return str(reply["event_id"])
    return None


def is_edit(content: dict[str, Any]) -> bool:
    relates = content.get("m.relates_to")
    return isinstance(relates, dict) and relates.get("rel_type") == "m.replace"


def picked(text: str, tokens: list[str] | None) -> str | None:
    """The token of the option a bare number picks ("2" -> the second), else None."""
    typed = text.strip().rstrip(".)").strip()
    if not tokens or not typed.isdigit():
        return None
    index = int(typed) - 1
    return tokens[index] if 0 <= index < len(tokens) else None


def file_ref(content: dict[str, Any]) -> FileRef | None:
    """An ``m.image`` or ``m.file`` (plain: ``url``; encrypted: ``file.url`` + keys)."""
    if content.get("msgtype") not in MEDIA_TYPES:
        return None
    raw_info, raw_file = content.get("info"), content.get("file")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    encrypted: dict[str, Any] | None = raw_file if isinstance(raw_file, dict) else None
    url = encrypted.get("url") if encrypted else content.get("url")
    if not isinstance(url, str) or not url.startswith("mxc://"):
        return None
    size = info.get("size")
    name = content.get("filename") or content.get("body") or "file"
    declared = info.get("mimetype") or (encrypted or {}).get("mimetype")
    if not declared:
        declared = "image/jpeg" if content.get("msgtype") == "m.image" else ""
    return FileRef(
        url=url,
        size=int(size) if isinstance(size, int) and size >= 0 else None,
        name=str(name)[:200],
        declared_type=str(declared or "application/octet-stream"),
        encryption=encrypted,
    )


def turn_for(
    content: dict[str, Any],
    *,
    sender: str,
    room_id: str,
    display_name: str,
    language_hint: str = "",
    tokens: list[str] | None = None,
) -> Turn | None:
    """The Turn a message becomes (files still to be fetched), or None to ignore it.
    ``tokens`` are the option tokens of the list the message answers, in order."""
    if is_edit(content):
        return None  # an edit of an earlier message: the original was answered already
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "external_id": sender,
        "address": room_id,
        "display_name": display_name,
        "language_hint": language_hint,
    }
    msgtype = content.get("msgtype")
    if msgtype == "m.notice":
        return None  # bots do not answer notices (other bots')
    if msgtype in MEDIA_TYPES:
        caption = ""
        return Turn(kind=TurnKind.FILE, text=caption, **base)
    body = content.get("body")
    if msgtype not in TEXT_TYPES or not isinstance(body, str):
        return Turn(kind=TurnKind.TEXT, text="", **base)  # audio, location...: not understood
    text = strip_reply_fallback(body)
    command = COMMAND.match(text.strip())
    if command is not None:
        return Turn(
            kind=TurnKind.COMMAND,
            command=command.group(1).lower(),
            text=(command.group(2) or "").strip(),
            **base,
        )
    token = picked(text, tokens)
    if token is not None:
        return Turn(kind=TurnKind.CHOICE, choice=token, **base)
    return Turn(kind=TurnKind.TEXT, text=text, **base)


KEYCAP = "\u20e3"  # "1" + VS16 + this = the keycap emoji 1️⃣
TEN = "\U0001f51f"  # 🔟


def reaction_number(key: str) -> int | None:
    """The option a reaction picks: a keycap digit (1️⃣ … 9️⃣), 🔟, or a plain number."""
    if key == TEN:
        return 10
    bare = key.replace("\ufe0f", "").replace(KEYCAP, "").strip()
    if bare.isdigit() and 0 < int(bare) <= 99:
        return int(bare)
    return None
