"""The parts of a bundle that an insider cannot recompute: the council's signatures over
the chain's heads, the authority's time-stamps and the daily roots with inclusion proofs.

Entries (besides manifest, events, files, README, SHA256SUMS)::

    council-key.pem            the public key the bundle says it was signed with
    seals/<seq>.statement      the exact bytes the seal record <seq> signs
    seals/<seq>.sig            its Ed25519 signature (64 raw bytes, for openssl)
    seals/<seq>.tsr            the RFC 3161 time-stamp of the statement, if one was made
    seals/<seq>.proof.json     where the seal sits in its day's Merkle tree
    journal/<day>.statement    that day's signed root (and the previous entry's hash)
    journal/<day>.sig          its Ed25519 signature
    tsa-certificate.pem        the certificate inside the time-stamps (check it is the
                               authority's own before trusting it)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.evidence import EvidenceRecord
from domain.seals import (
    InclusionProof,
    entry_hash,
    is_seal,
    journal_statement,
    root_from_proof,
    seal_problem,
    seal_statement,
)
from storage.evidence_keys import (
    EvidenceKeyError,
    fingerprint_of,
    load_public_key,
    verify_signature,
)
from storage.timestamps import TimestampError, certificate_pem, check_response

KEY_ENTRY = "council-key.pem"
TSA_ENTRY = "tsa-certificate.pem"
# How far the authority's clock may be behind ours before the time-stamp counts as
# "time going backwards" (clocks drift; minutes, not hours).
CLOCK_SKEW = timedelta(minutes=5)


class AnchorProblem(Exception):
    pass


@dataclass(frozen=True)
class JournalEntry:
    day: str
    size: int
    root: str
    prev: str
    at: str
    key: str
    signature: str  # base64

    @property
    def statement(self) -> bytes:
        return journal_statement(self.day, self.size, self.root, self.prev, self.at, self.key)

    @property
    def hash(self) -> str:
        return entry_hash(self.statement)


@dataclass(frozen=True)
class Anchors:
    """What the database holds besides the chain: the key, time-stamps, roots, proofs."""

    public_key_pem: str
    timestamps: Mapping[str, bytes] = field(default_factory=dict)  # seal hash -> .tsr
    journal: Mapping[str, JournalEntry] = field(default_factory=dict)  # day -> entry
    proofs: Mapping[str, InclusionProof] = field(default_factory=dict)  # seal hash -> proof


@dataclass
class AnchorReport:
    key_fingerprint: str = ""
    key_from_bundle: bool = True
    seals: int = 0
    timestamps: list[str] = field(default_factory=list)  # "record N: <time> by <tsa>"
    proofs: int = 0
    notes: list[str] = field(default_factory=list)


def anchor_entries(
    records: Sequence[EvidenceRecord], anchors: Anchors
) -> tuple[list[tuple[str, bytes]], list[dict[str, Any]]]:
    """The bundle entries for the seals of ``records``, and their manifest lines."""
    entries: list[tuple[str, bytes]] = [(KEY_ENTRY, anchors.public_key_pem.encode("ascii"))]
    listed: list[dict[str, Any]] = []
    days: set[str] = set()
    tsa: bytes | None = None
    for record in records:
        if not is_seal(record):
            continue
        base = f"seals/{record.seq}"
        line: dict[str, Any] = {
            "seq": record.seq,
            "hash": record.hash,
            "statement": f"{base}.statement",
            "signature": f"{base}.sig",
        }
        entries.append((f"{base}.statement", seal_statement(record)))
        entries.append((f"{base}.sig", _b64(str(record.data.get("signature", "")))))
        token = anchors.timestamps.get(record.hash)
        if token is not None:
            entries.append((f"{base}.tsr", token))
            line["timestamp"] = f"{base}.tsr"
            if tsa is None:
                try:
                    tsa = check_response(token, seal_statement(record)).tsa_certificate
                except TimestampError:
                    tsa = None
        proof = anchors.proofs.get(record.hash)
        if proof is not None and proof.day in anchors.journal:
            entries.append((f"{base}.proof.json", _json(proof.to_dict())))
            line["proof"] = f"{base}.proof.json"
            line["day"] = proof.day
            days.add(proof.day)
        listed.append(line)
    for day in sorted(days):
        entry = anchors.journal[day]
        entries.append((f"journal/{day}.statement", entry.statement))
        entries.append((f"journal/{day}.sig", _b64(entry.signature)))
    if tsa is not None:
        entries.append((TSA_ENTRY, certificate_pem(tsa).encode("ascii")))
    return entries, listed


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode("ascii") + b"\n"


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _instant(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)


Reader = Callable[[str], bytes | None]  # entry name -> its bytes (None if absent)


def check_anchors(
    records: Sequence[EvidenceRecord],
    read: Reader,
    *,
    public_key: bytes | None,
    trusted_tsa: bytes | None = None,
) -> AnchorReport:
    """Check every seal's signature (with ``public_key``, else the bundle's own key), its
    time-stamp and its inclusion proof; raise :class:`AnchorProblem` naming what broke."""
    report = AnchorReport(key_from_bundle=public_key is None)
    key = _key(public_key if public_key is not None else read(KEY_ENTRY))
    report.key_fingerprint = fingerprint_of(key)
    sealed_upto = 0
    for index, record in enumerate(records):
        if not is_seal(record):
            continue
        _check_seal(records, index, key, report.key_fingerprint, read)
        report.seals += 1
        sealed_upto = record.seq
        statement = seal_statement(record)
        token = read(f"seals/{record.seq}.tsr")
        if token is not None:
            report.timestamps.append(_check_timestamp(record, statement, token, trusted_tsa))
        proof_bytes = read(f"seals/{record.seq}.proof.json")
        if proof_bytes is None:
            report.notes.append(
                f"record {record.seq}: not yet in a daily root (the day's root is signed"
                " after the day ends; export again later to include it)"
            )
        else:
            _check_proof(record, proof_bytes, key, report.key_fingerprint, read)
            report.proofs += 1
    if report.seals == 0:
        raise AnchorProblem("the chain is not sealed: no record is signed by the council")
    if sealed_upto != records[-1].seq:
        raise AnchorProblem(
            f"records {sealed_upto + 1} to {records[-1].seq} come after the last seal:"
            " they are not signed"
        )
    return report


def _key(data: bytes | None) -> Ed25519PublicKey:
    if data is None:
        raise AnchorProblem(f"missing {KEY_ENTRY} (and no --key given)")
    try:
        return load_public_key(data)
    except EvidenceKeyError as exc:
        raise AnchorProblem(f"the public key: {exc}") from exc


def _check_seal(
    records: Sequence[EvidenceRecord],
    index: int,
    key: Ed25519PublicKey,
    fingerprint: str,
    read: Reader,
) -> None:
    record = records[index]
    problem = seal_problem(records, index)
    if problem:
        raise AnchorProblem(problem)
    statement = seal_statement(record)
    signature = _b64(str(record.data.get("signature", "")))
    if record.data.get("key") != fingerprint:
        raise AnchorProblem(
            f"record {record.seq}: sealed with key {str(record.data.get('key'))[:16]}…,"
            f" not with the key checked ({fingerprint[:16]}…)"
        )
    if not verify_signature(key, signature, statement):
        raise AnchorProblem(f"record {record.seq}: the council's signature does not verify")
    base = f"seals/{record.seq}"
    if read(f"{base}.statement") not in (None, statement):
        raise AnchorProblem(f"{base}.statement: is not what record {record.seq} signs")
    if read(f"{base}.sig") not in (None, signature):
        raise AnchorProblem(f"{base}.sig: is not record {record.seq}'s signature")


def _check_timestamp(
    record: EvidenceRecord, statement: bytes, token: bytes, trusted: bytes | None
) -> str:
    try:
        info = check_response(token, statement, trusted_certificate=trusted)
    except TimestampError as exc:
        raise AnchorProblem(f"seals/{record.seq}.tsr: {exc}") from exc
    if info.time < _instant(record.at) - CLOCK_SKEW:
        raise AnchorProblem(
            f"record {record.seq}: time goes backwards (the authority dated it"
            f" {info.time.isoformat()}, before the seal's {record.at})"
        )
    return f"record {record.seq}: time-stamped {info.time.isoformat()} by {info.tsa_subject}"


def _check_proof(
    record: EvidenceRecord, data: bytes, key: Ed25519PublicKey, fingerprint: str, read: Reader
) -> None:
    name = f"seals/{record.seq}.proof.json"
    try:
        raw = json.loads(data)
        proof = InclusionProof(
            day=str(raw["day"]),
            index=int(raw["index"]),
            size=int(raw["size"]),
            path=tuple(str(p) for p in raw["path"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorProblem(f"{name}: not a readable proof") from exc
    statement = read(f"journal/{proof.day}.statement")
    signature = read(f"journal/{proof.day}.sig")
    if statement is None or signature is None:
        raise AnchorProblem(f"{name}: the root of {proof.day} is missing")
    if not verify_signature(key, signature, statement):
        raise AnchorProblem(f"journal/{proof.day}: the council's signature does not verify")
    try:
        root = json.loads(statement)
    except ValueError as exc:
        raise AnchorProblem(f"journal/{proof.day}.statement: not JSON") from exc
    if root.get("key") != fingerprint or root.get("day") != proof.day:
        raise AnchorProblem(f"journal/{proof.day}.statement: another key or day")
    if root.get("size") != proof.size or root_from_proof(record.hash, proof) != root.get("root"):
        raise AnchorProblem(f"record {record.seq}: not included in the signed root of {proof.day}")
