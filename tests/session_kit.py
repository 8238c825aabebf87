"""A whole session, quickly, for tests that need one done (evidence, web, demo checks)."""

from __future__ import annotations

from bot.app import App
from bot.channels.memory import MemoryChannel, MemoryPerson
from domain.model import Appointment
from tests.dialog import run_dialog
from tests.support import Clock, document_photo, person


async def book(app: App, citizen: MemoryPerson, time: str = "9:00") -> None:
    await run_dialog(
        citizen,
        [
            ("/start", []),
            ("[English]", []),
            ("[I understand]", []),
            ("[Book an appointment]", []),
            ("[Proof of census registration]", []),
            ("[Mon 30 Nov]", []),
            (f"[{time}]", []),
            ("[Confirm]", ["Your appointment reference is"]),
        ],
    )


async def open_session(app: App, clock: Clock) -> MemoryPerson:
    """Fifty minutes on, Anna opens the 9:00 session from her agenda: the clerk, at the
    panel."""
    clock.advance(minutes=50)
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(
        anna, [("/today", []), ("[9:00]", []), ("[Open the session]", ["Session VT-"])]
    )
    return anna


async def pending_buttons(app: App, address: str) -> dict[str, str]:
    """The live buttons of the last proactive message with buttons delivered to `address`
    (buttons are armed when a notification is delivered, so this delivers what is due)."""
    await app.dispatcher.drain()
    channel = app.channels["memory"]
    assert isinstance(channel, MemoryChannel)
    for reply in reversed(channel.sent[address]):
        if reply.choices:
            return {choice.label: choice.token for choice in reply.choices}
    raise AssertionError("no buttons were sent")


async def full_session(
    app: App, clock: Clock, *, agree: bool = True, citizen_id: str = "joan"
) -> Appointment:
    """Book 'volant' at 9:00 on the test Monday and run the session to its end."""
    citizen, anna = await up_to_the_summary(app, clock, citizen_id=citizen_id)
    buttons = await pending_buttons(app, citizen_id)
    await citizen.press_token(buttons["I agree" if agree else "I do not agree"])
    if agree:
        await run_dialog(anna, [("[Receipt]", ["issued"])])
    await run_dialog(anna, [("[End]", []), ("[End the session]", ["has ended"])])
    await app.dispatcher.drain()
    return await appointment_of(app, citizen_id)


async def appointment_of(app: App, citizen_id: str) -> Appointment:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", citizen_id, address=citizen_id, display_name="", language="en"
        )
        [appointment] = await uow.appointments.for_citizen(user.id, active_only=False)
    return appointment


async def up_to_the_summary(
    app: App, clock: Clock, *, citizen_id: str = "joan"
) -> tuple[MemoryPerson, MemoryPerson]:
    """Book 'volant' at 9:00 and run the session until the summary is sent for agreement:
    (the citizen, the clerk)."""
    citizen = person(app, citizen_id, name="Joan Pujol", language="en")
    await book(app, citizen)
    anna = await open_session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Identity]", []),
            ("[DNI]", []),
            ("12345678Z", []),
            ("[Yes, it matches]", []),
            ("[Documents]", []),
            ("[Ask for ID card]", ["I've asked"]),
        ],
    )
    await app.dispatcher.drain()  # the request reaches the citizen, who now waits for it
    await citizen.send_file("dni.jpg", document_photo())
    assert "received" in citizen.text
    await run_dialog(anna, [("[Data]", ["passport number"])])
    # Answer every field with the first option or a plausible value until all are filled.
    for _ in range(10):
        if "All fields are filled" in anna.text:
            break
        labels = [label for label in anna.labels() if label not in ("Back to the panel",)]
        if "passport number" in anna.text:
            await anna.say("X1111111G")
        elif "Leave empty" in labels:
            await anna.press("Leave empty")
        elif labels:
            await anna.press_nth(0)
        else:
            await anna.say("To apply for a school place")
    await run_dialog(
        anna, [("[Back to the panel]", []), ("[Send for agreement]", ["Summary sent"])]
    )
    return citizen, anna
