"""Reply -> Matrix event contents (pure: no network).

Everything the bot says is an ``m.notice`` (bots do not answer notices, so two bots never
loop) with a plain ``body`` and an HTML ``formatted_body`` in which all text is escaped: a
name like ``<b>Joan & Co</b>`` prints literally. Choices become a numbered list answered
with the number or the words; while a typed value is awaited (``by_number`` false) they are
a bulleted list answered with the words only. Files are separate ``m.file`` / ``m.image``
events after the text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from handlers.i18n import LANGUAGES, translate
from handlers.messages import OutFile, Reply

MAX_BODY = 16_000  # characters per event; events are capped at 64 KiB on the wire
HTML = "org.matrix.custom.html"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event: a notice (``content``) or a file to upload first (``file``)."""

    content: dict[str, Any]
    tokens: tuple[str, ...] = ()  # the options a number typed in answer picks, in order
    file: OutFile | None = None


def escape(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def split_body(text: str, limit: int = MAX_BODY) -> list[str]:
    """Chunks under ``limit`` characters, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def notice(text: str, html_body: str | None = None) -> dict[str, Any]:
    return {
        "msgtype": "m.notice",
        "body": text,
        "format": HTML,
        "formatted_body": html_body if html_body is not None else escape(text),
    }


def _language(reply: Reply) -> str:
    return reply.language if reply.language in LANGUAGES else "en"


def with_choices(text: str, reply: Reply) -> dict[str, Any]:
    labels = [choice.label for choice in reply.choices]
    hint = translate(
        _language(reply), "matrix.pick_number" if reply.by_number else "matrix.pick_words"
    )
    if reply.by_number:
        plain = [f"{n}. {label}" for n, label in enumerate(labels, start=1)]
        items = "".join(f"<li>{escape(label)}</li>" for label in labels)
        listed = f"<ol>{items}</ol>"
    else:
        plain = [f"• {label}" for label in labels]
        items = "".join(f"<li>{escape(label)}</li>" for label in labels)
        listed = f"<ul>{items}</ul>"
    head = f"{text}\n\n" if text else ""
    body = head + "\n".join(plain) + f"\n\n{hint}"
    html_head = f"<p>{escape(text)}</p>" if text else ""
    return notice(body, f"{html_head}{listed}<p><i>{escape(hint)}</i></p>")


def render(reply: Reply) -> list[Outgoing]:
    """The events a reply becomes, in order; the list of choices rides on the last text."""
    chunks = split_body(reply.text.strip())
    tokens = tuple(choice.token for choice in reply.choices) if reply.by_number else ()
    out: list[Outgoing] = []
    if reply.choices:
        last = chunks.pop() if chunks else ""
        out = [Outgoing(notice(chunk)) for chunk in chunks]
        out.append(Outgoing(with_choices(last, reply), tokens=tokens))
    else:
        out = [Outgoing(notice(chunk)) for chunk in chunks]
    if reply.file is not None:
        out.append(Outgoing({}, file=reply.file))
    return out


def replacement(content: dict[str, Any], original: str) -> dict[str, Any]:
    """An edit (``m.replace``) of ``original`` to show ``content`` instead."""
    return {
        "msgtype": content["msgtype"],
        "body": f"* {content['body']}",
        "format": HTML,
        "formatted_body": f"* {content['formatted_body']}",
        "m.new_content": dict(content),
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


def file_content(
    file: OutFile, url: str, keys: dict[str, Any] | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``m.image`` for pictures, ``m.file`` otherwise; ``keys`` (from an encrypted upload)
    make it an encrypted attachment (``file``), else a plain ``url``."""
    kind = "m.image" if file.content_type.startswith("image/") else "m.file"
    info: dict[str, Any] = {"mimetype": file.content_type, "size": len(file.data)}
    info.update(extra or {})
    content: dict[str, Any] = {
        "msgtype": kind,
        "body": file.name,
        "filename": file.name,
        "info": info,
    }
    if keys is not None:
        content["file"] = {**keys, "url": url, "mimetype": file.content_type}
    else:
        content["url"] = url
    return content
