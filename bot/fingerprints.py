"""Keyed fingerprints of personal values (an identity number) for the evidence.

A plain SHA-256 of a DNI can be reversed by trying the hundred million numbers; an
HMAC-SHA256 under a key derived from the storage master key (as bot/links.py derives its
own) cannot, without the key. Behind `handlers.ports.FingerprintPort`, so that the
project-wide keyed fingerprints (issue 9) can replace it.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "hmac-sha256:"  # names the scheme, so a later one can sit beside it


def derive_fingerprint_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"videotramit/fingerprints/v1", hashlib.sha256).digest()


class KeyedFingerprints:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def fingerprint(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest
