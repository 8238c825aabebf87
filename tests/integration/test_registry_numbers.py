"""Registry entry numbers: per year, sequential and gap-free under concurrency, on SQLite
and PostgreSQL — a receipt whose transaction fails gives its number back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from domain.receipts import format_entry_number, new_csv_code
from tests.support import Clock, book_directly, office_settings, ready_app

ISSUERS = 30


async def _appointments(app: App, count: int) -> list[int]:
    ids = []
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "r", address="r", display_name="", language="ca"
        )
        for n in range(count):
            booked = await book_directly(
                uow,
                citizen_id=user.id,
                start=datetime(2027, 6, 1 + n // 10, 6 + n % 10, 0, tzinfo=UTC),
                reference=f"VT-{n:07d}".replace("0", "A").replace("1", "B"),
            )
            ids.append(booked.id)
        await uow.commit()
    return ids


async def _issue_all(app: App) -> list[int]:
    ids = await _appointments(app, ISSUERS)

    async def issue(appointment_id: int, fail: bool) -> None:
        async with app.uow() as uow:
            sequence = await uow.receipts.next_sequence(2026)
            await asyncio.sleep(0)  # let the others interleave
            await uow.receipts.add(
                appointment_id=appointment_id,
                year=2026,
                sequence=sequence,
                entry_number=format_entry_number("VT", 2026, sequence),
                csv_code=new_csv_code(),
                sha256="0" * 64,
                registered_at=app.clock.now(),
                language="ca",
            )
            if fail:
                return  # rolled back: as if the PDF could not be stored
            await uow.commit()

    await asyncio.gather(*(issue(a, fail=n % 7 == 3) for n, a in enumerate(ids)))
    async with app.sessions() as session:
        from sqlalchemy import select

        from storage.models import ReceiptRow

        rows = (await session.execute(select(ReceiptRow.sequence))).scalars().all()
    return sorted(rows)


async def test_gap_free(tmp_path: Path, backend: str) -> None:
    app, _ = await ready_app(office_settings(backend, tmp_path), Clock())
    try:
        numbers = await _issue_all(app)
    finally:
        await app.close()
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == ISSUERS - len([n for n in range(ISSUERS) if n % 7 == 3])
