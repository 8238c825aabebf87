"""Short-lived signed links for staff to open a document in the browser: `/files/{token}`.

The token carries the document id, the viewer and an expiry, signed with HMAC-SHA256 under
a key derived from the master key. Forged tokens are refused (403), expired ones answer 410.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_PACK = struct.Struct(">IQ")  # document id, expiry (unix seconds)


class LinkForged(Exception):
    pass


class LinkExpired(Exception):
    pass


@dataclass(frozen=True, slots=True)
class LinkGrant:
    document_id: int
    viewer: str
    expires: datetime


def derive_link_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"videotramit/file-links/v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, key: bytes, public_base_url: str, ttl: timedelta) -> None:
        self._key = key
        self._base = public_base_url.rstrip("/")
        self._ttl = ttl

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:20]

    def token(self, document_id: int, viewer: str, now: datetime) -> str:
        expires = int((now + self._ttl).timestamp())
        body = _PACK.pack(document_id, expires) + viewer.encode("utf-8")[:64]
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def file_link(self, document_id: int, viewer: str, now: datetime) -> str:
        return f"{self._base}/files/{self.token(document_id, viewer, now)}"

    def check(self, token: str, now: datetime) -> LinkGrant:
        try:
            body_text, mac_text = token.split(".", 1)
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, UnicodeError) as exc:
            raise LinkForged from exc
        if len(body) < _PACK.size or not hmac.compare_digest(mac, self._mac(body)):
            raise LinkForged
        document_id, expires = _PACK.unpack_from(body)
        grant = LinkGrant(
            document_id=document_id,
            viewer=body[_PACK.size :].decode("utf-8", "replace"),
            expires=datetime.fromtimestamp(expires, UTC),
        )
        if now >= grant.expires:
            raise LinkExpired
        return grant
