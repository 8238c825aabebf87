"""The staff-led session end to end through the in-memory channel: open, identity,
a missing document requested and sent at once, data, agreement, receipt, end."""

from __future__ import annotations

import io
from datetime import datetime

import jwt
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel, MemoryPerson
from domain.evidence import verify_chain
from storage.models import AppointmentRow, EvidenceRow
from tests.dialog import run_dialog
from tests.session_kit import pending_buttons
from tests.support import JITSI_SECRET, Clock, document_photo, person


async def _booked_citizen(app: App, name: str = "Joan Pujol") -> MemoryPerson:
    citizen = person(app, "joan", name=name, language="en")
    await run_dialog(
        citizen,
        [
            ("/start", ["Hello"]),
            ("[English]", ["Before we start"]),
            ("[I understand]", ["What would you like to do?"]),
            ("[Book an appointment]", ["Which procedure"]),
            ("[Census registration]", ["Which day"]),
            ("[Mon 30 Nov]", ["Free times"]),
            ("[9:00]", ["Shall I book it?", "!email"]),
            ("[Confirm]", ["Your appointment reference is"]),
        ],
    )
    return citizen


async def _deliver(app: App, channel: MemoryChannel, address: str) -> list[str]:
    await app.dispatcher.drain()
    texts = [r.text for r in channel.inbox[address]]
    channel.inbox[address].clear()
    return texts


def _decode(url: str) -> dict[str, object]:
    # The test clock is not the machine's, so the time claims are checked by hand.
    options = {"verify_iat": False, "verify_nbf": False, "verify_exp": False}
    token = url.split("#jwt=")[1]
    return jwt.decode(token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi", options=options)


async def _open(app: App, clock: Clock) -> MemoryPerson:
    clock.advance(minutes=45)  # 8:45, a quarter before
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(
        anna,
        [
            ("/today", ["9:00", "Joan Pujol"]),
            ("[9:00]", ["Open the session"]),
            (
                "[Open the session]",
                [
                    "Session VT-",
                    "Your link to the call (moderator): https://meet.test/vt-",
                    "Recording: ⚠ not being recorded",
                    "!Link (moderator)",
                    "1 Identity: pending",
                    "✘ ID card",
                    "3 Data: 0/6 fields",
                    "4 Agreement: not sent",
                ],
            ),
        ],
    )
    return anna


@pytest.mark.any_hour
async def _session_started_at(app: App) -> datetime:
    async with app.sessions() as session:
        at = await session.scalar(
            select(EvidenceRow.at).where(EvidenceRow.kind == "session_started")
        )
    assert at is not None
    return datetime.fromisoformat(at)


async def test_full_session(app: App, clock: Clock, channel: MemoryChannel) -> None:
    citizen = await _booked_citizen(app)
    anna = await _open(app, clock)
    assert anna.last[-1].panel.startswith("session:VT-")

    # The citizen gets a member link; the clerk a moderator link, both for the same room.
    [ready] = await _deliver(app, channel, "joan")
    citizen_url = next(w for w in ready.split() if w.startswith("https://meet.test/"))
    staff_url = next(w for w in anna.text.split() if w.startswith("https://meet.test/"))
    room = citizen_url.split("/")[3].split("#")[0]
    assert staff_url.split("/")[3].split("#")[0] == room
    claims = _decode(citizen_url)
    assert claims["room"] == room
    assert claims["context"]["user"]["moderator"] == "false"
    staff_claims = _decode(staff_url)
    # Valid from before the call (the test's clock, not the machine's) to after its end.
    assert claims["nbf"] <= clock.now().timestamp() < claims["exp"]
    assert staff_claims["context"]["user"]["moderator"] == "true"

    await run_dialog(
        anna,
        [
            ("[Identity]", ["Which identity document"]),
            ("[DNI]", ["Write the DNI number"]),
            ("12345678A", ["check letter does not match"]),
            ("12.345.678-z", ["****5678Z is valid", "Does the face"]),
            ("maybe", ["I didn't catch that", "Does the face"]),  # asked again, not the number
            ("[Yes, it matches]", ["Identity verified", "1 Identity: ✔ verified (DNI ****5678Z)"]),
            ("[Documents]", ["✘ ID card", "Ask for ID card"]),
            ("[Ask for ID card]", ["I've asked the citizen", "2 Documents:"]),
        ],
    )

    # The citizen is asked in their chat, takes the photo and sends it at once.
    [asked] = await _deliver(app, channel, "joan")
    assert "Please take a photo of your ID card" in asked
    await citizen.send_file("IMG_2041.jpg", document_photo())
    assert "Thank you, I've received it: ID card" in citizen.text
    [told] = await _deliver(app, channel, "staff:anna")
    assert "received ID card" in told

    await run_dialog(
        anna,
        [
            ("[Refresh]", ["✔ ID card"]),
            ("[Documents]", ["See ID card"]),
            ("[See ID card]", ["https://oac.test/files/"]),
            ("[Back]", ["Session VT-"]),
            ("[Send for agreement]", ["These fields are still needed"]),
            ("[Data]", ["Reason for the request", "Moving from another town"]),
            ("[Moving from another town]", ["New address"]),
            ("", ["That message was empty", "New address"]),
            ("Carrer <b>Major</b> & 3, 2n 1a", ["Postcode"]),
            ("0819", ["not a postal code"]),
            ("08191", ["Number of people"]),
            ("ab", ["not a number"]),
            ("2", ["Town or country of origin", "Leave empty"]),
            ("[Leave empty]", ["Contact phone"]),
            ("612 345 678", ["All fields are filled", "+34612345678"]),
            ("[Back to the panel]", ["3 Data: 5/6 fields"]),
            ("[Send for agreement]", ["Summary sent", "4 Agreement: sent, waiting"]),
        ],
    )

    [summary] = await _deliver(app, channel, "joan")
    assert "Carrer <b>Major</b> & 3, 2n 1a" in summary
    assert "Anna Puig" in summary
    await app.dispatcher.drain()
    # The proactive summary came with live buttons: the citizen taps one of them.
    outbox_reply = await pending_buttons(app, "joan")
    await citizen.press_token(outbox_reply["I agree"], "I agree")
    assert "Your agreement has been recorded" in citizen.text
    [agreed] = await _deliver(app, channel, "staff:anna")
    assert "agreed" in agreed

    # The receipt is made after the clerk's turn (its number, PDF and seal), then the
    # clerk is told and the panel redrawn.
    await run_dialog(anna, [("[Receipt]", ["being made", "5 Receipt: being made"])])
    await app.effects.drain()
    told = await _deliver(app, channel, "staff:anna")
    assert "Receipt VT/2026/000001 issued and sent to the citizen." in told
    assert "5 Receipt: VT/2026/000001" in told[-1]
    opened = await _session_started_at(app)
    clock.advance(minutes=17)  # the session runs on; its length is stored when it ends
    await run_dialog(
        anna,
        [
            ("[Receipt]", ["already been issued"]),
            ("[End]", ["End session"]),
            ("[End the session]", ["has ended", "Agenda"]),
        ],
    )
    await app.dispatcher.drain()
    receipt = next(r for r in channel.inbox["joan"] if r.file is not None)
    assert receipt.file is not None and receipt.file.name == "VT-2026-000001.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.file.data)).pages)
    assert "VT/2026/000001" in text
    assert "****5678Z" in text
    assert "Carrer <b>Major</b> & 3, 2n 1a" in text
    assert "12345678Z" not in text  # only the masked number is printed

    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="en"
        )
        [appointment] = await uow.appointments.for_citizen(user.id, active_only=False)
        records = await uow.evidence.records(appointment.id, appointment.reference)
    kinds = [r.kind for r in records]
    assert kinds[0] == "booked"
    for kind in (
        "session_started",
        "identity_validated",
        "document_requested",
        "document_received",
        "data_filled",
        "summary_sent",
        "citizen_agreed",
        "receipt_issued",
        "session_ended",
    ):
        assert kind in kinds, kind
    assert verify_chain(records).ok
    assert appointment.status.value == "completed"
    async with app.sessions() as session:
        stored = await session.scalar(select(AppointmentRow.session_seconds))
    assert stored == round((clock.now() - opened).total_seconds())
    assert stored >= 17 * 60
