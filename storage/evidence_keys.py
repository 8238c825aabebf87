"""The council's evidence key (Ed25519) and keyed fingerprints (HMAC-SHA256).

The private key signs chain heads and daily roots. It is read from the environment
(``VIDEOTRAMIT_EVIDENCE__SIGNING_KEY``: PEM, or the 32-byte seed in base64) or from a PEM
file (``[evidence] key_file``, e.g. made with ``openssl genpkey -algorithm ed25519``) that
must live outside ``data_dir``: whoever can copy the database and the blobs must not get
the key with them. It is never written to the database.

The public key's *fingerprint* is the SHA-256 of its 32 raw bytes, in hex: the value the
council publishes and a verifier compares.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "EvidenceKeyError",
    "EvidenceSigner",
    "Fingerprinter",
    "derive_fingerprint_key",
    "fingerprint_of",
    "load_public_key",
    "public_pem",
    "verify_signature",
]


class EvidenceKeyError(ValueError):
    """The key cannot be used; the message says why (never the key itself)."""


def fingerprint_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@dataclass(frozen=True)
class EvidenceSigner:
    """Signs with the council's key; ``fingerprint`` names the matching public key."""

    _key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> EvidenceSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> EvidenceSigner:
        text = text.strip()
        if text.startswith("-----BEGIN"):
            try:
                key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
            except (ValueError, TypeError) as exc:
                raise EvidenceKeyError("not a readable unencrypted PEM private key") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise EvidenceKeyError("the evidence key must be an Ed25519 key")
            return cls(key)
        try:
            seed = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise EvidenceKeyError("neither PEM nor base64") from None
        if len(seed) != 32:
            raise EvidenceKeyError("a base64 Ed25519 key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_file(cls, path: Path) -> EvidenceSigner:
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise EvidenceKeyError(f"cannot read {path}") from exc
        return cls.from_text(text)

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, path: Path) -> None:
        """Create ``path`` (mode 0600, refusing to overwrite)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb", opener=lambda p, f: os.open(p, f, 0o600)) as out:
            out.write(self.private_pem())

    @property
    def public(self) -> Ed25519PublicKey:
        return self._key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public)

    def public_pem(self) -> str:
        return public_pem(self.public)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"EvidenceSigner(fingerprint={self.fingerprint[:16]}…)"


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo), or a private key's PEM (its public
    half), or 32 raw bytes / their base64 / hex."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            if b"PRIVATE" in text.split(b"\n", 1)[0]:
                return EvidenceSigner.from_text(text.decode("ascii")).public
            key = serialization.load_pem_public_key(text)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise EvidenceKeyError("not a readable PEM key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise EvidenceKeyError("not an Ed25519 public key")
        return key
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise EvidenceKeyError("not a PEM, hex or base64 Ed25519 public key") from None
    if len(raw) != 32:
        raise EvidenceKeyError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------- keyed fingerprints


def derive_fingerprint_key(master_key: bytes) -> bytes:
    """The HMAC key for fingerprints of personal values, derived from a master key (the
    blob store's): whoever holds the master key can prove a value, nobody else can guess."""
    return hmac.new(master_key, b"videotramit/evidence-fingerprints/v1", hashlib.sha256).digest()


class Fingerprinter:
    """``of(value)`` -> ``"hmac-sha256:<key id>:<hex>"``: a keyed fingerprint of a personal
    value (an ID number, a form field, the text agreed). The key id names which master key
    it was derived from, so fingerprints stay provable after the master key is rotated."""

    def __init__(self, key_id: str, master_key: bytes) -> None:
        self._key_id = key_id
        self._key = derive_fingerprint_key(master_key)

    def of(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{self._key_id}:{digest}"
