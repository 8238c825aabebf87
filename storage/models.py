"""SQLAlchemy 2 table mappings. Times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.sealed import SealedJSON

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        # The clock's own instants are UTC already: bulk inserts bind many of them.
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str] = mapped_column(String(8))
    email: Mapped[str] = mapped_column(String(255), default="")
    privacy_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRow(Base):
    """Mirror of the configured staff, so appointments can refer to them."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ConversationRow(Base):
    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), default="")
    step: Mapped[str] = mapped_column(String(32), default="")
    # What a person is typing into a form, mid-flow: sealed (storage/sealed.py).
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON("conversations.data"), default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppointmentRow(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    language: Mapped[str] = mapped_column(String(8))
    email: Mapped[str] = mapped_column(String(255), default="")
    citizen_name: Mapped[str] = mapped_column(String(255), default="")
    room: Mapped[str] = mapped_column(String(64), default="")
    # The application form, identity data, the agreement: sealed (storage/sealed.py).
    details: Mapped[dict[str, Any]] = mapped_column(
        SealedJSON("appointments.details"), default=dict
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written when the session ends (from its session_started record), so the statistics
    # read one number instead of pairing evidence records for every appointment.
    session_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Hours from booking to the start, kept as the start moves: the median lead is then
    # counted off an index in order, not computed and sorted for every appointment.
    lead_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_appointments_staff_start", "staff_id", "start"),
        # Everything the statistics read of an appointment in a period: the report scans
        # this index alone, never the wide rows (the sealed form, the identity data).
        Index(
            "ix_appointments_period",
            "start", "status", "procedure", "staff_id", "citizen_id", "created_at",
            "session_seconds",
        ),
        # The completed sessions in order of length: their median is counted without a sort.
        Index("ix_appointments_sessions", "status", "session_seconds", "start"),
        # The same for how far ahead they were booked, over any period (a skip-scan).
        Index("ix_appointments_leads", "lead_hours", "start", "status"),
    )  # fmt: skip


class SlotClaimRow(Base):
    """One row per slot cell an active appointment occupies.

    The primary key is what makes booking race-free: two transactions cannot both insert
    the same (staff, cell), whatever the isolation level or the number of instances.
    """

    __tablename__ = "slot_claims"

    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    cell: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


PENDING = "delivered_at IS NULL AND failed_at IS NULL"


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("outbox.payload"))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set, in its own commit, just before the channel is called, and cleared with the
    # outcome: still set on a row whose lease ran out, the sender died mid-call and the
    # message may have reached the person (it is reported, never sent again).
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # A notification's kind (rendered at delivery; "" for a message written at queue time)
    # and the appointment it is about, so moving or cancelling it withdraws what is pending.
    kind: Mapped[str] = mapped_column(String(32), default="")
    appointment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    __table_args__ = (
        # The pending messages in the order they fall due: a claim reads the first ones
        # and stops, however long the backlog or the table of delivered ones.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            "id",
            postgresql_where=text(PENDING),
            sqlite_where=text(PENDING),
        ),
        # A chat's pending messages in order, looked up for every claim (per-chat order);
        # only the pending ones, however many a chat has had delivered.
        Index(
            "ix_outbox_chat_pending",
            "channel",
            "address",
            "id",
            postgresql_where=text(PENDING),
            sqlite_where=text(PENDING),
        ),
    )


class EvidenceRow(Base):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("appointment_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class EvidenceSealRow(Base):
    """A chain's signed head (its ``chain_sealed`` record), by the day it was made: the
    leaves of that day's Merkle tree, and the time-stamp the authority gave it."""

    __tablename__ = "evidence_seals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # local date, YYYY-MM-DD
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timestamp: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    timestamp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    timestamp_error: Mapped[str] = mapped_column(Text, default="")


class EvidenceJournalRow(Base):
    """One signed daily root over the seals of that day; each entry names the previous one
    (append-only: a day is journaled once)."""

    __tablename__ = "evidence_journal"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    prev: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DocumentRow(Base):
    """A document a citizen sent: the bytes live encrypted in the blob store by SHA-256."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id"), index=True, nullable=True
    )
    requirement: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(160))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RegistryCounterRow(Base):
    """The last registry entry number issued in a year (gap-free: incremented in the
    same transaction that stores the receipt)."""

    __tablename__ = "registry_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ReceiptRow(Base):
    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    entry_number: Mapped[str] = mapped_column(String(32), unique=True)
    csv_code: Mapped[str] = mapped_column(String(32), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(8))


class NoticeButtonRow(Base):
    """A button of a notification that keeps working after the conversation moved on
    (a reminder's "I'll be there", a survey's score): its opaque token, whose it is, and
    the registered entry it hands over to with its parameters."""

    __tablename__ = "notice_buttons"

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entry: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttendanceRow(Base):
    """The citizen's answer to a reminder: confirmed, or the time was changed/cancelled."""

    __tablename__ = "attendance"

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), primary_key=True)
    answer: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyRow(Base):
    """One satisfaction survey per appointment. Opinions, not part of the procedure: kept
    apart from the evidence chain, and shown to administrators only as aggregates."""

    __tablename__ = "surveys"

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    again: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Free text from the citizen: personal data, sealed like the form (storage/sealed.py).
    comment: Mapped[str] = mapped_column(SealedJSON("surveys.comment"), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class WaitlistRow(Base):
    """A citizen waiting for a time of a procedure, optionally between two days."""

    __tablename__ = "waitlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(64), index=True)
    day_from: Mapped[str] = mapped_column(String(10), default="")  # local date or ""
    day_to: Mapped[str] = mapped_column(String(10), default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An offer being held for this person: the freed time, its clerk, until when.
    offer_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offer_staff: Mapped[str] = mapped_column(String(40), default="")
    offer_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declined: Mapped[list[str]] = mapped_column(JSON, default=list)  # starts let go


class LinkBindingRow(Base):
    """Which browser cookie an opened /files link is bound to (bot/web_files.py)."""

    __tablename__ = "link_bindings"

    slot: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    cookie: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ChannelPanelRow(Base):
    """Which message shows a chat's panel (e.g. a clerk's session panel), per channel."""

    __tablename__ = "channel_panels"
    __table_args__ = (Index("ix_channel_panels_message", "channel", "chat", "message"),)

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat: Mapped[str] = mapped_column(String(255), primary_key=True)
    panel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelNoticeRow(Base):
    """When a throttled notice (e.g. "I only work in private chats") was last given."""

    __tablename__ = "channel_notices"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    told_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JibriStatusRow(Base):
    """The latest /v1/status of each Jibri (for /metrics)."""

    __tablename__ = "jibri_status"

    jibri_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    busy_status: Mapped[str] = mapped_column(String(32))
    health_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstanceRow(Base):
    """One running instance's heartbeat: live instances share Telegram's budget."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SideEffectRow(Base):
    """Something a turn decided to do outside (start or stop a recording), done by a worker
    after the turn committed, so a slow outside call never holds the turn's transaction.
    The outcome is handed to the conversation of who asked (``channel``, ``external_id``)."""

    __tablename__ = "side_effects"
    __table_args__ = (Index("ix_side_effects_pending", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")


class HandledUpdateRow(Base):
    """An update a channel delivered that a turn has handled, recorded in that turn's
    transaction: the platform delivering it again (to another instance, after a crash)
    finds it here and the turn is not taken twice; its replies wait in the outbox."""

    __tablename__ = "handled_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
