"""Plain records the layers pass around. Storage maps rows to these; handlers read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.appointments import Status


class Role(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    channel: str
    external_id: str
    address: str
    display_name: str
    language: str
    privacy_accepted_at: datetime | None
    email: str = ""
    unreachable: bool = False
    staff_id: str | None = None
    roles: frozenset[Role] = frozenset({Role.CITIZEN})

    @property
    def is_staff(self) -> bool:
        return Role.STAFF in self.roles or Role.ADMIN in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


@dataclass(frozen=True, slots=True)
class Appointment:
    id: int
    reference: str
    citizen_id: int
    procedure: str
    staff_id: str
    start: datetime
    end: datetime
    status: Status
    language: str
    email: str = ""
    room: str = ""
    citizen_name: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ConversationState:
    """Where a user is: the flow, its step, and what the flow remembers so far."""

    flow: str = ""
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    user_id: int
    appointment_id: int | None
    requirement: str
    sha256: str
    filename: str
    content_type: str
    size: int
    pages: int
    warnings: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    appointment_id: int
    entry_number: str
    csv_code: str
    sha256: str
    registered_at: datetime
    language: str


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """A citizen's opinion of one appointment (kept apart from its evidence)."""

    appointment_id: int
    score: int | None
    again: bool | None
    comment: str
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class WaitlistEntry:
    """A citizen waiting for a time of a procedure (local days "YYYY-MM-DD" or "" for
    any), and the freed time held for them, if any."""

    id: int
    citizen_id: int
    procedure: str
    day_from: str
    day_to: str
    offer_start: datetime | None
    offer_staff: str
    offer_until: datetime | None
    declined: tuple[str, ...]
    active: bool
