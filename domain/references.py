"""Booking reference codes: short, easy to read aloud, and unguessable.

Format ``VT-XXXXXXX``: the prefix and 7 characters drawn with `secrets` from a 30-symbol
alphabet with no 0/O, 1/I/L or U (so nothing can be misread or misheard as something
else). 7 × log2(30) ≈ 34.3 bits of entropy: with a million references issued, a random
guess hits one with probability ≈ 1 in 21,000, and lookups are rate-limited on top.
"""

from __future__ import annotations

import math
import re
import secrets

PREFIX = "VT"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 7
ENTROPY_BITS = BODY_LENGTH * math.log2(len(ALPHABET))  # ≈ 34.35

_CANONICAL = re.compile(rf"^{PREFIX}-[{ALPHABET}]{{{BODY_LENGTH}}}$")
_BODY = re.compile(rf"^[{ALPHABET}]{{{BODY_LENGTH}}}$")
_NOISE = re.compile(r"[\s\-‐-―_.·:#/]")


def new_reference() -> str:
    """A fresh random reference such as ``VT-7K3M9PQ``."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{PREFIX}-{body}"


def normalise_reference(text: str | None) -> str | None:
    """The canonical ``VT-XXXXXXX`` form of what a person typed, or None.

    Tolerates lowercase, spaces, dashes or dots anywhere, and a missing ``VT`` prefix
    ("vt 7k3m 9pq", "7K3M9PQ", "VT7K3M9PQ").
    """
    if not text:
        return None
    compact = _NOISE.sub("", text).upper()
    if len(compact) == len(PREFIX) + BODY_LENGTH and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if not _BODY.match(compact):
        return None
    return f"{PREFIX}-{compact}"


def is_reference(text: str | None) -> bool:
    """True when `text` is (or normalises to) a well-formed reference."""
    return normalise_reference(text) is not None


def is_canonical_reference(text: str) -> bool:
    """True only for the exact stored form ``VT-XXXXXXX``."""
    return bool(_CANONICAL.match(text))
