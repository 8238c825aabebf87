"""Fair use (issue 10, part 6): one citizen cannot book the whole office, nor flood it.

A citizen holds at most 2 active appointments per procedure and 4 in all (the defaults);
the one over the cap is refused with a polite message and nothing is booked. A person
sending faster than anyone types is told once to slow down, then ignored until the
allowance (on the service's clock) comes back.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from handlers.i18n import translate
from storage.models import AppointmentRow
from tests.dialog import Row, run_dialog
from tests.session_kit import book
from tests.support import Clock, person


def booking(procedure: str, time: str, *, again: bool = False) -> list[Row]:
    rows: list[Row] = [("/book", []), (f"[{procedure}]", [])]
    if again:
        rows.append(("[Book another one]", []))
    return rows + [
        ("[Mon 30 Nov]", []),
        (f"[{time}]", []),
        ("[Confirm]", ["Your appointment reference is"]),
    ]


async def booked(app: App) -> int:
    async with app.sessions() as session:
        return int((await session.execute(select(func.count(AppointmentRow.id)))).scalar_one())


async def test_the_third_of_a_procedure_and_the_fifth_in_all_are_refused(
    app: App, clock: Clock
) -> None:
    joan = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, joan, "9:00")  # Proof of census registration
    await run_dialog(joan, booking("Proof of census registration", "10:00", again=True))
    assert await booked(app) == 2

    await run_dialog(
        joan, [("/book", []), ("[Proof of census registration]", []), ("[Book another one]", [])]
    )
    assert joan.last[0].text == translate(
        "en", "book.limit_procedure", count=2, procedure="Proof of census registration (volant)"
    )
    assert await booked(app) == 2

    await run_dialog(joan, booking("Information and advice", "11:00"))
    await run_dialog(joan, booking("Information and advice", "12:00", again=True))
    assert await booked(app) == 4

    await run_dialog(joan, [("/book", []), ("[Certificate of cohabitation]", [])])
    assert joan.last[0].text == translate("en", "book.limit_total", count=4)
    assert "What would you like to do?" in joan.text or joan.labels()  # back at the menu
    assert await booked(app) == 4


async def test_a_flood_is_told_to_slow_down_once_then_ignored_until_it_refills(
    app: App, clock: Clock
) -> None:
    flood = person(app, "bot-like", name="Flood", language="en")
    for _ in range(30):  # the allowance in a quick row
        assert translate("en", "error.slow_down") not in "\n".join(
            r.text for r in await flood.say("hello")
        )
    assert [r.text for r in await flood.say("hello")] == [translate("en", "error.slow_down")]
    assert await flood.say("hello") == []  # not even answered: no database touched
    other = person(app, "maria", name="Maria", language="en")
    assert await other.say("hello")  # another person is not slowed down
    clock.advance(seconds=5)
    assert translate("en", "error.slow_down") not in "\n".join(
        r.text for r in await flood.say("hello")
    )
