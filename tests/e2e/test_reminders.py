"""Reminders, with the test clock moved: they go at the configured offsets before the
appointment, in the language of that moment, are moved on reschedule and dropped on
cancel, never go for a moment already past, and answer with one tap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel
from handlers import notify
from storage.models import OutboxRow
from tests.dialog import run_dialog
from tests.support import MADRID, Clock, book_directly, office_settings, person, ready_app

BOOK_TUESDAY_10 = [
    ("/start", []),
    ("[English]", []),
    ("[I understand]", []),
    ("[Book an appointment]", []),
    ("[Census registration]", ["Which day"]),
    ("[Tue 1 Dec]", ["Free times"]),
    ("[10:00]", ["Shall I book it?"]),
    ("[Confirm]", ["Your appointment reference is"]),
]


async def _inbox(app: App, channel: MemoryChannel, address: str) -> list[str]:
    await app.dispatcher.drain()
    texts = [reply.text for reply in channel.inbox[address]]
    channel.inbox[address].clear()
    return texts


def _at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


async def test_reminders_go_at_their_offsets_and_the_answer_shows_on_the_agenda(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, BOOK_TUESDAY_10)
    assert await _inbox(app, channel, "joan") == []
    clock.set(_at(30, 9, 59, month=11))  # Monday, one minute before 24 h ahead
    assert await _inbox(app, channel, "joan") == []
    clock.set(_at(30, 10, 0, month=11))
    [full] = await _inbox(app, channel, "joan")
    assert "Tuesday 1 December at 10:00" in full
    assert "Have these documents ready" in full and "ID card" in full  # still missing
    [reply] = channel.sent["joan"][-1:]
    assert [c.label for c in reply.choices] == ["I'll be there", "Change the time", "Cancel"]
    # Answered later, after the conversation went elsewhere: the button still works.
    await run_dialog(joan, [("/my", ["Your appointments"])])
    await joan.press_token(reply.choices[0].token)
    assert "We expect you" in joan.text
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(anna, [("/today", []), ("[Next day ›]", ["10:00", "✔ confirmed"])])
    clock.set(_at(1, 8, 59))
    assert await _inbox(app, channel, "joan") == []
    clock.set(_at(1, 9, 0))  # 1 h before: a short one, without buttons
    [short] = await _inbox(app, channel, "joan")
    assert short.startswith("Reminder:") and "Have these documents" not in short
    assert channel.sent["joan"][-1].choices == ()


async def test_in_the_language_switched_to_after_booking(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, [*BOOK_TUESDAY_10, ("/language", []), ("[Català]", ["Fet"])])
    clock.set(_at(30, 10, 0, month=11))
    [full] = await _inbox(app, channel, "joan")
    assert "Recordatori" in full and "dimarts 1 de desembre a les 10:00" in full
    assert [c.label for c in channel.sent["joan"][-1].choices][0] == "Hi seré"


async def test_moved_on_reschedule_and_an_old_button_says_it_is_out_of_date(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, BOOK_TUESDAY_10)
    clock.set(_at(30, 10, 0, month=11))
    await _inbox(app, channel, "joan")
    old = channel.sent["joan"][-1]
    await joan.press_token(old.choices[1].token)  # "Change the time" goes to the day
    await run_dialog(
        joan,
        [
            ("[Wed 2 Dec]", ["Free times"]),
            ("[11:00]", ["Wednesday 2 December at 11:00"]),
            ("[Confirm]", ["is now Wednesday 2 December at 11:00"]),
        ],
    )
    clock.set(_at(1, 9, 0))  # the old 1 h reminder's moment: nothing goes
    assert await _inbox(app, channel, "joan") == []
    await joan.press_token(old.choices[0].token)
    assert "out of date" in joan.text and "Wednesday 2 December at 11:00" in joan.text
    clock.set(_at(1, 11, 0))  # 24 h before the new time
    [full] = await _inbox(app, channel, "joan")
    assert "Wednesday 2 December at 11:00" in full
    async with app.sessions() as session:
        rows = await session.execute(select(OutboxRow).where(OutboxRow.kind == "reminder"))
        withdrawn = [r for r in rows.scalars() if r.last_error == "withdrawn"]
    assert len(withdrawn) == 1  # the old 1 h one (the 24 h one had been delivered)


async def test_dropped_on_cancel(app: App, channel: MemoryChannel, clock: Clock) -> None:
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(
        joan,
        [
            *BOOK_TUESDAY_10,
            ("/my", []),
            ("#1", ["Appointment VT-"]),
            ("[Cancel the appointment]", []),
            ("[Yes, cancel it]", ["is cancelled"]),
        ],
    )
    for moment in (_at(30, 10, 0, month=11), _at(1, 9, 0), _at(1, 11, 0)):
        clock.set(moment)
        assert await _inbox(app, channel, "joan") == []


async def test_a_booking_less_than_an_hour_ahead_gets_no_reminder(
    tmp_path: Path, clock: Clock
) -> None:
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        schedule={"min_notice_hours": 0, "horizon_days": 14},
    )
    app, channel = await ready_app(settings, clock)
    try:
        clock.set(_at(30, 8, 30, month=11))
        rosa = person(app, "rosa", "Rosa", "en")
        await run_dialog(
            rosa,
            [
                ("/start", []),
                ("[English]", []),
                ("[I understand]", []),
                ("[Book an appointment]", []),
                ("[Information and advice]", []),
                ("[Mon 30 Nov]", ["Free times"]),
                ("[9:00]", []),
                ("[Confirm]", ["Your appointment reference is"]),
            ],
        )
        async with app.sessions() as session:
            kinds = [r.kind for r in (await session.execute(select(OutboxRow))).scalars()]
        assert "reminder" not in kinds
        clock.set(_at(30, 9, 0, month=11))
        assert await _inbox(app, channel, "rosa") == []
    finally:
        await app.close()


async def test_across_the_autumn_clock_change_an_offset_is_real_hours(
    tmp_path: Path,
) -> None:
    """Offsets are elapsed time: 72 h before Monday 26 October 2026 at 9:00 (CET) is
    Friday 23 October at 10:00 (CEST), an hour "later" on the wall clock."""
    clock = Clock(datetime(2026, 10, 21, 12, 0, tzinfo=MADRID).astimezone(UTC))
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        schedule={"min_notice_hours": 1, "horizon_days": 14, "reminders": ["72h", "1h"]},
    )
    app, channel = await ready_app(settings, clock)
    try:
        start = datetime(2026, 10, 26, 9, 0, tzinfo=MADRID)
        assert start.utcoffset() == timedelta(hours=1)
        await _booked(app, start)
        friday = datetime(2026, 10, 23, 10, 0, tzinfo=MADRID)
        assert friday.utcoffset() == timedelta(hours=2)
        clock.set(friday - timedelta(seconds=1))
        assert await _inbox(app, channel, "pere") == []
        clock.set(friday)
        [full] = await _inbox(app, channel, "pere")
        assert "dilluns 26 d’octubre a les 9:00" in full
        clock.set(datetime(2026, 10, 26, 7, 59, tzinfo=MADRID))
        assert await _inbox(app, channel, "pere") == []
        clock.set(datetime(2026, 10, 26, 8, 0, tzinfo=MADRID))
        [short] = await _inbox(app, channel, "pere")
        assert "a les 9:00" in short
    finally:
        await app.close()


async def test_across_the_spring_clock_change(tmp_path: Path) -> None:
    """Sunday 28 March 2027 loses an hour: 72 h before Tuesday 30 March at 9:00 (CEST)
    is Saturday 27 March at 8:00 (CET), an hour "earlier" on the wall clock."""
    clock = Clock(datetime(2027, 3, 25, 12, 0, tzinfo=MADRID).astimezone(UTC))
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        schedule={"min_notice_hours": 1, "horizon_days": 14, "reminders": ["72h"]},
    )
    app, channel = await ready_app(settings, clock)
    try:
        start = datetime(2027, 3, 30, 9, 0, tzinfo=MADRID)
        await _booked(app, start)
        due = datetime(2027, 3, 27, 8, 0, tzinfo=MADRID)
        assert due.astimezone(UTC) == start.astimezone(UTC) - timedelta(hours=72)
        clock.set(due - timedelta(seconds=1))
        assert await _inbox(app, channel, "pere") == []
        clock.set(due)
        [full] = await _inbox(app, channel, "pere")
        assert "dimarts 30 de març a les 9:00" in full
    finally:
        await app.close()


async def _booked(app: App, start: datetime) -> None:
    """An appointment written through the repository, its reminders planned as booking
    plans them."""
    async with app.uow() as uow:
        pere = await uow.users.get_or_create(
            "memory", "pere", address="pere", display_name="Pere", language="ca"
        )
        booked = await book_directly(
            uow, citizen_id=pere.id, start=start.astimezone(UTC), reference="VT-DST1"
        )
        await notify.plan_reminders(uow, app.office, booked, pere, app.clock.now())
        await uow.commit()
