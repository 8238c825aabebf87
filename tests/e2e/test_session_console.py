"""The clerk runs a whole session from the terminal channel (numbers and typed labels),
the citizen answers from their chat, including a document photographed mid-session."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import ConsoleSession
from tests.session_kit import book, pending_buttons
from tests.support import Clock, document_photo, person


async def test_session_from_the_terminal(app: App, clock: Clock) -> None:
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    clock.advance(minutes=50)
    screen: list[str] = []
    clerk = ConsoleSession(
        app.engine,
        external_id="staff:anna",
        display_name="Anna Puig",
        language="en",
        out=screen.append,
    )

    async def type_(line: str, *expected: str) -> None:
        screen.clear()
        await clerk.send(line)
        shown = "\n".join(screen)
        for text in expected:
            assert text in shown, f"{line!r}: {text!r} not in\n{shown}"

    await type_("/today", "9:00 VT-", "  1. 9:00 VT-")
    await type_("1", "Open the session")
    await type_("Open the session", "Session VT-", "  1. Identity")
    await type_("1", "Which identity document")  # the number of the Identity button
    await type_("NIE", "Write the NIE number")
    await type_("X1111111G", "Does the face")
    await type_("Yes, it matches", "Identity verified", "NIE ****1111G")
    await type_("Documents", "Ask for ID card")
    await type_("Ask for ID card", "I've asked the citizen")
    await app.dispatcher.drain()
    await citizen.send_file("photo.jpg", document_photo())
    await type_("Refresh", "✔ ID card")
    await type_("Data", "passport number")
    await type_("X1111111G", "Type of proof")
    await type_("1", "past addresses")
    await type_("no", "Purpose")
    await type_("For the school", "All fields are filled")
    await type_("Back to the panel", "3 Data: 4/4 fields")
    await type_("Send for agreement", "Summary sent")
    buttons = await pending_buttons(app, "joan")
    await citizen.press_token(buttons["I agree"])
    await type_("Receipt", "Receipt VT/2026/000001 issued")
    await type_("End", "End session")
    await type_("End the session", "has ended")
    await type_("/file /nonexistent/photo.jpg", "I could not receive that file")


async def test_a_file_the_terminal_cannot_read_is_said_in_the_persons_language(
    app: App,
) -> None:
    screen: list[str] = []
    citizen = ConsoleSession(
        app.engine, external_id="rosa", display_name="Rosa", language="ca", out=screen.append
    )
    await citizen.send("/file /nonexistent/foto.jpg")
    assert "No he pogut rebre aquest fitxer" in "\n".join(screen)
    assert "Cannot read" not in "\n".join(screen)
