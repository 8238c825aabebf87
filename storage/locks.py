"""Keys for PostgreSQL advisory locks: one signed 64-bit number per named thing.

The key is a hash of the parts, stable across processes and Python versions (not
``hash()``), so every instance locks the same number for the same person or job."""

from __future__ import annotations

import hashlib


def advisory_key(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
