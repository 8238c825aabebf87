"""The waitlist's rules (used by conversations and by the scheduler, not a conversation):
a freed time goes to the first in line it suits, held for them for `[schedule]
waitlist_hold_minutes`; when the hold runs out or they let it go, the next is asked."""

from __future__ import annotations

from datetime import datetime

from domain.model import WaitlistEntry
from domain.slots import Slot
from handlers.availability import open_slots
from handlers.ports import Office, UnitOfWork


def _suits(entry: WaitlistEntry, start: datetime, office: Office) -> bool:
    day = start.astimezone(office.tz).date().isoformat()
    if start.isoformat() in entry.declined:
        return False
    return (not entry.day_from or entry.day_from <= day) and (
        not entry.day_to or day <= entry.day_to
    )


async def offer_freed(uow: UnitOfWork, office: Office, start: datetime, now: datetime) -> bool:
    """Offer the time at `start`, if it is free, to the first in line it suits."""
    from handlers import notify

    if start <= now:
        return False
    slots: dict[str, list[Slot]] = {}
    for entry in await uow.waitlist.waiting():
        if not _suits(entry, start, office) or (
            entry.offer_until is not None and entry.offer_until > now
        ):
            continue
        procedure = office.catalog.find(entry.procedure)
        if procedure is None:
            continue
        if entry.procedure not in slots:
            slots[entry.procedure] = await open_slots(uow, office, procedure, now)
        slot = next((s for s in slots[entry.procedure] if s.start == start), None)
        if slot is None:
            continue
        until = now + office.waitlist_hold
        if not await uow.waitlist.hold(entry.id, start, slot.staff_ids[0], until, now):
            continue
        citizen = await uow.users.get(entry.citizen_id)
        await notify.queue(
            uow,
            citizen,
            "waitlist_offer",
            {
                "entry": entry.id,
                "start": start.isoformat(),
                "procedure": entry.procedure,
                "until": until.isoformat(),
            },
            dedupe_key=f"wl:{entry.id}:{start.isoformat()}",
        )
        return True
    return False


async def expire_holds(uow: UnitOfWork, office: Office, now: datetime) -> int:
    """Holds that ran out: the time goes to the next in line. Returns how many ran out."""
    expired = await uow.waitlist.expired(now)
    for entry in expired:
        assert entry.offer_start is not None
        await uow.waitlist.let_go(entry.id, entry.offer_start)
        await offer_freed(uow, office, entry.offer_start, now)
    return len(expired)
