"""The filing receipt (Ley 39/2015 art. 16.3): what it states, independent of its layout.

A :class:`Receipt` holds everything printed on the PDF that ``documents.receipt`` builds:
the registry entry number with the official date and time, the council, the citizen (name
and masked identity number), the procedure and appointment reference, the application's
fields, every document with its SHA-256 (the integrity guarantee), the agreement (hash of
the text the citizen agreed to and when), the clerk who assisted (art. 12), and the CSV
verification code with the URL where anyone can check the receipt (art. 27.3.c Ley 39/2015,
art. 11.2.f RD 203/2021). Pure data and rules; no I/O.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "CSV_ALPHABET",
    "Language",
    "Receipt",
    "format_entry_number",
    "is_csv_code",
    "new_csv_code",
    "normalize_csv_code",
]

Language = Literal["ca", "es", "en"]
LANGUAGES: tuple[Language, ...] = ("ca", "es", "en")

#: Crockford's base-32 alphabet: no I, L, O or U, so a code read aloud or typed from paper
#: is not ambiguous.
CSV_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CSV_GROUPS = 5
CSV_GROUP_LENGTH = 4  # 20 symbols = 100 bits of randomness

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CSV_RE = re.compile(
    rf"[{CSV_ALPHABET}]{{{CSV_GROUP_LENGTH}}}(-[{CSV_ALPHABET}]{{{CSV_GROUP_LENGTH}}})"
    rf"{{{CSV_GROUPS - 1}}}"
)
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_csv_code() -> str:
    """A fresh verification code, e.g. ``7K3M-9PXQ-A2HD-T6WB-RC4N`` (100 random bits)."""
    symbols = "".join(secrets.choice(CSV_ALPHABET) for _ in range(CSV_GROUPS * CSV_GROUP_LENGTH))
    return "-".join(
        symbols[i : i + CSV_GROUP_LENGTH] for i in range(0, len(symbols), CSV_GROUP_LENGTH)
    )


def normalize_csv_code(text: str) -> str | None:
    """Canonical form of a code a person typed (any case, spaces or dashes anywhere,
    O for 0, I or L for 1), or ``None`` if it cannot be a code."""
    compact = re.sub(r"[\s\-]", "", text).upper().translate(_CROCKFORD_ALIASES)
    if len(compact) != CSV_GROUPS * CSV_GROUP_LENGTH or any(
        ch not in CSV_ALPHABET for ch in compact
    ):
        return None
    return "-".join(
        compact[i : i + CSV_GROUP_LENGTH] for i in range(0, len(compact), CSV_GROUP_LENGTH)
    )


def is_csv_code(text: str) -> bool:
    """True for a code in canonical form (as :func:`new_csv_code` makes them)."""
    return bool(_CSV_RE.fullmatch(text))


def format_entry_number(prefix: str, year: int, sequence: int) -> str:
    """Registry entry number: ``VT/2026/000123`` (per year, sequential, from 1)."""
    if sequence < 1:
        raise ValueError("entry sequence numbers start at 1")
    if not re.fullmatch(r"[A-Z0-9]{1,12}", prefix):
        raise ValueError("registry prefix: 1-12 uppercase letters or digits")
    return f"{prefix}/{year:04d}/{sequence:06d}"


@dataclass(frozen=True)
class Receipt:
    entry_number: str
    registered_at: datetime  # aware; printed in ``timezone`` (the official clock)
    language: Language
    council_name: str
    council_address: str
    logo: bytes | None  # PNG or JPEG
    citizen_name: str
    citizen_id_masked: str  # e.g. "***4567**Z"
    procedure_name: str
    reference: str  # appointment code, e.g. "VT-7K3M9P"
    application: tuple[tuple[str, str], ...]  # (label, value), already in the language
    documents: tuple[tuple[str, str], ...]  # (file name, hex SHA-256)
    agreement_text_sha256: str
    agreed_at: datetime  # aware
    clerk_name: str
    csv_code: str
    verify_url: str
    # The statement the citizen agreed to, printed when given.
    agreement_statement: str = ""
    timezone: str = "Europe/Madrid"

    def __post_init__(self) -> None:
        for name in ("registered_at", "agreed_at"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        if not self.entry_number.strip():
            raise ValueError("entry_number is required")
        if not _SHA256_RE.fullmatch(self.agreement_text_sha256):
            raise ValueError("agreement_text_sha256 must be 64 lowercase hex characters")
        for _name, digest in self.documents:
            if not _SHA256_RE.fullmatch(digest):
                raise ValueError("document hashes must be 64 lowercase hex characters")
        if not self.csv_code.strip():
            raise ValueError("csv_code is required")
        if not self.verify_url.startswith(("https://", "http://")):
            raise ValueError("verify_url must be an http(s) URL")
