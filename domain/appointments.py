"""Appointment states and the legal moves between them.

::

    booked ──► in_session ──► completed
      │  │          │  └────► no_show    (the citizen never joined the call)
      │  │          └───────► cancelled  (abandoned: technical failure, opened by mistake)
      │  ├──► cancelled                  (by the citizen or the office, before the call)
      │  └──► no_show                    (marked without opening the session)
    completed, cancelled, no_show are final.

Choices: a session that was opened cannot go back to `booked` (the evidence already says
"session started"); if it cannot be finished it is cancelled with a reason and the citizen
books again. Staying in the same state is not a transition and is refused, so a double
tap is noticed by the caller. Rescheduling keeps the appointment `booked` (it only
changes its time) and is allowed only while booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    BOOKED = "booked"
    IN_SESSION = "in_session"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class IllegalTransition(ValueError):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"an appointment cannot go from {current} to {target}")
        self.current = current
        self.target = target


TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.BOOKED: frozenset({Status.IN_SESSION, Status.CANCELLED, Status.NO_SHOW}),
    Status.IN_SESSION: frozenset({Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.NO_SHOW: frozenset(),
}

FINAL: frozenset[Status] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
ACTIVE: frozenset[Status] = frozenset({Status.BOOKED, Status.IN_SESSION})


def can_transition(current: Status | str, target: Status | str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


def transition(current: Status | str, target: Status | str) -> Status:
    """Return `target` if the move is legal, else raise `IllegalTransition`."""
    cur, tgt = Status(current), Status(target)
    if tgt not in TRANSITIONS[cur]:
        raise IllegalTransition(cur, tgt)
    return tgt


def is_final(status: Status | str) -> bool:
    return Status(status) in FINAL


def is_active(status: Status | str) -> bool:
    """Booked or in session: it holds a slot and shows in "my appointments"."""
    return Status(status) in ACTIVE


def can_reschedule(status: Status | str) -> bool:
    return Status(status) is Status.BOOKED


def can_cancel(status: Status | str, *, by_staff: bool = False) -> bool:
    """Citizens cancel booked appointments; staff can also abandon an open session."""
    allowed = ACTIVE if by_staff else frozenset({Status.BOOKED})
    return Status(status) in allowed


def can_open_session(status: Status | str, start: datetime, now: datetime, lead: timedelta) -> bool:
    """An open session can always be continued; a booked one from `lead` before its time."""
    current = Status(status)
    if current is Status.IN_SESSION:
        return True
    return current is Status.BOOKED and now >= start - lead
