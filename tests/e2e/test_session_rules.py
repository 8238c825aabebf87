"""Who may do what in a session, a citizen who does not agree, and Jibri."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.memory import MemoryChannel
from domain.model import ConversationState
from tests.dialog import run_dialog
from tests.fakes.jibri_api import FakeJibriApi
from tests.session_kit import book, full_session, open_session
from tests.support import Clock, office_settings, person, ready_app


async def test_a_citizen_who_does_not_agree_gets_no_receipt(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock, agree=False)
    async with app.uow() as uow:
        records = await uow.evidence.records(appointment.id, appointment.reference)
        assert await uow.receipts.for_appointment(appointment.id) is None
    kinds = [r.kind for r in records]
    assert "citizen_declined" in kinds
    assert "citizen_agreed" not in kinds and "receipt_issued" not in kinds
    assert appointment.details["agreement"]["status"] == "declined"


async def test_the_receipt_needs_the_agreement(app: App, clock: Clock) -> None:
    citizen = person(app, "rosa", language="en")
    await book(app, citizen)
    anna = await open_session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Receipt]", ["has to agree with the summary first", "5 Receipt: —"]),
            ("[Send for agreement]", ["Verify the citizen's identity first"]),
        ],
    )


async def test_another_clerk_cannot_act_on_the_session(app: App, clock: Clock) -> None:
    citizen = person(app, "rosa", language="en")
    await book(app, citizen)  # 'volant' is served by Anna only
    clock.advance(minutes=50)
    marc = person(app, "staff:marc", "Marc Soler", "en")
    await run_dialog(marc, [("/today", ["no appointments", "!Rosa"])])
    async with app.uow() as uow:
        [appointment] = await uow.appointments.for_staff(
            "anna", clock.now(), clock.now() + timedelta(hours=3)
        )
        marc_user = await uow.users.get_or_create(
            "memory", "staff:marc", address="staff:marc", display_name="", language="en"
        )
        # A state pointing at Anna's session, as a forged or stale client could produce.
        await uow.conversations.save(
            marc_user.id,
            ConversationState(
                flow="session",
                step="panel",
                data={"id": appointment.id, "_options": [["identity", "Identity"]]},
            ),
        )
        await uow.commit()
    await run_dialog(marc, [("Identity", ["not assigned to you", "!Which identity document"])])
    async with app.uow() as uow:
        current = await uow.appointments.get(appointment.id)
    assert current is not None and current.status.value == "booked"


@pytest.mark.any_hour
async def test_a_citizen_never_gets_a_moderator_link(app: App, clock: Clock) -> None:
    citizen = person(app, "rosa", language="en")
    await book(app, citizen)
    await run_dialog(
        citizen,
        [
            ("/today", ["only for the office staff"]),
            ("/stats", ["only for administrators"]),
        ],
    )
    clock.advance(minutes=50)
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(anna, [("/today", []), ("[9:00]", []), ("[Open the session]", ["Session"])])
    channel = app.channels["memory"]
    assert isinstance(channel, MemoryChannel)
    await app.dispatcher.drain()
    [ready] = channel.inbox["rosa"]
    assert "moderator" not in ready.text.lower()
    import jwt

    token = ready.text.split("#jwt=")[1].split()[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["context"]["user"]["moderator"] == "false"
    assert claims["context"]["user"]["affiliation"] == "member"


async def _jibri_app(tmp_path: Path, jibri: FakeJibriApi, clock: Clock) -> App:
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        jibri={
            "api_url": jibri.url,
            "auto_start": True,
            "xmpp_domain": "recorder.meet.test",
            "recorder_user": "recorder",
            "recorder_password": "pw",
        },
    )
    app, _ = await ready_app(settings, clock)
    return app


async def test_recording_starts_with_the_session(tmp_path: Path, clock: Clock) -> None:
    async with FakeJibriApi() as jibri:
        app = await _jibri_app(tmp_path, jibri, clock)
        try:
            await book(app, person(app, "rosa", language="en"))
            clock.advance(minutes=50)
            anna = person(app, "staff:anna", "Anna Puig", "en")
            await run_dialog(
                anna,
                [
                    ("/today", []),
                    ("[9:00]", []),
                    ("[Open the session]", ["Recording: in progress"]),
                ],
            )
            assert jibri.busy and jibri.last_start is not None
            call = jibri.last_start["callParams"]["callUrlInfo"]
            assert call["baseUrl"] == "https://meet.test" and call["callName"].startswith("vt-")
            await run_dialog(anna, [("[End]", []), ("[End the session]", ["has ended"])])
            assert not jibri.busy  # stopService was called
        finally:
            await app.close()


async def _open_with_recorder(
    tmp_path: Path, clock: Clock, jibri: FakeJibriApi, expected: list[str]
) -> None:
    app = await _jibri_app(tmp_path, jibri, clock)
    try:
        await book(app, person(app, "rosa", language="en"))
        clock.advance(minutes=50)
        anna = person(app, "staff:anna", "Anna Puig", "en")
        await run_dialog(anna, [("/today", []), ("[9:00]", []), ("[Open the session]", expected)])
    finally:
        await app.close()


async def test_a_busy_recorder_is_reported_to_staff(tmp_path: Path, clock: Clock) -> None:
    async with FakeJibriApi() as jibri:
        jibri.busy = True
        await _open_with_recorder(
            tmp_path, clock, jibri, ["the recorder is busy", "Recording: failed"]
        )


async def test_an_unreachable_recorder_does_not_stop_the_session(
    tmp_path: Path, clock: Clock
) -> None:
    async with FakeJibriApi() as jibri:
        url = jibri.url
    gone = FakeJibriApi()
    gone.url = url  # nothing listens there any more
    await _open_with_recorder(
        tmp_path, clock, gone, ["the recorder does not answer", "1 Identity: pending"]
    )


async def test_receipts_are_sealed_when_the_council_has_a_certificate(
    tmp_path: Path, clock: Clock
) -> None:
    from tests.certs import claimed_times, make_council_p12, validate

    seal = tmp_path / "seal.p12"
    cert = make_council_p12(seal, b"seal-pass", moment=clock.now())
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        council={"signing_certificate": str(seal), "signing_passphrase": "seal-pass"},
    )
    app, _ = await ready_app(settings, clock)
    try:
        appointment = await full_session(app, clock)
        async with app.uow() as uow:
            receipt = await uow.receipts.for_appointment(appointment.id)
        assert receipt is not None
        signed = await app.services.documents.read(receipt.sha256)
    finally:
        await app.close()
    import asyncio

    # pyHanko runs its own loop; validated at the receipt's time, as the test clock has it.
    status = await asyncio.to_thread(validate, signed, cert, moment=receipt.registered_at)
    assert status.intact and status.valid and status.trusted
    # The seal is dated the registered time (to the second, as PDF dates go), not the
    # machine's time: the two differ here, as the test clock is not the wall clock.
    sealed_at = receipt.registered_at.replace(microsecond=0)
    assert claimed_times(signed)["M"] == sealed_at
    assert claimed_times(signed)["ModDate"] == sealed_at
