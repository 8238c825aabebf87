from __future__ import annotations

import itertools

import pytest

from domain.appointments import (
    IllegalTransition,
    Status,
    can_cancel,
    can_reschedule,
    can_transition,
    is_active,
    is_final,
    transition,
)

B, S, C, X, N = (
    Status.BOOKED,
    Status.IN_SESSION,
    Status.COMPLETED,
    Status.CANCELLED,
    Status.NO_SHOW,
)
LEGAL = {(B, S), (B, X), (B, N), (S, C), (S, X), (S, N)}


def test_values_are_stable_strings() -> None:
    assert [s.value for s in Status] == [
        "booked",
        "in_session",
        "completed",
        "cancelled",
        "no_show",
    ]
    assert Status("no_show") is N


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Status, Status)))
def test_transition_table(current: Status, target: Status) -> None:
    if (current, target) in LEGAL:
        assert transition(current, target) is target
        assert can_transition(current, target)
    else:
        assert not can_transition(current, target)
        with pytest.raises(IllegalTransition) as caught:
            transition(current, target)
        assert caught.value.current is current and caught.value.target is target
        assert str(current) in str(caught.value)


def test_transition_accepts_plain_strings() -> None:
    assert transition("booked", "in_session") is S
    with pytest.raises(ValueError):
        transition("booked", "teleported")


def test_final_and_active() -> None:
    assert {s for s in Status if is_final(s)} == {C, X, N}
    assert {s for s in Status if is_active(s)} == {B, S}


def test_reschedule_and_cancel() -> None:
    assert {s for s in Status if can_reschedule(s)} == {B}
    assert {s for s in Status if can_cancel(s)} == {B}
    assert {s for s in Status if can_cancel(s, by_staff=True)} == {B, S}
