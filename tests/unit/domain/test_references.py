from __future__ import annotations

import re

import pytest

from domain import references
from domain.references import (
    ALPHABET,
    BODY_LENGTH,
    ENTROPY_BITS,
    PREFIX,
    is_canonical_reference,
    is_reference,
    new_reference,
    normalise_reference,
)


def test_format_and_alphabet() -> None:
    assert PREFIX == "VT"
    assert not set("0O1ILU") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 30
    for _ in range(200):
        ref = new_reference()
        assert re.fullmatch(r"VT-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{7}", ref), ref
        assert is_canonical_reference(ref)
        assert normalise_reference(ref) == ref


def test_entropy_is_at_least_30_bits() -> None:
    assert BODY_LENGTH == 7
    assert ENTROPY_BITS >= 30
    assert round(ENTROPY_BITS, 2) == 34.35


def test_references_are_drawn_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_choice(seq: str) -> str:
        calls.append(seq)
        return seq[len(calls) % len(seq)]

    monkeypatch.setattr(references.secrets, "choice", fake_choice)
    assert new_reference() == "VT-3456789"
    assert calls == [ALPHABET] * BODY_LENGTH


def test_references_do_not_repeat() -> None:
    refs = {new_reference() for _ in range(2000)}
    assert len(refs) == 2000  # collision chance ~1e-4 with 34 bits


@pytest.mark.parametrize(
    "typed",
    [
        "VT-7K3M9PQ",
        "vt-7k3m9pq",
        "7K3M9PQ",
        "7k3m 9pq",
        " VT 7K3-M9PQ ",
        "vt7k3m9pq",
        "VT.7K3M9PQ",
        "VT–7K3M9PQ",
    ],
)
def test_normalise_is_tolerant(typed: str) -> None:
    assert normalise_reference(typed) == "VT-7K3M9PQ"
    assert is_reference(typed)


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "VT-",
        "VT-7K3M9P",
        "VT-7K3M9PQR",
        "7K3M9P",
        "VT-7K3M9P0",
        "VT-7K3M9PO",
        "VT-7K3M9PI",
        "VT-7K3M9P1",
        "VT-7K3M9PL",
        "VT-7K3M9PU",
        "XX-7K3M9PQ",
        "hola",
        "VT-7K3M9PÇ",
    ],
)
def test_normalise_refuses_what_is_not_a_reference(typed: str | None) -> None:
    assert normalise_reference(typed) is None
    assert not is_reference(typed)


def test_body_that_starts_with_the_prefix_letters() -> None:
    assert normalise_reference("VTABCDE") == "VT-VTABCDE"
    assert normalise_reference("VT-VTABCDE") == "VT-VTABCDE"
    assert not is_canonical_reference("vt-vtabcde")
