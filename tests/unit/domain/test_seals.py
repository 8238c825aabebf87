"""Daily Merkle trees (RFC 6962), seal statements and keyed fingerprints."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from domain.evidence import next_record, verify_chain
from domain.seals import (
    InclusionProof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    root_from_proof,
    seal_problem,
    seal_record,
    seal_statement,
)
from storage.evidence_keys import EvidenceSigner, Fingerprinter, verify_signature


def _rfc6962(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition (leaves already hashed)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc6962(leaves[:k]) + _rfc6962(leaves[k:])).digest()


def hashes(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31])
def test_root_is_rfc6962_and_every_leaf_proves_its_inclusion(n: int) -> None:
    day = hashes(n)
    leaves = sorted(leaf_hash(h) for h in day)
    assert merkle_root(day) == _rfc6962(leaves).hex()
    for h in day:
        proof = inclusion_proof("2026-11-30", day, h)
        assert root_from_proof(h, proof) == merkle_root(day)


def test_a_proof_does_not_fit_another_seal_or_position() -> None:
    day = hashes(9)
    proof = inclusion_proof("2026-11-30", day, day[3])
    assert root_from_proof(day[4], proof) != merkle_root(day)
    moved = InclusionProof(proof.day, (proof.index + 1) % 9, proof.size, proof.path)
    assert root_from_proof(day[3], moved) != merkle_root(day)
    assert root_from_proof(day[3], InclusionProof(proof.day, 9, 9, proof.path)) is None
    with pytest.raises(ValueError):
        inclusion_proof("2026-11-30", day, hashes(10)[9])


def test_a_seal_signs_its_head_and_nothing_else() -> None:
    signer = EvidenceSigner.generate()
    t0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
    first = next_record(None, appointment_ref="VT-A", kind="booked", at=t0, actor="x", data={})
    seal = seal_record(
        first, at=t0 + timedelta(minutes=1), key=signer.fingerprint, sign=signer.sign
    )
    chain = [first, seal]
    assert verify_chain(chain).ok and seal_problem(chain, 1) is None
    signature = base64.b64decode(seal.data["signature"])
    assert verify_signature(signer.public, signature, seal_statement(seal))
    assert not verify_signature(EvidenceSigner.generate().public, signature, seal_statement(seal))
    other = next_record(None, appointment_ref="VT-A", kind="cancelled", at=t0, actor="x", data={})
    assert seal_problem([other, seal], 1) == "record 2: the signed head is not record 1"


def test_a_seal_is_never_dated_before_its_head() -> None:
    signer = EvidenceSigner.generate()
    t0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
    first = next_record(None, appointment_ref="VT-A", kind="booked", at=t0, actor="x", data={})
    seal = seal_record(first, at=t0 - timedelta(hours=1), key=signer.fingerprint, sign=signer.sign)
    assert seal.at == first.at


def test_time_going_backwards_breaks_the_chain() -> None:
    t0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
    first = next_record(None, appointment_ref="VT-A", kind="booked", at=t0, actor="x", data={})
    earlier = next_record(
        first,
        appointment_ref="VT-A",
        kind="reminded",
        at=t0 - timedelta(seconds=1),
        actor="x",
        data={},
    )
    check = verify_chain([first, earlier])
    assert check.reason == "record 2: its time is before record 1's"


def test_the_keyed_fingerprint_of_a_nie_is_not_its_plain_hash() -> None:
    nie = "X1111111G"
    prints = Fingerprinter("k1", b"\x07" * 32)
    fingerprint = prints.of(nie)
    assert hashlib.sha256(nie.encode()).hexdigest() not in fingerprint
    assert fingerprint.startswith("hmac-sha256:k1:") and len(fingerprint.split(":")[2]) == 64
    assert prints.of(nie) == fingerprint  # the council can prove it: same key, same value
    assert Fingerprinter("k1", b"\x08" * 32).of(nie) != fingerprint  # nobody else can
