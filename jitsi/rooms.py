"""Room names and join links.

A room name is ``vt-`` followed by 26 lowercase base32 characters drawn from 128 random
bits: unguessable, built only from ``[a-z0-9-]`` (the characters Prosody, the web client
and Jibri's file names all keep as they are) and free of anything personal (no name,
reference or date). The same string is used in the token's ``room`` claim and in the URL.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import quote

from jitsi.tokens import ROOM_RE

__all__ = ["ROOM_PREFIX", "is_room_name", "join_url", "new_room_name"]

ROOM_PREFIX = "vt-"
_RANDOM_BYTES = 16  # 128 bits -> 26 base32 characters


def new_room_name() -> str:
    """A fresh unguessable room name, e.g. ``vt-k3q7w2m5x9a4b6c8d1e0f2g3h4``."""
    raw = base64.b32encode(secrets.token_bytes(_RANDOM_BYTES)).decode("ascii")
    return ROOM_PREFIX + raw.rstrip("=").lower()


def is_room_name(value: str) -> bool:
    """Whether ``value`` is an acceptable room name (exact lowercase ``[a-z0-9-]``)."""
    return bool(ROOM_RE.match(value))


def join_url(base_url: str, room: str, token: str) -> str:
    """``{base_url}/{room}#jwt={token}`` (the web client reads the token from the hash).

    The token travels in the fragment, so it is not sent to the web server nor written to
    its access log.
    """
    if not is_room_name(room):
        raise ValueError("room must be a lowercase name of [a-z0-9-]")
    if not token or any(c not in _JWT_CHARS for c in token):
        raise ValueError("token is not a compact JWT")
    base = base_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError("base_url must start with https:// or http://")
    return f"{base}/{quote(room, safe='-')}#jwt={token}"


_JWT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
