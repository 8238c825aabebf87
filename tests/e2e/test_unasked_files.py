"""Files a citizen sends without being asked (issue 13, point 10): the bot keeps the file,
asks which appointment (when there are several) and which document it is, and then
takes the citizen back to the question they were at; the clerk can correct what a
received document is, and the evidence says so.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryPerson
from domain.evidence import EventKind
from handlers.i18n import translate
from storage.models import DocumentRow, EvidenceRow
from tests.dialog import run_dialog
from tests.identity_cards import card_back, phone_photo
from tests.session_kit import appointment_of, book, open_session
from tests.support import MADRID, Clock, book_directly, document_photo, person

ID_CARD = "ID card (DNI), NIE or passport"


async def _documents(app: App) -> list[DocumentRow]:
    async with app.sessions() as session:
        return list((await session.execute(select(DocumentRow))).scalars())


async def _evidence(app: App, kind: str) -> list[dict[str, object]]:
    async with app.sessions() as session:
        rows = (await session.execute(select(EvidenceRow).where(EvidenceRow.kind == kind))).all()
    return [row[0].data for row in rows]


async def _booked(app: App) -> MemoryPerson:
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    return citizen


async def test_a_file_sent_unasked_is_kept_and_the_citizen_says_what_it_is(app: App) -> None:
    citizen = await _booked(app)

    await citizen.send_file("foto.jpg", document_photo())
    assert "Thank you, I have the file" in citizen.text
    assert "Which document is it" in citizen.text
    assert citizen.labels() == [ID_CARD, "Another document", "Cancel"]
    [kept] = await _documents(app)
    assert kept.appointment_id is None  # not anyone's yet, and not in any evidence
    assert await _evidence(app, EventKind.DOCUMENT_RECEIVED) == []

    await run_dialog(citizen, [("[ID card]", [f"I've received it: {ID_CARD}", "!Cancel"])])
    [sorted_] = await _documents(app)
    appointment = await appointment_of(app, "joan")
    assert (sorted_.appointment_id, sorted_.requirement) == (appointment.id, "identitat")
    [received] = await _evidence(app, EventKind.DOCUMENT_RECEIVED)
    assert received["requirement"] == "identitat"
    assert received["document"] == sorted_.id


async def test_with_two_appointments_the_citizen_says_which_one(app: App, clock: Clock) -> None:
    citizen = await _booked(app)
    async with app.uow() as uow:
        joan = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="en"
        )
        tuesday = datetime(2026, 12, 1, 11, 0, tzinfo=MADRID).astimezone(UTC)
        second = await book_directly(
            uow, citizen_id=joan.id, start=tuesday, reference="VT-TWO", procedure="padro_alta"
        )
        await uow.commit()

    await citizen.send_file("contracte.pdf.jpg", document_photo(seed=2))
    assert "Which appointment is it for?" in citizen.text
    assert any("Tue 1 Dec" in label for label in citizen.labels())
    await citizen.press_nth(1)  # the second: Tuesday's
    assert "Which document is it, for the appointment Tue 1 Dec" in citizen.text
    await run_dialog(citizen, [("[Another document]", ["I've received it: Other document"])])
    [stored] = await _documents(app)
    assert (stored.appointment_id, stored.requirement) == (second.id, "")


async def test_after_saying_what_it_is_the_citizen_is_back_where_they_were(app: App) -> None:
    citizen = await _booked(app)
    await run_dialog(
        citizen,
        [("/menu", []), ("[Book an appointment]", []), ("[Certificate of cohabitation]", [])],
    )
    question = citizen.text
    assert "Which day suits you?" in question

    await citizen.send_file("foto.jpg", document_photo())
    await run_dialog(
        citizen,
        [("[Another document]", ["I've received it: Other document", "Which day suits you?"])],
    )
    assert "Mon 30 Nov" in " ".join(citizen.labels())  # the day buttons work again
    await run_dialog(citizen, [("[Mon 30 Nov]", ["Free times on Mon 30 Nov"])])


async def test_a_stale_answer_about_a_file_already_sorted_is_refused(app: App) -> None:
    citizen = await _booked(app)
    await citizen.send_file("foto.jpg", document_photo())
    stale = citizen.choice_token("Another document")
    await run_dialog(citizen, [("[ID card]", ["I've received it"])])

    await citizen.press_token(stale, "Another document")
    assert "received" not in citizen.text
    [stored] = await _documents(app)
    assert stored.requirement == "identitat"
    assert len(await _evidence(app, EventKind.DOCUMENT_RECEIVED)) == 1


async def test_the_clerk_says_what_a_received_document_is(app: App, clock: Clock) -> None:
    citizen = await _booked(app)
    await citizen.send_file("foto.jpg", document_photo())
    await run_dialog(citizen, [("[Another document]", ["I've received it: Other document"])])
    anna = await open_session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Documents]", [f"✘ {ID_CARD}", "+ foto.jpg"]),
            ("[Say what a document is]", ["Which document do you want to correct?"]),
            ("[foto.jpg]", ["What is foto.jpg?"]),
            ("[ID card]", [f"Done: foto.jpg is now recorded as {ID_CARD}", f"✔ {ID_CARD}"]),
        ],
    )
    [stored] = await _documents(app)
    assert stored.requirement == "identitat"
    [changed] = await _evidence(app, EventKind.DOCUMENT_CLASSIFIED)
    assert changed == {"document": stored.id, "was": "", "now": "identitat"}


async def test_files_never_sorted_are_purged_after_a_week(app: App, clock: Clock) -> None:
    from bot.retention import purge

    citizen = await _booked(app)
    await citizen.send_file("foto.jpg", document_photo())  # kept, never said what it is
    await citizen.send_file("altre.jpg", document_photo(seed=3))
    # The second is answered; then the bot is back at its question about the first.
    await run_dialog(citizen, [("[Another document]", ["I've received it", "Which document"])])
    assert len(await _documents(app)) == 2

    six_days = await purge(app.sessions, clock.now() + timedelta(days=6), dry_run=False)
    assert six_days["unsorted documents"] == 0
    report = await purge(app.sessions, clock.now() + timedelta(days=8), dry_run=False)
    assert report["unsorted documents"] == 1
    [left] = await _documents(app)
    assert left.appointment_id is not None


async def test_a_photo_said_later_to_be_the_id_card_has_its_zone_read_holding_nobody(
    app: App,
) -> None:
    """The zone of a kept photo is read when the citizen says it is their identity
    document, in the sandbox's workers and outside any unit of work: with the workers
    paused (SIGSTOP), Maria still gets her answer before Joan's; then the reading is kept
    for the clerk as ever. Order, not timing."""
    citizen = await _booked(app)
    await citizen.send_file("foto.jpg", phone_photo(card_back()))
    assert "Which document is it" in citizen.text
    assert app.sandbox is not None
    paused = app.sandbox.pids()
    assert paused
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        saying = asyncio.create_task(citizen.press("ID card"))
        await asyncio.sleep(0)  # Joan's turn starts and waits for the zone
        maria = person(app, "maria", name="Maria Soler", language="en")
        answered = await maria.say("hello")
        order = ["maria"] + (["joan"] if saying.done() else [])
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    await saying

    assert order == ["maria"]
    assert answered and translate("en", "error.internal") not in maria.text
    assert f"I've received it: {ID_CARD}" in citizen.text
    [received] = await _evidence(app, EventKind.DOCUMENT_RECEIVED)
    assert received["mrz"] == "read"
    mrz = (await appointment_of(app, "joan")).details["mrz"]
    assert (mrz["status"], mrz["masked"]) == ("read", "****5678Z")
