"""What conversations need from the outside world, as Protocols.

Storage, clocks and the staff directory are passed in; handlers never import a database
driver or a chat SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import TracebackType
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from domain.appointments import Status
from domain.evidence import EvidenceRecord
from domain.model import (
    Appointment,
    ConversationState,
    IssuedReceipt,
    StoredDocument,
    SurveyAnswer,
    User,
    WaitlistEntry,
)
from domain.mrz import MrzReading
from domain.procedures import Catalog
from domain.schedule import StaffMember, eligible_staff
from domain.slots import Busy, SlotRules
from domain.stats import Group, OpinionGroup, Report
from handlers.messages import Checked, InFile


class SlotTaken(Exception):
    """Somebody else booked the slot first (the database said so)."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class UsersRepo(Protocol):
    async def get_or_create(
        self, channel: str, external_id: str, *, address: str, display_name: str, language: str
    ) -> User: ...
    async def get(self, user_id: int) -> User: ...
    async def set_language(self, user_id: int, language: str) -> None: ...
    async def accept_privacy(self, user_id: int, at: datetime) -> None: ...
    async def set_email(self, user_id: int, email: str) -> None: ...
    async def set_unreachable(self, user_id: int, unreachable: bool) -> None: ...
    async def find_staff_user(self, staff_id: str) -> User | None: ...


class ConversationsRepo(Protocol):
    async def load(self, user_id: int) -> ConversationState: ...
    async def save(self, user_id: int, state: ConversationState) -> None: ...


class AppointmentsRepo(Protocol):
    async def book(
        self,
        *,
        reference: str,
        citizen_id: int,
        procedure: str,
        staff_id: str,
        start: datetime,
        end: datetime,
        language: str,
        email: str,
        citizen_name: str,
        cells: Sequence[datetime],
        now: datetime,
    ) -> Appointment: ...
    async def reschedule(
        self,
        appointment_id: int,
        *,
        staff_id: str,
        start: datetime,
        end: datetime,
        cells: Sequence[datetime],
        now: datetime,
    ) -> Appointment: ...
    async def set_status(
        self, appointment_id: int, status: Status, now: datetime
    ) -> Appointment: ...
    async def get(self, appointment_id: int) -> Appointment | None: ...
    async def by_reference(self, reference: str) -> Appointment | None: ...
    async def for_citizen(self, citizen_id: int, *, active_only: bool) -> list[Appointment]: ...
    async def for_staff(
        self, staff_id: str | None, start: datetime, end: datetime
    ) -> list[Appointment]: ...
    async def busy(
        self, staff_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[Busy]: ...
    async def load(
        self, staff_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, int]: ...
    async def counts(
        self, start: datetime | None, end: datetime | None
    ) -> list[tuple[str, str, int]]: ...
    async def update(
        self, appointment_id: int, *, details: dict[str, Any] | None = None, room: str | None = None
    ) -> Appointment: ...
    async def by_room(self, room: str) -> Appointment | None: ...


class DocumentsRepo(Protocol):
    async def add(
        self,
        *,
        user_id: int,
        appointment_id: int | None,
        requirement: str,
        sha256: str,
        filename: str,
        content_type: str,
        size: int,
        pages: int,
        warnings: Sequence[str],
        at: datetime,
    ) -> StoredDocument: ...
    async def get(self, document_id: int) -> StoredDocument | None: ...
    async def for_appointment(self, appointment_id: int) -> list[StoredDocument]: ...
    async def unattached(self, user_id: int) -> list[StoredDocument]: ...
    async def classify(self, document_id: int, appointment_id: int, requirement: str) -> None:
        """Say which appointment and which required document ("" for another) it is."""
        ...

    async def count_sent(self, user_id: int, *, since: datetime) -> int: ...


class ReceiptsRepo(Protocol):
    async def next_sequence(self, year: int) -> int: ...
    async def add(
        self,
        *,
        appointment_id: int,
        year: int,
        sequence: int,
        entry_number: str,
        csv_code: str,
        sha256: str,
        registered_at: datetime,
        language: str,
    ) -> IssuedReceipt: ...
    async def complete(self, appointment_id: int, sha256: str) -> None:
        """The PDF of a receipt whose number was reserved (``add`` with ``sha256=""``)."""
        ...

    async def for_appointment(self, appointment_id: int) -> IssuedReceipt | None:
        """Also one still being made (``sha256 == ""``)."""
        ...

    async def by_code(self, csv_code: str) -> IssuedReceipt | None:
        """Finished receipts only."""
        ...


class OutboxRepo(Protocol):
    async def enqueue(
        self,
        *,
        channel: str,
        address: str,
        payload: dict[str, Any],
        user_id: int | None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        kind: str = "",
        appointment_id: int | None = None,
    ) -> None: ...
    async def withdraw(self, appointment_id: int, kinds: Sequence[str]) -> int: ...
    async def enqueue_reminders(
        self, now: datetime, until: datetime, offsets: Sequence[timedelta], *, email: bool
    ) -> int: ...
    async def hold(
        self,
        *,
        channel: str,
        address: str,
        payloads: Sequence[dict[str, Any]],
        user_id: int | None,
        until: datetime,
    ) -> tuple[int, ...]: ...
    async def settle_held(
        self, sent: Sequence[int], unsent: Sequence[int], retry_at: datetime
    ) -> None: ...


class HandledUpdatesRepo(Protocol):
    async def first_time(self, channel: str, key: str, now: datetime) -> bool:
        """Record that this turn handles the channel's update `key`; False when a turn
        already did (the platform delivered it again)."""
        ...


class NoticesRepo(Protocol):
    async def button(
        self, user_id: int, entry: str, params: dict[str, Any], now: datetime
    ) -> str: ...
    async def pressed(self, user_id: int, token: str) -> tuple[str, dict[str, Any]] | None: ...
    async def forget_buttons(
        self, user_id: int, entry_prefix: str, key: str, value: Any
    ) -> None: ...
    async def set_attendance(self, appointment_id: int, answer: str, now: datetime) -> None: ...
    async def attendance(self, appointment_ids: list[int]) -> dict[int, str]: ...
    async def survey_asked(self, appointment_id: int, now: datetime) -> bool: ...
    async def comments(
        self, start: datetime, end: datetime, *, limit: int, scan: int = 1000
    ) -> list[tuple[datetime, str, int | None, str]]: ...
    async def survey(self, appointment_id: int) -> SurveyAnswer | None: ...
    async def answer_survey(
        self,
        appointment_id: int,
        *,
        now: datetime,
        channel: str,
        score: int | None = None,
        again: bool | None = None,
        comment: str | None = None,
    ) -> None: ...


class StatsRepo(Protocol):
    async def counts(
        self, start: datetime, end: datetime, months: Sequence[tuple[str, datetime]]
    ) -> tuple[list[Group], list[OpinionGroup], float | None, float | None]: ...


class WaitlistRepo(Protocol):
    async def join(
        self, citizen_id: int, procedure: str, day_from: str, day_to: str, now: datetime
    ) -> WaitlistEntry: ...
    async def get(self, entry_id: int) -> WaitlistEntry | None: ...
    async def of_citizen(self, citizen_id: int) -> list[WaitlistEntry]: ...
    async def waiting(self) -> list[WaitlistEntry]: ...
    async def leave(self, entry_id: int, now: datetime) -> None: ...
    async def hold(
        self, entry_id: int, start: datetime, staff_id: str, until: datetime, now: datetime
    ) -> bool: ...
    async def let_go(self, entry_id: int, start: datetime) -> None: ...
    async def holds(self, now: datetime) -> list[tuple[int, Busy]]: ...
    async def expired(self, now: datetime) -> list[WaitlistEntry]: ...


class ChartsPort(Protocol):
    def statistics_png(self, report: Report, labels: Mapping[str, str]) -> bytes: ...


class EffectsRepo(Protocol):
    """Side effects (start or stop a recording) a turn asks for: recorded with the turn,
    done by a worker after it committed; the outcome comes back to the conversation of
    who asked, as the registry entry ``"effects.outcome"``."""

    async def request(
        self,
        *,
        kind: str,
        appointment_id: int,
        channel: str,
        external_id: str,
        address: str,
        data: dict[str, Any] | None = None,
    ) -> None: ...


class EvidenceRepo(Protocol):
    async def append(
        self,
        *,
        appointment_id: int,
        reference: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime,
    ) -> str: ...
    async def records(self, appointment_id: int, reference: str) -> list[EvidenceRecord]: ...
    async def seal(
        self,
        *,
        appointment_id: int,
        reference: str,
        signer: EvidenceSignerPort,
        at: datetime,
        day: str,
    ) -> str | None: ...


class EvidenceSignerPort(Protocol):
    """The council's evidence key (its private half never leaves the signer)."""

    @property
    def fingerprint(self) -> str: ...
    def sign(self, message: bytes) -> bytes: ...
    def public_pem(self) -> str: ...


class Fingerprints(Protocol):
    """Keyed fingerprints of personal values (ID numbers, form fields, the text agreed):
    ``of(value)`` -> ``"hmac-sha256:<key id>:<hex>"``. The same value gives the same
    fingerprint, so the council (who holds the key) can prove a value; without the key
    nobody can guess it back, even from a small space like the NIE numbers."""

    def of(self, value: str) -> str: ...


class UnitOfWork(Protocol):
    # Read-only members, so that implementations may narrow the repositories' types.
    @property
    def users(self) -> UsersRepo: ...
    @property
    def conversations(self) -> ConversationsRepo: ...
    @property
    def appointments(self) -> AppointmentsRepo: ...
    @property
    def outbox(self) -> OutboxRepo: ...
    @property
    def evidence(self) -> EvidenceRepo: ...
    @property
    def documents(self) -> DocumentsRepo: ...
    @property
    def receipts(self) -> ReceiptsRepo: ...
    @property
    def notices(self) -> NoticesRepo: ...
    @property
    def stats(self) -> StatsRepo: ...
    @property
    def waitlist(self) -> WaitlistRepo: ...
    @property
    def effects(self) -> EffectsRepo: ...
    @property
    def handled(self) -> HandledUpdatesRepo: ...

    async def hold_turn(self, channel: str, external_id: str) -> None:
        """Make this unit of work the only one serving this person until it ends, across
        every instance sharing the database (the first thing a turn does)."""
        ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True, slots=True)
class CouncilInfo:
    """The council as the texts name it. Texts the council writes come per language."""

    name: str
    address: str
    privacy_url: str
    dpo_contact: str
    in_sentence: Mapping[str, str] = field(default_factory=dict)
    controller: Mapping[str, str] = field(default_factory=dict)
    retention: Mapping[str, str] = field(default_factory=dict)

    def said(self, language: str) -> str:
        """The council's name where a sentence needs it, with its article."""
        return self.in_sentence.get(language) or self.name

    def controller_in(self, language: str) -> str:
        return self.controller.get(language) or self.said(language)

    def retention_in(self, language: str) -> str:
        return self.retention.get(language) or next(iter(self.retention.values()), "")


@dataclass(frozen=True, slots=True)
class Office:
    """Everything about the office that comes from configuration."""

    catalog: Catalog
    staff: tuple[StaffMember, ...]
    holidays: frozenset[date]
    rules: SlotRules
    tz: ZoneInfo
    council: CouncilInfo
    languages: tuple[str, ...]
    default_language: str
    registry_prefix: str = "VT"
    email_enabled: bool = False
    # From how long before its time a clerk may open a session (and its links work).
    session_lead: timedelta = timedelta(minutes=15)
    # Upload quota: files a citizen may send for one appointment, and in 24 hours.
    files_per_appointment: int = 30
    files_per_day: int = 60
    # Fair use: active appointments one citizen may hold, per procedure and in all.
    appointments_per_procedure: int = 2
    appointments_total: int = 4
    # Notifications: reminders before an appointment (longest first), the survey's delay
    # after a session, how long a waitlist offer is held, the staff's morning summary.
    reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    survey_delay: timedelta = timedelta(minutes=10)
    waitlist_hold: timedelta = timedelta(minutes=15)
    morning_summary: time = time(8, 0)

    def staff_member(self, staff_id: str) -> StaffMember | None:
        return next((m for m in self.staff if m.id == staff_id), None)

    def eligible_staff(self, procedure: str) -> list[StaffMember]:
        return eligible_staff(self.staff, procedure)


class DocumentRejected(Exception):
    """A file was refused; `reason` is a short code the conversation translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IdentityPhoto:
    """What reading the machine-readable zone of an identity photo gave."""

    status: str  # read | unreadable | front_side | not_found | unavailable
    reading: MrzReading | None = None
    hint: str | None = None  # glare | back_side | whole_card | hold_still | closer | retake


@dataclass(frozen=True, slots=True)
class AcceptedDocument:
    sha256: str
    filename: str
    content_type: str
    size: int
    pages: int
    warnings: tuple[str, ...]


class DocumentsPort(Protocol):
    async def check(self, file: InFile) -> InFile:
        """Check and normalise a file in the sandbox, holding no database (the engine
        calls it before a file turn's unit of work opens); the file with `checked` set."""
        ...

    async def accept(
        self, data: bytes, filename: str, *, checked: Checked | None = None
    ) -> AcceptedDocument:
        """Store a checked file encrypted (checking it first unless `checked` is given);
        raise DocumentRejected."""
        ...

    async def read(self, sha256: str) -> bytes: ...
    async def store(self, data: bytes) -> str: ...
    async def read_identity(self, sha256: str) -> IdentityPhoto:
        """Read the machine-readable zone of a stored photo in the sandbox, holding no
        database: the engine calls it between units of work (a step asks through
        `Ctx.identity_of`), never inside one."""
        ...


class MeetingsNotConfigured(Exception):
    pass


class MeetingsPort(Protocol):
    def new_room(self) -> str: ...
    def join_url(
        self, appointment: Appointment, *, role: str, user_id: str, name: str, now: datetime
    ) -> str: ...


class RecordingUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecorderPort(Protocol):
    @property
    def automatic(self) -> bool: ...
    async def start(self, appointment: Appointment) -> None: ...
    async def stop(self, appointment: Appointment) -> None: ...


class ReceiptsPort(Protocol):
    @property
    def logo(self) -> bytes | None: ...
    async def render(self, receipt: Any, labels: dict[str, str]) -> bytes: ...
    def verify_url(self, csv_code: str) -> str: ...


class LinksPort(Protocol):
    def file_link(self, document_id: int, viewer: str, now: datetime) -> str: ...


@dataclass(frozen=True, slots=True)
class Services:
    """The outside world a session needs, beyond the database."""

    documents: DocumentsPort
    meetings: MeetingsPort
    recorder: RecorderPort
    receipts: ReceiptsPort
    links: LinksPort
    fingerprints: Fingerprints
    # None when no evidence key is configured (`chat`, tests of other parts): chains are
    # then left unsealed and `evidence verify` says so.
    signer: EvidenceSignerPort | None = None
    charts: ChartsPort | None = None  # the statistics chart (matplotlib), when installed
