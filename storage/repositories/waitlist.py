"""The waitlist: who waits for which procedure, and the freed time held for one of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model import WaitlistEntry
from domain.slots import Busy
from storage.models import WaitlistRow


def _entry(row: WaitlistRow) -> WaitlistEntry:
    return WaitlistEntry(
        id=row.id,
        citizen_id=row.citizen_id,
        procedure=row.procedure,
        day_from=row.day_from,
        day_to=row.day_to,
        offer_start=row.offer_start,
        offer_staff=row.offer_staff,
        offer_until=row.offer_until,
        declined=tuple(row.declined or ()),
        active=row.left_at is None,
    )


class SqlWaitlist:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def join(
        self, citizen_id: int, procedure: str, day_from: str, day_to: str, now: datetime
    ) -> WaitlistEntry:
        for entry in await self.of_citizen(citizen_id):
            if entry.procedure == procedure:  # once per procedure: the range is updated
                await self._s.execute(
                    update(WaitlistRow)
                    .where(WaitlistRow.id == entry.id)
                    .values(day_from=day_from, day_to=day_to)
                )
                return (await self.get(entry.id)) or entry
        row = WaitlistRow(
            citizen_id=citizen_id,
            procedure=procedure,
            day_from=day_from,
            day_to=day_to,
            joined_at=now,
            offer_staff="",
            declined=[],
        )
        self._s.add(row)
        await self._s.flush()
        return _entry(row)

    async def get(self, entry_id: int) -> WaitlistEntry | None:
        row = await self._s.get(WaitlistRow, entry_id, populate_existing=True)
        return _entry(row) if row else None

    async def of_citizen(self, citizen_id: int) -> list[WaitlistEntry]:
        query = select(WaitlistRow).where(
            WaitlistRow.citizen_id == citizen_id, WaitlistRow.left_at.is_(None)
        )
        return [
            _entry(r) for r in (await self._s.execute(query.order_by(WaitlistRow.id))).scalars()
        ]

    async def waiting(self) -> list[WaitlistEntry]:
        """Everyone still waiting, first in line first."""
        query = (
            select(WaitlistRow)
            .where(WaitlistRow.left_at.is_(None))
            .order_by(WaitlistRow.joined_at, WaitlistRow.id)
        )
        return [_entry(r) for r in (await self._s.execute(query)).scalars()]

    async def leave(self, entry_id: int, now: datetime) -> None:
        await self._s.execute(
            update(WaitlistRow)
            .where(WaitlistRow.id == entry_id)
            .values(left_at=now, offer_start=None, offer_until=None, offer_staff="")
        )

    async def hold(
        self, entry_id: int, start: datetime, staff_id: str, until: datetime, now: datetime
    ) -> bool:
        """Hold a freed time for this entry, unless it already holds one (or left)."""
        result = await self._s.execute(
            update(WaitlistRow)
            .where(
                WaitlistRow.id == entry_id,
                WaitlistRow.left_at.is_(None),
                (WaitlistRow.offer_until.is_(None)) | (WaitlistRow.offer_until <= now),
            )
            .values(offer_start=start, offer_staff=staff_id, offer_until=until)
        )
        return bool(getattr(result, "rowcount", 0))

    async def let_go(self, entry_id: int, start: datetime) -> None:
        """The entry no longer holds `start` (declined, or the hold ran out): it is not
        offered to them again."""
        row = await self._s.get(WaitlistRow, entry_id)
        if row is None:
            return
        row.declined = sorted({*(row.declined or []), start.isoformat()})
        if row.offer_start == start:
            row.offer_start, row.offer_until, row.offer_staff = None, None, ""

    async def holds(self, now: datetime) -> list[tuple[int, Busy]]:
        """Times held now: (the citizen they are held for, the busy interval)."""
        query = select(WaitlistRow).where(
            WaitlistRow.left_at.is_(None),
            WaitlistRow.offer_until.is_not(None),
            WaitlistRow.offer_until > now,
        )
        held = []
        for row in (await self._s.execute(query)).scalars():
            assert row.offer_start is not None
            held.append((row.citizen_id, Busy(row.offer_staff, row.offer_start, row.offer_start)))
        return held

    async def expired(self, now: datetime) -> list[WaitlistEntry]:
        query = select(WaitlistRow).where(
            WaitlistRow.left_at.is_(None),
            WaitlistRow.offer_until.is_not(None),
            WaitlistRow.offer_until <= now,
        )
        return [_entry(r) for r in (await self._s.execute(query)).scalars()]
