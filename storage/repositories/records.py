"""The outbox and the evidence chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.evidence import EventKind, EvidenceRecord, next_record
from domain.seals import seal_record
from handlers.ports import Clock, EvidenceSignerPort
from storage.models import (
    EvidenceRow,
    EvidenceSealRow,
    OutboxRow,
)
from storage.reminders import reminder_inserts

# The outbox kind of a turn's reply, kept until the answering instance has sent it.
TURN_REPLY = "reply"


class SqlOutbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._s = session
        self._clock = clock

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
    ) -> None:
        # The dispatcher claims rows due by its clock, the same one: queued now means due now.
        now = self._clock.now()
        row = OutboxRow(
            channel=channel,
            address=address,
            payload=payload,
            user_id=user_id,
            dedupe_key=dedupe_key,
            kind=kind,
            appointment_id=appointment_id,
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

    async def enqueue_reminders(
        self, now: datetime, until: datetime, offsets: Sequence[timedelta], *, email: bool
    ) -> int:
        """Queue the reminders of every booked appointment starting after `now` and up to
        `until` that are not queued yet; returns how many were added. See
        storage/reminders.py: the database makes the rows."""
        added = 0
        for statement in reminder_inserts(
            self._s.get_bind().dialect.name, now, until, offsets, email=email
        ):
            result = await self._s.execute(statement)
            added += int(getattr(result, "rowcount", 0) or 0)
        return added

    async def withdraw(self, appointment_id: int, kinds: Sequence[str]) -> int:
        """Pending notifications of these kinds about an appointment are not sent (it was
        moved or cancelled); returns how many were withdrawn."""
        result = await self._s.execute(
            update(OutboxRow)
            .where(
                OutboxRow.appointment_id == appointment_id,
                OutboxRow.kind.in_(list(kinds)),
                OutboxRow.delivered_at.is_(None),
                OutboxRow.failed_at.is_(None),
            )
            .values(failed_at=self._clock.now(), last_error="withdrawn")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def hold(
        self,
        *,
        channel: str,
        address: str,
        payloads: Sequence[dict[str, Any]],
        user_id: int | None,
        until: datetime,
    ) -> tuple[int, ...]:
        """Queue a turn's replies already claimed until `until` by the instance answering
        the turn, which sends them itself at once; if that instance dies first, the lease
        runs out and any dispatcher sends them. Returns their ids, for `settle_held`."""
        now = self._clock.now()
        rows = [
            OutboxRow(
                channel=channel,
                address=address,
                payload=payload,
                user_id=user_id,
                kind=TURN_REPLY,
                created_at=now,
                next_attempt_at=now,
                claimed_until=until,
                attempts=0,
                last_error="",
            )
            for payload in payloads
        ]
        self._s.add_all(rows)
        await self._s.flush()  # one INSERT for them all
        return tuple(row.id for row in rows)

    async def settle_held(
        self, sent: Sequence[int], unsent: Sequence[int], retry_at: datetime
    ) -> None:
        """The answering instance sent `sent`; `unsent` (a send failed) go to the dispatcher,
        which tries them again, in order, from `retry_at`."""
        now = self._clock.now()
        if sent:
            await self._s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(list(sent)), OutboxRow.delivered_at.is_(None))
                .values(delivered_at=now, claimed_until=None, attempts=OutboxRow.attempts + 1)
            )
        if unsent:
            await self._s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(list(unsent)), OutboxRow.delivered_at.is_(None))
                .values(
                    claimed_until=None,
                    next_attempt_at=retry_at,
                    attempts=OutboxRow.attempts + 1,
                    last_error="not sent with its turn",
                )
            )


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

    async def seal(
        self,
        *,
        appointment_id: int,
        reference: str,
        signer: EvidenceSignerPort,
        at: datetime,
        day: str,
    ) -> str | None:
        """Close the chain as it stands: a ``chain_sealed`` record signing the head, and
        its row among ``day``'s seals (the leaves of that day's Merkle tree). None when
        there is nothing to seal (no record, or the chain already ends with a seal)."""
        query = (
            select(EvidenceRow)
            .where(EvidenceRow.appointment_id == appointment_id)
            .order_by(EvidenceRow.seq.desc())
            .limit(1)
        )
        last = (await self._s.execute(query)).scalar_one_or_none()
        if last is None or last.kind == EventKind.CHAIN_SEALED.value:
            return None
        record = seal_record(
            to_record(last, reference), at=at, key=signer.fingerprint, sign=signer.sign
        )
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
        digest = record.hash
        moment = datetime.fromisoformat(record.at.replace("Z", "+00:00"))
        self._s.add(
            EvidenceSealRow(
                appointment_id=appointment_id,
                seq=record.seq,
                record_hash=digest,
                day=day,
                sealed_at=moment,
                timestamp=None,
                timestamp_attempts=0,
                timestamp_error="",
            )
        )
        return digest

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
