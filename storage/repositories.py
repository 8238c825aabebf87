"""SQLAlchemy implementations of the ports in handlers/ports.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.appointments import Status, transition
from domain.evidence import EvidenceRecord, next_record
from domain.model import (
    Appointment,
    ConversationState,
    IssuedReceipt,
    Role,
    StoredDocument,
    User,
)
from domain.schedule import StaffMember
from domain.slots import Busy
from handlers.ports import SlotTaken
from storage.models import (
    AppointmentRow,
    ConversationRow,
    DocumentRow,
    EvidenceRow,
    OutboxRow,
    ReceiptRow,
    RegistryCounterRow,
    SlotClaimRow,
    UserRow,
)

ACTIVE = (Status.BOOKED.value, Status.IN_SESSION.value)


def to_user(row: UserRow, staff: dict[tuple[str, str], StaffMember]) -> User:
    member = staff.get((row.channel, row.external_id))
    roles: frozenset[Role] = frozenset({Role.CITIZEN})
    if member is not None:
        roles = frozenset(Role(r) for r in member.roles)
    return User(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        address=row.address,
        display_name=row.display_name,
        language=row.language,
        privacy_accepted_at=row.privacy_accepted_at,
        email=row.email,
        unreachable=row.unreachable,
        staff_id=member.id if member else None,
        roles=roles,
    )


def to_appointment(row: AppointmentRow) -> Appointment:
    return Appointment(
        id=row.id,
        reference=row.reference,
        citizen_id=row.citizen_id,
        procedure=row.procedure,
        staff_id=row.staff_id,
        start=row.start,
        end=row.end,
        status=Status(row.status),
        language=row.language,
        email=row.email,
        room=row.room,
        citizen_name=row.citizen_name,
        details=dict(row.details or {}),
    )


class SqlUsers:
    def __init__(
        self,
        session: AsyncSession,
        staff: dict[tuple[str, str], StaffMember],
        conversations: dict[int, ConversationRow | None],
    ) -> None:
        self._s = session
        self._staff = staff
        self._conversations = conversations

    async def get_or_create(
        self, channel: str, external_id: str, *, address: str, display_name: str, language: str
    ) -> User:
        # The user and their conversation in one round trip: every turn needs both.
        query = (
            select(UserRow, ConversationRow)
            .outerjoin(ConversationRow, ConversationRow.user_id == UserRow.id)
            .where(UserRow.channel == channel, UserRow.external_id == external_id)
        )
        found = (await self._s.execute(query)).one_or_none()
        row = found[0] if found else None
        if found is not None:
            self._conversations[found[0].id] = found[1]
        if row is None:
            row = UserRow(
                channel=channel,
                external_id=external_id,
                address=address,
                display_name=display_name,
                language=language,
                created_at=datetime.now().astimezone(),
            )
            try:
                async with self._s.begin_nested():
                    self._s.add(row)
            except IntegrityError:  # created by a concurrent turn of the same person
                again = select(UserRow).where(
                    UserRow.channel == channel, UserRow.external_id == external_id
                )
                row = (await self._s.execute(again)).scalar_one()
        else:
            if display_name and row.display_name != display_name:
                row.display_name = display_name
            if address and row.address != address:
                row.address = address
        return to_user(row, self._staff)

    async def get(self, user_id: int) -> User:
        row = await self._s.get_one(UserRow, user_id)
        return to_user(row, self._staff)

    async def set_language(self, user_id: int, language: str) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(language=language)
        )

    async def accept_privacy(self, user_id: int, at: datetime) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(privacy_accepted_at=at)
        )

    async def set_email(self, user_id: int, email: str) -> None:
        await self._s.execute(update(UserRow).where(UserRow.id == user_id).values(email=email))

    async def set_unreachable(self, user_id: int, unreachable: bool) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(unreachable=unreachable)
        )

    async def find_staff_user(self, staff_id: str) -> User | None:
        keys = [key for key, member in self._staff.items() if member.id == staff_id]
        if not keys:
            return None
        conditions = [
            and_(UserRow.channel == channel, UserRow.external_id == ext) for channel, ext in keys
        ]
        query = select(UserRow).where(or_(*conditions)).order_by(UserRow.id.desc()).limit(1)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_user(row, self._staff) if row else None


class SqlConversations:
    """Conversation state. Rows loaded in this unit of work are kept, so saving the state
    back costs one UPDATE and no second SELECT."""

    def __init__(self, session: AsyncSession, rows: dict[int, ConversationRow | None]) -> None:
        self._s = session
        self._rows = rows

    async def _row(self, user_id: int) -> ConversationRow | None:
        if user_id not in self._rows:
            self._rows[user_id] = await self._s.get(ConversationRow, user_id)
        return self._rows[user_id]

    async def load(self, user_id: int) -> ConversationState:
        row = await self._row(user_id)
        if row is None:
            return ConversationState()
        return ConversationState(flow=row.flow, step=row.step, data=dict(row.data or {}))

    async def save(self, user_id: int, state: ConversationState) -> None:
        row = await self._row(user_id)
        now = datetime.now().astimezone()
        if row is None:
            row = ConversationRow(
                user_id=user_id,
                flow=state.flow,
                step=state.step,
                data=dict(state.data),
                updated_at=now,
            )
            self._s.add(row)
            self._rows[user_id] = row
        else:
            row.flow, row.step, row.data = state.flow, state.step, dict(state.data)
            row.updated_at = now


class SqlAppointments:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _claim(
        self,
        appointment_id: int,
        staff_id: str,
        cells: Sequence[datetime],
        *,
        release_first: bool = False,
    ) -> None:
        # One savepoint: on conflict the old claims (when moving) are kept as they were.
        try:
            async with self._s.begin_nested():
                if release_first:
                    await self._s.execute(
                        delete(SlotClaimRow).where(SlotClaimRow.appointment_id == appointment_id)
                    )
                self._s.add_all(
                    SlotClaimRow(staff_id=staff_id, cell=cell, appointment_id=appointment_id)
                    for cell in cells
                )
        except IntegrityError as exc:
            raise SlotTaken from exc

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
    ) -> Appointment:
        row = AppointmentRow(
            reference=reference,
            citizen_id=citizen_id,
            procedure=procedure,
            staff_id=staff_id,
            start=start,
            end=end,
            status=Status.BOOKED.value,
            language=language,
            email=email,
            citizen_name=citizen_name,
            details={},
            created_at=now,
            updated_at=now,
        )
        # The appointment and its claims stand or fall together: on a conflict nothing of
        # this booking remains in the session, whatever the caller commits afterwards.
        try:
            async with self._s.begin_nested():
                self._s.add(row)
                await self._s.flush()
                self._s.add_all(
                    SlotClaimRow(staff_id=staff_id, cell=cell, appointment_id=row.id)
                    for cell in cells
                )
        except IntegrityError as exc:
            raise SlotTaken from exc
        return to_appointment(row)

    async def reschedule(
        self,
        appointment_id: int,
        *,
        staff_id: str,
        start: datetime,
        end: datetime,
        cells: Sequence[datetime],
        now: datetime,
    ) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        await self._claim(appointment_id, staff_id, cells, release_first=True)
        row.staff_id, row.start, row.end, row.updated_at = staff_id, start, end, now
        return to_appointment(row)

    async def set_status(self, appointment_id: int, status: Status, now: datetime) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        row.status = transition(row.status, status).value
        row.updated_at = now
        if status.value not in ACTIVE and status is not Status.COMPLETED:
            # A cancelled or missed appointment gives its slot back.
            await self._s.execute(
                delete(SlotClaimRow).where(SlotClaimRow.appointment_id == appointment_id)
            )
        return to_appointment(row)

    async def get(self, appointment_id: int) -> Appointment | None:
        row = await self._s.get(AppointmentRow, appointment_id)
        return to_appointment(row) if row else None

    async def by_reference(self, reference: str) -> Appointment | None:
        query = select(AppointmentRow).where(AppointmentRow.reference == reference)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_appointment(row) if row else None

    async def for_citizen(self, citizen_id: int, *, active_only: bool) -> list[Appointment]:
        query = select(AppointmentRow).where(AppointmentRow.citizen_id == citizen_id)
        if active_only:
            query = query.where(AppointmentRow.status.in_(ACTIVE))
        rows = (await self._s.execute(query.order_by(AppointmentRow.start))).scalars()
        return [to_appointment(r) for r in rows]

    async def for_staff(
        self, staff_id: str | None, start: datetime, end: datetime
    ) -> list[Appointment]:
        query = select(AppointmentRow).where(
            AppointmentRow.start >= start, AppointmentRow.start < end
        )
        if staff_id is not None:
            query = query.where(AppointmentRow.staff_id == staff_id)
        rows = (await self._s.execute(query.order_by(AppointmentRow.start))).scalars()
        return [to_appointment(r) for r in rows]

    async def busy(self, staff_ids: Sequence[str], start: datetime, end: datetime) -> list[Busy]:
        query = select(AppointmentRow.staff_id, AppointmentRow.start, AppointmentRow.end).where(
            AppointmentRow.staff_id.in_(staff_ids),
            AppointmentRow.status.in_(ACTIVE),
            AppointmentRow.end > start,
            AppointmentRow.start < end,
        )
        rows = (await self._s.execute(query)).all()
        return [Busy(staff_id=s, start=a, end=b) for s, a, b in rows]

    async def load(
        self, staff_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, int]:
        query = (
            select(AppointmentRow.staff_id, func.count())
            .where(
                AppointmentRow.staff_id.in_(staff_ids),
                AppointmentRow.status.in_(ACTIVE),
                AppointmentRow.start >= start,
                AppointmentRow.start < end,
            )
            .group_by(AppointmentRow.staff_id)
        )
        counts = {staff_id: 0 for staff_id in staff_ids}
        for staff_id, count in (await self._s.execute(query)).all():
            counts[staff_id] = count
        return counts

    async def update(
        self, appointment_id: int, *, details: dict[str, Any] | None = None, room: str | None = None
    ) -> Appointment:
        row = await self._s.get_one(AppointmentRow, appointment_id)
        if details is not None:
            row.details = dict(details)
        if room is not None:
            row.room = room
        return to_appointment(row)

    async def by_room(self, room: str) -> Appointment | None:
        query = select(AppointmentRow).where(AppointmentRow.room == room)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_appointment(row) if row else None

    async def counts(
        self, start: datetime | None, end: datetime | None
    ) -> list[tuple[str, str, int]]:
        query = select(AppointmentRow.procedure, AppointmentRow.status, func.count())
        if start is not None:
            query = query.where(AppointmentRow.start >= start)
        if end is not None:
            query = query.where(AppointmentRow.start < end)
        query = query.group_by(AppointmentRow.procedure, AppointmentRow.status)
        return [(p, s, c) for p, s, c in (await self._s.execute(query)).all()]


class SqlOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enqueue(
        self,
        *,
        channel: str,
        address: str,
        payload: dict[str, Any],
        user_id: int | None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        now = datetime.now().astimezone()
        row = OutboxRow(
            channel=channel,
            address=address,
            payload=payload,
            user_id=user_id,
            dedupe_key=dedupe_key,
            created_at=now,
            next_attempt_at=not_before or now,
            attempts=0,
            last_error="",
        )
        if dedupe_key is None:
            self._s.add(row)
            return
        try:
            async with self._s.begin_nested():
                self._s.add(row)
        except IntegrityError:
            pass  # the same message was already queued: sending it once is the point


class SqlEvidence:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def append(
        self,
        *,
        appointment_id: int,
        reference: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime,
    ) -> str:
        query = (
            select(EvidenceRow)
            .where(EvidenceRow.appointment_id == appointment_id)
            .order_by(EvidenceRow.seq.desc())
            .limit(1)
        )
        last = (await self._s.execute(query)).scalar_one_or_none()
        record = next_record(
            to_record(last, reference) if last else None,
            appointment_ref=reference,
            kind=kind,
            at=at,
            actor=actor,
            data=data,
        )
        # The (appointment, seq) unique key rejects a concurrent append with the same seq.
        self._s.add(
            EvidenceRow(
                appointment_id=appointment_id,
                seq=record.seq,
                kind=record.kind,
                at=record.at,
                actor=record.actor,
                data=record.data,
                prev_hash=record.prev_hash,
                hash=record.hash,
            )
        )
        return record.hash

    async def records(self, appointment_id: int, reference: str) -> list[EvidenceRecord]:
        query = (
            select(EvidenceRow)
            .where(EvidenceRow.appointment_id == appointment_id)
            .order_by(EvidenceRow.seq)
        )
        return [to_record(r, reference) for r in (await self._s.execute(query)).scalars()]


def to_record(row: EvidenceRow, reference: str) -> EvidenceRecord:
    return EvidenceRecord(
        seq=row.seq,
        appointment_ref=reference,
        kind=row.kind,
        at=row.at,
        actor=row.actor,
        data=dict(row.data),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def to_document(row: DocumentRow) -> StoredDocument:
    return StoredDocument(
        id=row.id,
        user_id=row.user_id,
        appointment_id=row.appointment_id,
        requirement=row.requirement,
        sha256=row.sha256,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        pages=row.pages,
        warnings=tuple(row.warnings or ()),
        created_at=row.created_at,
    )


class SqlDocuments:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

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
    ) -> StoredDocument:
        row = DocumentRow(
            user_id=user_id,
            appointment_id=appointment_id,
            requirement=requirement,
            sha256=sha256,
            filename=filename,
            content_type=content_type,
            size=size,
            pages=pages,
            warnings=list(warnings),
            created_at=at,
        )
        self._s.add(row)
        await self._s.flush()
        return to_document(row)

    async def get(self, document_id: int) -> StoredDocument | None:
        row = await self._s.get(DocumentRow, document_id)
        return to_document(row) if row else None

    async def for_appointment(self, appointment_id: int) -> list[StoredDocument]:
        query = (
            select(DocumentRow)
            .where(DocumentRow.appointment_id == appointment_id)
            .order_by(DocumentRow.id)
        )
        return [to_document(r) for r in (await self._s.execute(query)).scalars()]

    async def unattached(self, user_id: int) -> list[StoredDocument]:
        query = select(DocumentRow).where(
            DocumentRow.user_id == user_id, DocumentRow.appointment_id.is_(None)
        )
        return [to_document(r) for r in (await self._s.execute(query)).scalars()]

    async def attach(self, document_id: int, appointment_id: int) -> None:
        await self._s.execute(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(appointment_id=appointment_id)
        )


def to_receipt(row: ReceiptRow) -> IssuedReceipt:
    return IssuedReceipt(
        appointment_id=row.appointment_id,
        entry_number=row.entry_number,
        csv_code=row.csv_code,
        sha256=row.sha256,
        registered_at=row.registered_at,
        language=row.language,
    )


class SqlReceipts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def next_sequence(self, year: int) -> int:
        """The next entry number of `year`. The counter row is updated in the caller's
        transaction: concurrent issuers queue on its lock, and a rollback gives the number
        back, so the sequence has no gaps."""
        bumped = await self._s.execute(
            update(RegistryCounterRow)
            .where(RegistryCounterRow.year == year)
            .values(last=RegistryCounterRow.last + 1)
            .returning(RegistryCounterRow.last)
        )
        value = bumped.scalar_one_or_none()
        if value is not None:
            return int(value)
        try:
            async with self._s.begin_nested():
                self._s.add(RegistryCounterRow(year=year, last=1))
            return 1
        except IntegrityError:  # another issuer created the year's row first
            return await self.next_sequence(year)

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
    ) -> IssuedReceipt:
        row = ReceiptRow(
            appointment_id=appointment_id,
            year=year,
            sequence=sequence,
            entry_number=entry_number,
            csv_code=csv_code,
            sha256=sha256,
            registered_at=registered_at,
            language=language,
        )
        self._s.add(row)
        await self._s.flush()
        return to_receipt(row)

    async def for_appointment(self, appointment_id: int) -> IssuedReceipt | None:
        query = select(ReceiptRow).where(ReceiptRow.appointment_id == appointment_id)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_receipt(row) if row else None

    async def by_code(self, csv_code: str) -> IssuedReceipt | None:
        query = select(ReceiptRow).where(ReceiptRow.csv_code == csv_code)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_receipt(row) if row else None
