"""Helpers for evidence tests: the tests' council key, sealing a chain, rewriting a zip."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from domain.evidence import EvidenceRecord
from domain.seals import seal_record
from storage.bundle_seals import Anchors
from storage.evidence_keys import EvidenceSigner
from tests.support import EVIDENCE_KEY


def council() -> EvidenceSigner:
    return EvidenceSigner.from_text(EVIDENCE_KEY)


def sealed(records: list[EvidenceRecord], at: datetime) -> list[EvidenceRecord]:
    signer = council()
    return [*records, seal_record(records[-1], at=at, key=signer.fingerprint, sign=signer.sign)]


def anchors(**parts: object) -> Anchors:
    return Anchors(public_key_pem=council().public_pem(), **parts)  # type: ignore[arg-type]


def council_pem() -> bytes:
    return council().public_pem().encode("ascii")


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a zip, letting ``change`` alter (or drop, with None) each entry's content."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return dst
