"""The seals table and the daily journal: queries for the time-stamp worker, the daily
root, export and verification. Each function works inside the caller's session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bundle_seals import JournalEntry
from storage.models import AppointmentRow, EvidenceJournalRow, EvidenceRow, EvidenceSealRow

MAX_TIMESTAMP_ATTEMPTS = 5


@dataclass(frozen=True)
class SealRef:
    id: int
    appointment_id: int
    reference: str
    seq: int
    record_hash: str
    day: str
    timestamp: bytes | None


async def seals_for(session: AsyncSession, appointment_id: int) -> list[SealRef]:
    query = (
        select(EvidenceSealRow, AppointmentRow.reference)
        .join(AppointmentRow, AppointmentRow.id == EvidenceSealRow.appointment_id)
        .where(EvidenceSealRow.appointment_id == appointment_id)
        .order_by(EvidenceSealRow.seq)
    )
    return [_ref(row, ref) for row, ref in (await session.execute(query)).all()]


async def awaiting_timestamp(session: AsyncSession, limit: int = 20) -> list[SealRef]:
    query = (
        select(EvidenceSealRow, AppointmentRow.reference)
        .join(AppointmentRow, AppointmentRow.id == EvidenceSealRow.appointment_id)
        .where(
            EvidenceSealRow.timestamp.is_(None),
            EvidenceSealRow.timestamp_attempts < MAX_TIMESTAMP_ATTEMPTS,
        )
        .order_by(EvidenceSealRow.id)
        .limit(limit)
    )
    return [_ref(row, ref) for row, ref in (await session.execute(query)).all()]


def _ref(row: EvidenceSealRow, reference: str) -> SealRef:
    return SealRef(
        row.id, row.appointment_id, reference, row.seq, row.record_hash, row.day, row.timestamp
    )


async def seal_record(session: AsyncSession, seal: SealRef) -> EvidenceRow | None:
    query = select(EvidenceRow).where(
        EvidenceRow.appointment_id == seal.appointment_id, EvidenceRow.seq == seal.seq
    )
    return (await session.execute(query)).scalar_one_or_none()


async def save_timestamp(
    session: AsyncSession, seal_id: int, token: bytes | None, error: str = ""
) -> None:
    row = await session.get(EvidenceSealRow, seal_id)
    if row is None:
        return
    row.timestamp_attempts += 1
    if token is not None:
        row.timestamp, row.timestamp_error = token, ""
    else:
        row.timestamp_error = error[:500]


async def hashes_of_day(session: AsyncSession, day: str) -> list[str]:
    query = select(EvidenceSealRow.record_hash).where(EvidenceSealRow.day == day)
    return list((await session.execute(query)).scalars())


async def days_to_journal(session: AsyncSession, before: str) -> list[str]:
    """Days before ``before`` that have seals and no journal entry yet, oldest first."""
    journaled = select(EvidenceJournalRow.day)
    query = (
        select(EvidenceSealRow.day)
        .where(EvidenceSealRow.day < before, EvidenceSealRow.day.not_in(journaled))
        .group_by(EvidenceSealRow.day)
        .order_by(EvidenceSealRow.day)
    )
    return list((await session.execute(query)).scalars())


def _entry(row: EvidenceJournalRow) -> JournalEntry:
    return JournalEntry(row.day, row.size, row.root, row.prev, row.at, row.key, row.signature)


async def last_entry(session: AsyncSession) -> JournalEntry | None:
    query = select(EvidenceJournalRow).order_by(EvidenceJournalRow.day.desc()).limit(1)
    row = (await session.execute(query)).scalar_one_or_none()
    return _entry(row) if row else None


async def entries(session: AsyncSession, days: list[str] | None = None) -> list[JournalEntry]:
    query = select(EvidenceJournalRow).order_by(EvidenceJournalRow.day)
    if days is not None:
        query = query.where(EvidenceJournalRow.day.in_(days))
    return [_entry(row) for row in (await session.execute(query)).scalars()]


def add_entry(session: AsyncSession, entry: JournalEntry) -> None:
    session.add(
        EvidenceJournalRow(
            day=entry.day,
            size=entry.size,
            root=entry.root,
            prev=entry.prev,
            at=entry.at,
            key=entry.key,
            signature=entry.signature,
            hash=entry.hash,
        )
    )


async def count_seals(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count(EvidenceSealRow.id)))).scalar_one())
