"""Safe file names for documents a citizen sends.

A name from a chat client is only a hint for people: it never decides the type (the content
does) and never reaches the file system as a path (blobs are addressed by SHA-256). It is
still shown to staff, printed on the receipt and used as a download name, so it is cleaned:

* only the last path component is kept (``../../etc/passwd`` -> ``passwd``);
* control and format characters are removed (NUL, newlines, ANSI escapes, bidi overrides
  such as U+202E that make ``gpj.exe`` look like ``exe.jpg``, zero-width characters);
* characters that are reserved on common file systems become ``_``;
* leading dots and spaces go (no hidden files), Windows device names get a ``_`` prefix;
* the length is limited;
* the extension is replaced by the one matching the sniffed content type.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "EXTENSIONS",
    "extension_for",
    "sanitize_filename",
]

#: The extension we give each content type that intake can produce.
EXTENSIONS: dict[str, str] = {
    "image/jpeg": ".jpg",
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
}

_RESERVED = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_LAST_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
# Unicode categories removed outright: controls, format (bidi, zero-width), surrogates,
# private use and unassigned code points.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def extension_for(content_type: str) -> str:
    """The extension (with the dot) for a content type intake produces."""
    try:
        return EXTENSIONS[content_type]
    except KeyError:
        raise ValueError(f"no extension known for content type {content_type!r}") from None


def _clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _DROP_CATEGORIES:
            continue
        if category in {"Zl", "Zp"}:  # line/paragraph separators
            kept.append(" ")
            continue
        kept.append(ch)
    return "".join(kept)


def sanitize_filename(
    name: str | None,
    *,
    extension: str,
    max_length: int = 120,
    default_stem: str = "document",
) -> str:
    """Return a display/download name that is safe everywhere.

    ``extension`` (e.g. ``".jpg"``) is what the content really is; any extension in
    ``name`` is dropped. ``max_length`` counts characters of the whole result and is kept
    under 255 UTF-8 bytes as well. ``default_stem`` is used when nothing usable is left.
    """
    if not extension.startswith(".") or not re.fullmatch(r"\.[a-z0-9]{1,8}", extension):
        raise ValueError(f"bad extension {extension!r}")
    if max_length < len(extension) + 1:
        raise ValueError("max_length too small")
    text = _clean_text(name or "")
    # Only the last path component, whichever separator the client used.
    text = re.split(r"[/\\]", text)[-1]
    text = _RESERVED.sub("_", text)
    text = _SPACES.sub(" ", text).strip()
    text = _LAST_SUFFIX.sub("", text)
    text = text.strip(" .")
    # Dots at the start would hide the file; ".." alone would be a parent reference.
    text = text.lstrip(".").strip()
    if not text or set(text) <= {".", "_", " "}:
        text = default_stem
    if text.split(".")[0].upper() in _WINDOWS_DEVICES:
        text = "_" + text
    budget = max_length - len(extension)
    stem = text[:budget].rstrip(" .")
    while len((stem + extension).encode("utf-8")) > 255:
        stem = stem[:-1]
    stem = stem.rstrip(" .") or default_stem
    return stem + extension
