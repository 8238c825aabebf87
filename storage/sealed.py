"""Personal fields sealed at rest: a JSON column whose stored text is AES-256-GCM.

Which columns: ``appointments.details`` (the application form, identity data, the
agreement), ``outbox.payload`` (what is about to be said to someone) and
``conversations.data`` (what a person is typing into a form, mid-flow). One exception:
the reminders the scheduler plans in SQL (storage/reminders.py) are written by the
database with a payload of kind, appointment id and start only, no personal value, and
open as the plaintext rows written before sealing do. Repositories and their callers see
plain dicts; the database file, its WAL and its backups only hold
``vt1:<key id>:<base64url(nonce | ciphertext | tag)>``.

Scheme (the same primitives as storage/blobs.py, one key per master key): a column key is
derived from each master key with HKDF-SHA256 (info ``videotramit sealed-json v1``); every
value gets a fresh random 96-bit nonce; the additional data is ``<table>.<column>`` so a
value copied into another column does not open. New values are sealed under the current
master key; older ones open with theirs as long as the keyring holds it.

The sealer belongs to an engine (:func:`install`), not to the process: an engine without
one (a migration, a tool) reads plaintext rows left from before sealing and writes
plaintext.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from storage.blobs import Keyring

PREFIX = "vt1:"
_INFO = b"videotramit sealed-json v1"
_NONCE = 12


def _split(text: str) -> tuple[str, str]:
    """A stored ``vt1:<key id>:<body>`` as (key id, body)."""
    key_id, _, body = text[len(PREFIX) :].partition(":")
    return key_id, body


def sealing_key(text: str) -> str | None:
    """The master key id a stored value is sealed with; None for a plaintext one."""
    return _split(text)[0] if text.startswith(PREFIX) else None


class SealError(Exception):
    """A sealed value that does not open (wrong key, altered, or its key is retired)."""


class Sealer:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._keys: dict[str, AESGCM] = {}

    def _aead(self, key_id: str) -> AESGCM:
        aead = self._keys.get(key_id)
        if aead is None:
            master = self._keyring.get(key_id)
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
                master
            )
            aead = self._keys[key_id] = AESGCM(derived)
        return aead

    def seal(self, value: Any, where: str) -> str:
        key_id = self._keyring.current_id
        nonce = os.urandom(_NONCE)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self._aead(key_id).encrypt(nonce, plain, where.encode())
        return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, text: str, where: str) -> Any:
        key_id, body = _split(text)
        try:
            raw = base64.urlsafe_b64decode(body)
            plain = self._aead(key_id).decrypt(raw[:_NONCE], raw[_NONCE:], where.encode())
        except (InvalidTag, ValueError, KeyError) as exc:
            raise SealError(f"a sealed {where} value does not open ({type(exc).__name__})") from exc
        except Exception as exc:  # KeyMissing and the like
            raise SealError(f"a sealed {where} value does not open: {exc}") from exc
        return json.loads(plain)


def install(engine: AsyncEngine, sealer: Sealer) -> None:
    """Seal this engine's personal columns with `sealer`."""
    engine.sync_engine.dialect.videotramit_sealer = sealer  # type: ignore[attr-defined]


def _sealer(dialect: Any) -> Sealer | None:
    return getattr(dialect, "videotramit_sealer", None)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored sealed (see the module docstring)."""

    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        sealer = _sealer(dialect)
        if sealer is None:
            return json.dumps(value, ensure_ascii=False)
        return sealer.seal(value, self.where)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            return value  # a JSON column PostgreSQL already parsed (before migration 0005h)
        if value.startswith(PREFIX):
            sealer = _sealer(dialect)
            if sealer is None:
                raise SealError(f"{self.where} is sealed and this engine holds no key")
            return sealer.open(value, self.where)
        return json.loads(value)  # written before sealing
