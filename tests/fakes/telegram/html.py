"""Telegram's HTML parse mode, ported from tdlib ``td/telegram/MessageEntity.cpp`` ``parse_html``.

Error texts are tdlib's; the Bot API server prefixes them with
"Bad Request: can't parse entities: ". Offsets in errors are byte offsets into the UTF-8 text,
entity offsets/lengths are UTF-16 code units (reference §3.1 sendMessage).
"""

from __future__ import annotations

from typing import Any

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SPACES = b" \t\r\n\v\f\0"


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` is tdlib's message."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_space(c: int) -> bool:
    return c in _SPACES


def _decode_entity(buf: bytes, pos: int) -> tuple[int, int]:
    """Returns (code point, new position) or (0, pos) when ``&...`` is not an entity."""

    def at(k: int) -> int:
        return buf[k] if k < len(buf) else 0

    end = pos + 1
    res = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                res = res * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while ord("0") <= at(end) <= ord("9"):
                res = res * 10 + at(end) - ord("0")
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        name = buf[pos + 1 : end]
        res = {b"lt": 60, b"gt": 62, b"amp": 38, b"quot": 34}.get(name, 0)
        if res == 0:
            return 0, pos
    if at(end) == ord(";"):
        end += 1
    return res, end


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses Telegram HTML into (plain text, entities). Raises HtmlParseError."""
    buf = text.encode("utf-8")
    n = len(buf)

    def at(k: int) -> int:
        return buf[k] if k < n else 0

    out = bytearray()
    entities: list[dict[str, Any]] = []
    utf16 = 0
    # stack entries: (tag, argument, utf16 offset at start, byte length of output at start)
    stack: list[tuple[str, str, int, int]] = []
    i = 0
    while i < n:
        c = buf[i]
        if c == ord("&"):
            code, new_i = _decode_entity(buf, i)
            if code:
                utf16 += 1 + (code > 0xFFFF)
                out += chr(code).encode("utf-8", "surrogatepass")
                i = new_i
                continue
        if c != ord("<"):
            if (c & 0xC0) != 0x80:
                utf16 += 1 + (c >= 0xF0)
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != ord("/"):
            while not _is_space(at(i)) and at(i) != ord(">"):
                i += 1
            if at(i) == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = buf[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != ord(">"):
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) == ord(">"):
                    break
                attr_begin = i
                while not _is_space(at(i)) and at(i) not in b"=>/\"'":
                    i += 1
                attr = buf[attr_begin:i].decode("utf-8", "replace")
                if not attr:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) != ord("="):
                    if at(i) == 0:
                        raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in b"'\"":
                    tok = i
                    while chr(at(i)).isascii() and (chr(at(i)).isalnum() or at(i) in b".-"):
                        if at(i) == 0:
                            break
                        i += 1
                    value = buf[tok:i].decode().lower()
                    if not _is_space(at(i)) and at(i) != ord(">"):
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {tok}")
                else:
                    quote = at(i)
                    i += 1
                    raw = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == ord("&"):
                            code, new_i = _decode_entity(buf, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = new_i
                                continue
                        raw.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if at(i) == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append((tag, argument, utf16, len(out)))
            i += 1  # skip '>'
            continue

        # end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        while not _is_space(at(i)) and at(i) != ord(">"):
            i += 1
        end_tag = buf[begin + 2 : i].decode("utf-8", "replace").lower()
        while at(i) and _is_space(at(i)):
            i += 1
        if at(i) != ord(">"):
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        tag, argument, start, start_byte = stack[-1]
        if end_tag and end_tag != tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        stack.pop()
        length = utf16 - start
        if length <= 0:
            continue
        entity: dict[str, Any] = {"offset": start, "length": length}
        if tag in ("i", "em"):
            entity["type"] = "italic"
        elif tag in ("b", "strong"):
            entity["type"] = "bold"
        elif tag in ("s", "strike", "del"):
            entity["type"] = "strikethrough"
        elif tag in ("u", "ins"):
            entity["type"] = "underline"
        elif tag in ("tg-spoiler", "span"):
            entity["type"] = "spoiler"
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "tg-time":
            continue  # date entities need the unix attribute; not modelled
        elif tag == "a":
            url = argument or bytes(out[start_byte:]).decode("utf-8", "replace")
            if not url:
                continue
            if "://" not in url and not url.startswith("tg:"):
                url = "http://" + url
            entity.update(type="text_link", url=url)
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == start
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                continue
            entity["type"] = "pre"
        elif tag == "code":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "pre"
                and last["offset"] == start
                and last["length"] == length
                and argument
            ):
                last["language"] = argument
                continue
            entity["type"] = "code"
            if argument:
                entity["language"] = argument  # kept until an enclosing <pre> claims it
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        entities.append(entity)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for e in entities:
        if e["type"] == "code":
            e.pop("language", None)
    plain = bytes(out).decode("utf-8", "surrogatepass")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


def trim_formatted(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strips surrounding whitespace like tdlib's ``fix_formatted_text``; shifts/clips entities."""
    stripped_left = text.lstrip()
    left = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed = []
    for e in entities:
        start = max(e["offset"] - left, 0)
        end = min(e["offset"] + e["length"] - left, total)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return result, fixed
