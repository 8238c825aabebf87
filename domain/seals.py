"""What the council signs: chain heads and daily Merkle roots. Pure: no keys, no I/O.

A chain is *sealed* by a ``chain_sealed`` record whose data names the head (the hash of
the record before it) and carries an Ed25519 signature over the *statement*: canonical
JSON of ``{"format", "appointment", "head_seq", "head", "at", "key"}``. Anyone can rebuild
the statement from the record and check the signature with the council's public key
(``openssl pkeyutl -verify -rawin``); nobody without the private key can make a new one,
so rewriting the chain (or the database, or a bundle) and recomputing every hash shows.

Each day, the hashes of the seal records made that day are the leaves of a Merkle tree
(RFC 6962/9162: leaf = SHA-256(0x00 || hash), node = SHA-256(0x01 || left || right),
leaves sorted by their leaf hash); its root is signed the same way and appended to a
journal in which every entry names the previous one. An inclusion proof shows that one
chain's seal is among that day's, so a seal cannot be swapped afterwards without the
day's signed root changing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.evidence import (
    GENESIS,
    EventKind,
    EvidenceRecord,
    canonical_json,
    format_at,
    next_record,
)

__all__ = [
    "HEAD_FORMAT",
    "ROOT_FORMAT",
    "InclusionProof",
    "inclusion_proof",
    "journal_statement",
    "leaf_hash",
    "merkle_root",
    "root_from_proof",
    "seal_data",
    "seal_problem",
    "seal_statement",
]

HEAD_FORMAT = "videotramit-chain-head/1"
ROOT_FORMAT = "videotramit-daily-root/1"
ALGORITHM = "Ed25519"


def _statement_fields(appointment: str, head_seq: int, head: str, at: str, key: str) -> bytes:
    return canonical_json(
        {
            "format": HEAD_FORMAT,
            "appointment": appointment,
            "head_seq": head_seq,
            "head": head,
            "at": at,
            "key": key,
        }
    )


def seal_statement(seal: EvidenceRecord) -> bytes:
    """The exact bytes a ``chain_sealed`` record's signature covers."""
    data = seal.data
    return _statement_fields(
        seal.appointment_ref,
        int(data.get("head_seq", 0)),
        str(data.get("head", "")),
        seal.at,
        str(data.get("key", "")),
    )


def statement_for(head: EvidenceRecord, at: str, key: str) -> bytes:
    """The statement to sign to seal the chain whose last record is ``head``."""
    return _statement_fields(head.appointment_ref, head.seq, head.hash, at, key)


def seal_data(head: EvidenceRecord, key: str, signature_b64: str) -> dict[str, Any]:
    return {
        "format": HEAD_FORMAT,
        "alg": ALGORITHM,
        "head_seq": head.seq,
        "head": head.hash,
        "key": key,
        "signature": signature_b64,
    }


def seal_record(
    head: EvidenceRecord, *, at: datetime, key: str, sign: Callable[[bytes], bytes]
) -> EvidenceRecord:
    """The ``chain_sealed`` record that follows ``head``, signed by ``sign`` (the council's
    key, whose fingerprint is ``key``). Its time is never before the head's."""
    moment = max(at, datetime.fromisoformat(head.at.replace("Z", "+00:00")))
    statement = statement_for(head, format_at(moment), key)
    signature = base64.b64encode(sign(statement)).decode("ascii")
    return next_record(
        head,
        appointment_ref=head.appointment_ref,
        kind=EventKind.CHAIN_SEALED,
        at=moment,
        actor="system",
        data=seal_data(head, key, signature),
    )


def seal_problem(records: Sequence[EvidenceRecord], index: int) -> str | None:
    """What is wrong with the seal at ``records[index]`` apart from its signature: it must
    name the record right before it, by sequence and hash."""
    seal = records[index]
    data = seal.data
    if data.get("format") != HEAD_FORMAT or data.get("alg") != ALGORITHM:
        return f"record {seal.seq}: not a seal this version understands"
    if index == 0:
        return f"record {seal.seq}: a seal cannot open a chain"
    head = records[index - 1]
    if data.get("head_seq") != head.seq or data.get("head") != head.hash:
        return f"record {seal.seq}: the signed head is not record {head.seq}"
    return None


def is_seal(record: EvidenceRecord) -> bool:
    return record.kind == EventKind.CHAIN_SEALED.value


# ---------------------------------------------------------------- daily Merkle tree


def leaf_hash(record_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(record_hash)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: Sequence[bytes]) -> bytes:
    # Level by level: pair neighbours, carry an odd last node up unchanged. For RFC 6962's
    # left-balanced split this gives the same root as the recursive definition.
    level = list(leaves)
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def sorted_leaves(record_hashes: Sequence[str]) -> list[bytes]:
    return sorted(leaf_hash(h) for h in record_hashes)


def merkle_root(record_hashes: Sequence[str]) -> str:
    """Root over the seal hashes of one day (empty tree: SHA-256 of nothing)."""
    if not record_hashes:
        return hashlib.sha256(b"").hexdigest()
    return _root(sorted_leaves(record_hashes)).hex()


@dataclass(frozen=True)
class InclusionProof:
    day: str
    index: int
    size: int
    path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "index": self.index, "size": self.size, "path": list(self.path)}


def _path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(leaves[:k], index), _root(leaves[k:])]
    return [*_path(leaves[k:], index - k), _root(leaves[:k])]


def inclusion_proof(day: str, record_hashes: Sequence[str], record_hash: str) -> InclusionProof:
    """The audit path of one seal in its day's tree; ValueError if it is not a leaf."""
    leaves = sorted_leaves(record_hashes)
    target = leaf_hash(record_hash)
    try:
        index = leaves.index(target)
    except ValueError:
        raise ValueError("the seal is not among the day's leaves") from None
    return InclusionProof(day, index, len(leaves), tuple(p.hex() for p in _path(leaves, index)))


def root_from_proof(record_hash: str, proof: InclusionProof) -> str | None:
    """The root the proof leads to (RFC 9162 2.1.3.2), or None if the proof is malformed."""
    if not 0 <= proof.index < proof.size:
        return None
    try:
        path = [bytes.fromhex(p) for p in proof.path]
    except ValueError:
        return None
    fn, sn = proof.index, proof.size - 1
    r = leaf_hash(record_hash)
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r.hex() if sn == 0 else None


def journal_statement(day: str, size: int, root: str, prev: str | None, at: str, key: str) -> bytes:
    """The bytes signed for one day's journal entry; ``prev`` is the previous entry's hash."""
    return canonical_json(
        {
            "format": ROOT_FORMAT,
            "day": day,
            "size": size,
            "root": root,
            "prev": prev or GENESIS,
            "at": at,
            "key": key,
        }
    )


def entry_hash(statement: bytes) -> str:
    return hashlib.sha256(statement).hexdigest()
