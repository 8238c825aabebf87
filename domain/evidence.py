"""Evidence records: an append-only chain per appointment, linked by SHA-256.

Each record's ``hash`` is ``sha256(prev_hash + canonical_json(record without "hash"))``
where ``prev_hash`` is the previous record's hash (:data:`GENESIS` for the first) and
``canonical_json`` is sorted keys, no whitespace, UTF-8 (non-ASCII kept as is), no NaN or
infinity. Anyone can recompute it with a few lines in any language, without our database.

Pure: no I/O, no clock (the caller passes ``at``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "GENESIS",
    "ChainCheck",
    "at_is_valid",
    "EventKind",
    "EvidenceRecord",
    "canonical_json",
    "format_at",
    "next_record",
    "record_from_dict",
    "record_hash",
    "record_to_dict",
    "verify_chain",
]

GENESIS = "0" * 64
MAX_KIND = 32
MAX_ACTOR = 80
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$")
FIELDS = ("seq", "appointment_ref", "kind", "at", "actor", "data", "prev_hash", "hash")


class EventKind(StrEnum):
    """The journey's events (DESIGN.md "The journey" and "Evidence")."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    REMINDED = "reminded"
    SESSION_STARTED = "session_started"
    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"
    RECORDING_FAILED = "recording_failed"
    IDENTITY_VALIDATED = "identity_validated"
    DOCUMENT_REQUESTED = "document_requested"
    DOCUMENT_RECEIVED = "document_received"
    DOCUMENT_CLASSIFIED = "document_classified"
    DATA_FILLED = "data_filled"
    SUMMARY_SENT = "summary_sent"
    CITIZEN_AGREED = "citizen_agreed"
    CITIZEN_DECLINED = "citizen_declined"
    RECEIPT_ISSUED = "receipt_issued"
    RECORDING_INGESTED = "recording_ingested"
    SESSION_ENDED = "session_ended"
    NO_SHOW = "no_show"
    AGREEMENT_WITHDRAWN = "agreement_withdrawn"
    CHAIN_SEALED = "chain_sealed"


def _check_json_safe(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: NaN or infinity is not allowed")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: object keys must be strings, got {key!r}")
            _check_json_safe(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_safe(item, f"{where}[{i}]")
        return
    raise ValueError(f"{where}: {type(value).__name__} is not JSON-safe")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, ``,``/``:`` separators, UTF-8 with non-ASCII kept, no NaN/infinity."""
    _check_json_safe(obj, "$")
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_at(at: datetime) -> str:
    """ISO-8601 UTC with ``Z``, e.g. ``2025-03-14T09:30:00.250000Z`` (microseconds kept)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class EvidenceRecord:
    seq: int
    appointment_ref: str
    kind: str
    at: str
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


def _body(record: EvidenceRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "appointment_ref": record.appointment_ref,
        "kind": record.kind,
        "at": record.at,
        "actor": record.actor,
        "data": record.data,
        "prev_hash": record.prev_hash,
    }


def record_hash(record: EvidenceRecord) -> str:
    """The hash ``record`` should carry, recomputed from its other fields."""
    return hashlib.sha256(
        record.prev_hash.encode("ascii") + canonical_json(_body(record))
    ).hexdigest()


def record_to_dict(record: EvidenceRecord) -> dict[str, Any]:
    body = _body(record)
    body["hash"] = record.hash
    return body


def record_from_dict(raw: Mapping[str, Any]) -> EvidenceRecord:
    """Rebuild a record from its dict form (e.g. a parsed ``events.jsonl`` line).

    Checks shape and types only; whether the hash is right is :func:`verify_chain`'s job.
    Raises ``ValueError``.
    """
    if not isinstance(raw, Mapping):
        raise ValueError("record is not an object")
    missing = [f for f in FIELDS if f not in raw]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    extra = sorted(set(raw) - set(FIELDS))
    if extra:
        raise ValueError(f"unexpected field(s): {', '.join(extra)}")
    seq = raw["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("seq must be a positive integer")
    for name in ("appointment_ref", "kind", "at", "actor", "prev_hash", "hash"):
        if not isinstance(raw[name], str):
            raise ValueError(f"{name} must be a string")
    if not isinstance(raw["data"], dict):
        raise ValueError("data must be an object")
    for name in ("prev_hash", "hash"):
        if not _HEX64.match(raw[name]):
            raise ValueError(f"{name} must be 64 lowercase hex digits")
    _check_json_safe(raw["data"], "data")
    return EvidenceRecord(
        seq=seq,
        appointment_ref=raw["appointment_ref"],
        kind=raw["kind"],
        at=raw["at"],
        actor=raw["actor"],
        data=dict(raw["data"]),
        prev_hash=raw["prev_hash"],
        hash=raw["hash"],
    )


def next_record(
    prev: EvidenceRecord | None,
    *,
    appointment_ref: str,
    kind: EventKind | str,
    at: datetime,
    actor: str,
    data: Mapping[str, Any],
) -> EvidenceRecord:
    """The record that follows ``prev`` (or the first one, when ``prev`` is None).

    ``data`` is normalised through canonical JSON (tuples become lists), so the returned
    record equals what a reader parses back. ``actor`` names who acted (e.g. ``staff:12``,
    ``citizen``, ``system``); keep personal data out of it.
    """
    if not appointment_ref:
        raise ValueError("appointment_ref is required")
    kind_s = str(kind.value if isinstance(kind, EventKind) else kind)
    if not _KIND_RE.match(kind_s):
        raise ValueError(f"kind {kind_s!r} must match [a-z][a-z0-9_]* (max {MAX_KIND})")
    if not actor or len(actor) > MAX_ACTOR:
        raise ValueError(f"actor must be 1..{MAX_ACTOR} characters")
    if prev is None:
        seq, prev_hash = 1, GENESIS
    else:
        if prev.appointment_ref != appointment_ref:
            raise ValueError("prev belongs to another appointment")
        seq, prev_hash = prev.seq + 1, prev.hash
    normalised = json.loads(canonical_json(dict(data)))
    draft = EvidenceRecord(
        seq=seq,
        appointment_ref=appointment_ref,
        kind=kind_s,
        at=format_at(at),
        actor=actor,
        data=normalised,
        prev_hash=prev_hash,
        hash="",
    )
    return EvidenceRecord(**{**_body(draft), "hash": record_hash(draft)})


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int  # records found intact before the first problem (all of them when ok)
    first_broken_seq: int | None
    reason: str | None
    last_hash: str = GENESIS  # hash of the last intact record (anchor to compare elsewhere)


def _broken(checked: int, seq: int, reason: str, last: str) -> ChainCheck:
    return ChainCheck(False, checked, seq, reason, last)


def verify_chain(records: Iterable[EvidenceRecord]) -> ChainCheck:
    """Check a whole chain, in the order given; report the first problem.

    Detects a modified record (``record N: hash mismatch``), a removed one
    (``record N missing``), two swapped (``records N and M out of order``), a wrong link
    (``record N: prev_hash does not match record N-1``), records of another appointment,
    and time going backwards (``record N: its time is before record N-1's``).
    An empty chain is ok (nothing was recorded).
    """
    items: Sequence[EvidenceRecord] = list(records)
    prev_hash = GENESIS
    ref = items[0].appointment_ref if items else ""
    for i, rec in enumerate(items):
        expected = i + 1
        if rec.seq != expected:
            if rec.seq < expected:  # seqs 1..expected-1 were already seen
                reason = f"record {expected}: repeats record {rec.seq}"
            elif any(r.seq == expected for r in items[i + 1 :]):
                reason = f"records {expected} and {rec.seq} out of order"
            else:
                reason = f"record {expected} missing"
            return _broken(i, expected, reason, prev_hash)
        if rec.appointment_ref != ref:
            return _broken(
                i, expected, f"record {expected}: belongs to another appointment", prev_hash
            )
        if rec.prev_hash != prev_hash:
            what = "the start of the chain" if expected == 1 else f"record {expected - 1}"
            return _broken(
                i, expected, f"record {expected}: prev_hash does not match {what}", prev_hash
            )
        if record_hash(rec) != rec.hash:
            return _broken(i, expected, f"record {expected}: hash mismatch", prev_hash)
        if i and _instant(rec.at) < _instant(items[i - 1].at):
            return _broken(
                i,
                expected,
                f"record {expected}: its time is before record {expected - 1}'s",
                prev_hash,
            )
        prev_hash = rec.hash
    return ChainCheck(True, len(items), None, None, prev_hash)


def _instant(at: str) -> datetime:
    """The moment of a record's ``at``; an unreadable one sorts first (it is still hashed)."""
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def at_is_valid(value: str) -> bool:
    """Whether ``value`` is an ISO-8601 UTC timestamp ending in ``Z``."""
    return bool(_AT_RE.match(value))
