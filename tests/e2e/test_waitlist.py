"""The waitlist: join when no time fits, a freed time offered to the first in line and
held for them (hidden from normal booking meanwhile), then to the next when the hold runs
out; taking it is one tap and race-free; leaving it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import App
from bot.channels.memory import MemoryChannel, MemoryPerson
from storage.models import AppointmentRow
from tests.dialog import run_dialog
from tests.support import MADRID, Clock, person

IBI = "Property tax (IBI) rebate"  # only Anna serves it: one clerk, one agenda
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=MADRID).astimezone(UTC)

FIRST_CONTACT = [("/start", []), ("[English]", []), ("[I understand]", [])]


async def _join(app: App, name: str) -> MemoryPerson:
    citizen = person(app, name, name.title(), "en")
    await run_dialog(
        citizen,
        [
            *FIRST_CONTACT,
            ("[Book an appointment]", []),
            (f"[{IBI}]", ["Which day suits you?", "Tell me when a time comes free"]),
            ("[Tell me when a time comes free]", ["Which days suit you?"]),
            ("[Any day]", [f"You are on the waiting list for {IBI}"]),
        ],
    )
    return citizen


async def _book_and_cancel(app: App) -> None:
    rosa = person(app, "rosa", "Rosa", "en")
    await run_dialog(
        rosa,
        [
            *FIRST_CONTACT,
            ("[Book an appointment]", []),
            (f"[{IBI}]", []),
            ("[Tue 1 Dec]", []),
            ("[10:00]", []),
            ("[Confirm]", ["Your appointment reference is"]),
        ],
    )
    await run_dialog(
        rosa,
        [
            ("/my", []),
            ("#1", []),
            ("[Cancel the appointment]", []),
            ("[Yes, cancel it]", ["is cancelled"]),
        ],
    )


async def _offer(app: App, channel: MemoryChannel, address: str) -> tuple[str, str]:
    await app.dispatcher.drain()
    for reply in reversed(channel.sent[address]):
        if "A time has come free" in reply.text:
            return reply.choices[0].token, reply.text
    raise AssertionError(f"no offer to {address}")


async def _booked_at(app: App, start: datetime) -> int:
    async with app.sessions() as session:
        query = select(func.count()).where(
            AppointmentRow.start == start, AppointmentRow.status == "booked"
        )
        return int((await session.execute(query)).scalar_one())


async def test_held_for_the_first_then_offered_to_the_next(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    pere = await _join(app, "pere")
    joan = await _join(app, "joan")
    await _book_and_cancel(app)
    take_pere, text = await _offer(app, channel, "pere")
    assert "Tuesday 1 December at 10:00" in text and "until 8:15" in text
    assert not any("A time has come free" in r.text for r in channel.sent["joan"])
    # Held: nobody else can book it meanwhile.
    maria = person(app, "maria", "Maria", "en")
    await run_dialog(
        maria,
        [
            *FIRST_CONTACT,
            ("[Book an appointment]", []),
            (f"[{IBI}]", []),
            ("[Tue 1 Dec]", ["Free times", "!10:00", "10:30"]),
        ],
    )
    clock.advance(minutes=16)
    await app.scheduler.tick()  # the hold ran out: Joan is next
    take_joan, _ = await _offer(app, channel, "joan")
    # Both tap at once: Pere's hold is over, Joan's is live; one appointment results.
    await asyncio.gather(pere.press_token(take_pere), joan.press_token(take_joan))
    assert "no longer available" in pere.text
    assert "Done! Your appointment is VT-" in joan.text
    assert await _booked_at(app, TUESDAY_10) == 1
    # Joan has left the waiting list by taking it; Pere is still on it.
    await run_dialog(joan, [("/waitlist", ["You are not on any waiting list"])])
    await run_dialog(
        pere,
        [
            ("/waitlist", ["You are on the waiting list for", IBI]),
            (f"[Leave: {IBI}]", [f"You have left the waiting list for {IBI}"]),
            ("/waitlist", ["You are not on any waiting list"]),
        ],
    )


async def test_letting_it_go_passes_it_on_and_a_late_tap_is_answered(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    pere = await _join(app, "pere")
    await _join(app, "joan")
    await _book_and_cancel(app)
    await app.dispatcher.drain()
    offer = next(r for r in channel.sent["pere"] if "A time has come free" in r.text)
    await pere.press_token(offer.choices[1].token)  # "No, thanks"
    assert "still on the waiting list" in pere.text
    take_joan, _ = await _offer(app, channel, "joan")
    await pere.press_token(offer.choices[0].token)  # changed their mind: too late
    assert "no longer available" in pere.text
    assert await _booked_at(app, TUESDAY_10) == 0
    joan = person(app, "joan", "Joan", "en")
    await joan.press_token(take_joan)
    assert "Done!" in joan.text and await _booked_at(app, TUESDAY_10) == 1
