"""The evidence chain: building, canonical JSON, and detecting tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.evidence import (
    GENESIS,
    EventKind,
    EvidenceRecord,
    canonical_json,
    format_at,
    next_record,
    record_from_dict,
    record_hash,
    record_to_dict,
    verify_chain,
)

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
REF = "VT-2025-000123"


def make_chain(n: int = 10, ref: str = REF) -> list[EvidenceRecord]:
    kinds = list(EventKind)
    out: list[EvidenceRecord] = []
    prev = None
    for i in range(n):
        prev = next_record(
            prev,
            appointment_ref=ref,
            kind=kinds[i % len(kinds)],
            at=T0 + timedelta(minutes=i),
            actor="staff:anna" if i % 2 else "citizen",
            data={"i": i, "note": "àèò €", "nested": {"b": [1, 2], "a": None}},
        )
        out.append(prev)
    return out


def test_event_kinds_cover_the_journey() -> None:
    required = {
        "booked", "rescheduled", "cancelled", "reminded", "session_started",
        "recording_started", "identity_validated", "document_received", "data_filled",
        "summary_sent", "citizen_agreed", "citizen_declined", "receipt_issued",
        "recording_ingested", "session_ended", "no_show",
    }  # fmt: skip
    assert required <= {k.value for k in EventKind}
    assert all(len(k.value) <= 32 for k in EventKind)


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"], "c": {"z": None, "y": True}}) == (
        '{"a":[1,"é"],"b":1,"c":{"y":true,"z":null}}'.encode()
    )
    assert canonical_json({"x": 1.5}) == b'{"x":1.5}'


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), {"a": float("-inf")}, {1: "x"}, {"a": {1, 2}}, b"x"]
)
def test_canonical_json_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)


def test_first_record_and_hash_rule() -> None:
    rec = next_record(
        None, appointment_ref=REF, kind=EventKind.BOOKED, at=T0, actor="citizen", data={}
    )
    assert rec.seq == 1
    assert rec.prev_hash == GENESIS
    assert rec.at == "2025-03-14T09:30:00.000000Z"
    body = {k: v for k, v in dataclasses.asdict(rec).items() if k != "hash"}
    expected = hashlib.sha256(GENESIS.encode() + canonical_json(body)).hexdigest()
    assert rec.hash == expected == record_hash(rec)


def test_at_is_utc_with_z() -> None:
    local = datetime(2025, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert format_at(local) == "2025-03-14T09:30:00.000000Z"
    with pytest.raises(ValueError):
        format_at(datetime(2025, 3, 14))


def test_next_record_links_and_numbers() -> None:
    chain = make_chain(5)
    for a, b in zip(chain, chain[1:], strict=False):
        assert b.seq == a.seq + 1
        assert b.prev_hash == a.hash


def test_next_record_rejects_bad_input() -> None:
    first = make_chain(1)[0]
    with pytest.raises(ValueError):
        next_record(first, appointment_ref="OTHER", kind="booked", at=T0, actor="x", data={})
    with pytest.raises(ValueError):
        next_record(None, appointment_ref=REF, kind="Bad Kind", at=T0, actor="x", data={})
    with pytest.raises(ValueError):
        next_record(None, appointment_ref=REF, kind="booked", at=T0, actor="", data={})
    with pytest.raises(ValueError):
        next_record(
            None, appointment_ref=REF, kind="booked", at=T0, actor="x", data={"f": float("nan")}
        )
    with pytest.raises(ValueError):
        next_record(
            None, appointment_ref=REF, kind="booked", at=T0.replace(tzinfo=None), actor="x",
            data={},
        )  # fmt: skip


def test_data_is_normalised() -> None:
    rec = next_record(
        None, appointment_ref=REF, kind="booked", at=T0, actor="x", data={"t": (1, 2)}
    )
    assert rec.data == {"t": [1, 2]}
    assert record_from_dict(json.loads(canonical_json(record_to_dict(rec)))) == rec


def test_intact_chain() -> None:
    chain = make_chain(20)
    check = verify_chain(chain)
    assert check.ok
    assert check.checked == 20
    assert check.first_broken_seq is None and check.reason is None
    assert check.last_hash == chain[-1].hash
    assert verify_chain([]).ok


def test_modified_record_detected() -> None:
    chain = make_chain(10)
    chain[6] = dataclasses.replace(chain[6], data={"i": 999})
    check = verify_chain(chain)
    assert not check.ok
    assert check.first_broken_seq == 7
    assert check.reason == "record 7: hash mismatch"
    assert check.checked == 6


def test_modified_and_rehashed_record_breaks_the_next_link() -> None:
    chain = make_chain(10)
    forged = dataclasses.replace(chain[6], actor="staff:mallory")
    chain[6] = dataclasses.replace(forged, hash=record_hash(forged))
    check = verify_chain(chain)
    assert check.first_broken_seq == 8
    assert check.reason == "record 8: prev_hash does not match record 7"


def test_removed_record_detected() -> None:
    chain = make_chain(10)
    del chain[4]
    check = verify_chain(chain)
    assert check.first_broken_seq == 5
    assert check.reason == "record 5 missing"


def test_removed_and_renumbered_detected() -> None:
    chain = make_chain(6)
    del chain[2]
    renumbered = [chain[0], chain[1]] + [dataclasses.replace(r, seq=r.seq - 1) for r in chain[2:]]
    check = verify_chain(renumbered)
    assert not check.ok
    assert check.first_broken_seq == 3


def test_swapped_records_detected() -> None:
    chain = make_chain(10)
    chain[3], chain[4] = chain[4], chain[3]
    check = verify_chain(chain)
    assert check.first_broken_seq == 4
    assert check.reason == "records 4 and 5 out of order"


def test_swapped_far_apart_detected() -> None:
    chain = make_chain(10)
    chain[1], chain[8] = chain[8], chain[1]
    assert verify_chain(chain).reason == "records 2 and 9 out of order"


def test_wrong_prev_hash_detected() -> None:
    chain = make_chain(5)
    bad = dataclasses.replace(chain[2], prev_hash="f" * 64)
    chain[2] = dataclasses.replace(bad, hash=record_hash(bad))
    check = verify_chain(chain)
    assert check.first_broken_seq == 3
    assert check.reason == "record 3: prev_hash does not match record 2"


def test_first_record_must_start_at_genesis() -> None:
    chain = make_chain(2)
    bad = dataclasses.replace(chain[0], prev_hash="a" * 64)
    chain[0] = dataclasses.replace(bad, hash=record_hash(bad))
    assert verify_chain(chain).reason == "record 1: prev_hash does not match the start of the chain"


def test_duplicated_record_detected() -> None:
    chain = make_chain(4)
    chain.insert(3, chain[1])
    assert verify_chain(chain).reason == "record 4: repeats record 2"


def test_records_of_another_appointment_detected() -> None:
    chain = make_chain(3)
    other = make_chain(3, ref="VT-OTHER")
    mixed = [chain[0], other[1], chain[2]]
    check = verify_chain(mixed)
    assert check.first_broken_seq == 2
    assert check.reason == "record 2: belongs to another appointment"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("hash"),
        lambda d: d.update(extra=1),
        lambda d: d.update(seq="1"),
        lambda d: d.update(seq=0),
        lambda d: d.update(data=[]),
        lambda d: d.update(hash="XYZ"),
        lambda d: d.update(kind=5),
    ],
)
def test_record_from_dict_rejects(mutate: object) -> None:
    raw = record_to_dict(make_chain(1)[0])
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(ValueError):
        record_from_dict(raw)
