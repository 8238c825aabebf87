"""Bad input gets a clear answer in the person's language and leaves nothing half-stored."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from bot.channels.memory import MemoryPerson
from tests.dialog import run_dialog
from tests.support import Clock, person


async def _ready_citizen(app: App, name: str, language: str = "en") -> MemoryPerson:
    citizen = person(app, name, language=language)
    await citizen.command("start")
    await citizen.press({"en": "English", "ca": "Català", "es": "Castellano"}[language])
    await citizen.press_nth(0)  # accept the privacy notice
    return citizen


async def _count_appointments(app: App) -> int:
    now = app.clock.now()
    async with app.uow() as uow:
        return len(
            await uow.appointments.for_staff(
                None, now - timedelta(days=2), now + timedelta(days=60)
            )
        )


async def test_free_text_where_a_choice_is_due_reasks(app: App) -> None:
    citizen = await _ready_citizen(app, "t1")
    await run_dialog(
        citizen,
        [
            ("[Book an appointment]", ["Which procedure"]),
            ("the one about my flat please", ["I didn't catch that", "Which procedure"]),
            ("99", ["I didn't catch that"]),
        ],
    )


async def test_stale_and_forged_buttons(app: App) -> None:
    citizen = await _ready_citizen(app, "t2")
    await citizen.press("Book")
    old = citizen.choice_token("Census registration")
    await citizen.press("Census registration")
    await citizen.press_token(old)  # a button from an earlier message
    assert "no longer works" in citizen.text
    assert "Which day" in citizen.text  # and we are shown where we are
    await citizen.press_token("zzzzzzzzzz")  # a token nobody issued
    assert "no longer works" in citizen.text
    other = await _ready_citizen(app, "t3")
    await other.press("Book")
    stolen = other.choice_token("Census registration")
    await citizen.press_token(stolen)  # someone else's live button
    assert "no longer works" in citizen.text


async def test_slot_taken_in_the_meantime_offers_other_times(app: App) -> None:
    first = await _ready_citizen(app, "t4")
    second = await _ready_citizen(app, "t5")
    for citizen in (first, second):
        await citizen.press("Book")
        await citizen.press("Proof of census registration")  # one clerk only
        await citizen.press_nth(0)
        await citizen.press("9:00")
    await first.press("Confirm")
    assert "Your appointment reference is" in first.text
    await second.press("Confirm")
    assert "no longer available" in second.text
    assert "9:00" not in second.labels()
    assert "9:30" in second.labels()
    assert await _count_appointments(app) == 1


async def test_a_time_that_passed_while_deciding(app: App, clock: Clock) -> None:
    citizen = await _ready_citizen(app, "t6")
    await citizen.press("Book")
    await citizen.press("Information and advice")
    await citizen.press_nth(0)
    await citizen.press("9:00")
    clock.advance(hours=2)  # 10:00: 9:00 is in the past now
    await citizen.press("Confirm")
    assert "no longer available" in citizen.text
    assert "9:00" not in citizen.labels()
    assert await _count_appointments(app) == 0


async def test_unknown_command(app: App) -> None:
    citizen = await _ready_citizen(app, "t7", "ca")
    await citizen.command("fesmeunpastis")
    assert "No conec l'ordre /fesmeunpastis" in citizen.text
    assert "Aquí pots fer servir: /start, /book, /my, /language, /help, /menu, /cancel" in (
        citizen.text
    )


async def test_an_unknown_command_lists_what_staff_and_admins_can_use(app: App) -> None:
    clerk = person(app, "staff:anna", "Anna", "en")
    await clerk.command("xyzzy")
    assert "Here you can use: /start, /today, /language, /help, /menu, /cancel" in clerk.text
    admin = person(app, "staff:laia", "Laia", "en")
    await admin.command("xyzzy")
    assert "/today, /stats, /language" in admin.text


async def test_very_long_text_and_control_characters(app: App) -> None:
    citizen = await _ready_citizen(app, "t8")
    await citizen.press("Book")
    await citizen.say("x" * 10_000)
    assert "too long: I can read up to 2000 characters" in citizen.text
    assert "Which procedure" in citizen.text  # the same question again
    await citizen.say("x" * 2000)
    assert "I didn't catch that" in citizen.text


async def test_names_with_control_and_right_to_left_characters(app: App) -> None:
    name = "Fa\u202eti\u0000ma\u0007 \u0627\u0644\u0632\u0647\u0631\u0627\u0621 <b>&amp;"
    citizen = person(app, "t9", name=name, language="en")
    await citizen.command("start")
    await citizen.press("English")
    await citizen.press("I understand")
    await citizen.press("Book")
    await citizen.press("Information")
    await citizen.press_nth(0)
    await citizen.press("9:00")
    await citizen.press("Confirm")
    now = app.clock.now()
    async with app.uow() as uow:
        [appointment] = await uow.appointments.for_staff(None, now, now + timedelta(days=30))
    # Bidi overrides and control characters are dropped; Arabic letters and markup are kept
    # as text (channels escape markup when they render it).
    assert appointment.citizen_name == "Fatima \u0627\u0644\u0632\u0647\u0631\u0627\u0621 <b>&amp;"


async def test_files_when_none_is_expected(app: App) -> None:
    citizen = await _ready_citizen(app, "t10")
    await citizen.send_file("dni.jpg", b"\xff\xd8\xff" + b"0" * 100)
    assert "wasn't expecting a file" in citizen.text


async def test_a_failing_step_leaves_nothing_half_stored(app: App, monkeypatch) -> None:
    citizen = await _ready_citizen(app, "t11")
    await citizen.press("Book")
    await citizen.press("Information")
    await citizen.press_nth(0)
    await citizen.press("9:00")

    import handlers.notify

    async def broken(*_args: object) -> None:
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(handlers.notify, "staff_of_booking", broken)
    confirm = citizen.choice_token("Confirm")
    await citizen.press_token(confirm)
    assert "Nothing has been saved" in citizen.text
    assert "Traceback" not in citizen.text
    assert await _count_appointments(app) == 0
    monkeypatch.undo()
    await citizen.press_token(confirm)  # the same button still works: the state was not changed
    assert "Your appointment reference is" in citizen.text
    assert await _count_appointments(app) == 1
