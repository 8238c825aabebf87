"""Keyed fingerprints of personal values (bot/fingerprints.py)."""

from __future__ import annotations

import hashlib

from bot.fingerprints import KeyedFingerprints, derive_fingerprint_key
from bot.links import derive_link_key


def test_a_fingerprint_is_keyed_stable_and_not_a_plain_hash() -> None:
    master = b"m" * 32
    prints = KeyedFingerprints(derive_fingerprint_key(master))
    value = prints.fingerprint("12345678Z")
    assert value == prints.fingerprint("12345678Z")
    assert value.startswith("hmac-sha256:") and len(value) == len("hmac-sha256:") + 64
    assert value != prints.fingerprint("12345678A")
    assert hashlib.sha256(b"12345678Z").hexdigest() not in value
    other = KeyedFingerprints(derive_fingerprint_key(b"n" * 32))
    assert other.fingerprint("12345678Z") != value


def test_the_fingerprint_key_is_not_the_link_key() -> None:
    master = b"k" * 32
    assert derive_fingerprint_key(master) != derive_link_key(master)
