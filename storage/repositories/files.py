"""Documents citizens sent and the receipts issued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model import (
    IssuedReceipt,
    StoredDocument,
)
from storage.models import (
    DocumentRow,
    ReceiptRow,
    RegistryCounterRow,
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

    async def count_sent(self, user_id: int, *, since: datetime) -> int:
        query = (
            select(func.count())
            .select_from(DocumentRow)
            .where(DocumentRow.user_id == user_id, DocumentRow.created_at >= since)
        )
        return int((await self._s.execute(query)).scalar_one())

    async def classify(self, document_id: int, appointment_id: int, requirement: str) -> None:
        await self._s.execute(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(appointment_id=appointment_id, requirement=requirement)
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
