"""The identity photo's machine-readable zone, read during the session: what the clerk
is told, what the citizen is told, the form pre-filled, and what the evidence keeps.

Real photos (synthesised fictional documents in OCR-B), the real Tesseract binary."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest

from bot.app import App
from bot.channels.memory import MemoryChannel, MemoryPerson
from handlers.i18n import translate
from tests.dialog import run_dialog
from tests.identity_cards import Td1, card_back, card_front, not_a_document, phone_photo
from tests.session_kit import book
from tests.support import Clock, person


async def _session(app: App, clock: Clock) -> tuple[MemoryPerson, MemoryPerson]:
    """Joan books the 'volant' (its form has an ID-number field); Anna opens the session."""
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    clock.advance(minutes=45)
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(
        anna, [("/today", []), ("[9:00]", []), ("[Open the session]", ["1 Identity: pending"])]
    )
    return citizen, anna


async def _send_identity_photo(
    app: App, channel: MemoryChannel, anna: MemoryPerson, citizen: MemoryPerson, photo: bytes
) -> str:
    """The clerk asks for the photo from the identity step; the citizen sends it.
    Returns what the citizen was told."""
    await run_dialog(
        anna,
        [
            ("[Identity]", ["Which identity document", "Ask for a photo of the document"]),
            ("[Ask for a photo of the document]", ["I've asked the citizen for a photo"]),
        ],
    )
    assert any(
        "the side with three lines of letters and <<<" in text
        for text in await _queued(app, "joan")
    )
    await citizen.send_file("IMG_3001.jpg", photo)
    return citizen.text


async def _queued(app: App, address: str) -> list[str]:
    """Texts delivered to `address` (notifications are written when delivered)."""
    from tests.support import delivered_texts

    return await delivered_texts(app, address)


async def _records(app: App) -> list[Any]:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="en"
        )
        [appointment] = await uow.appointments.for_citizen(user.id, active_only=False)
        return await uow.evidence.records(appointment.id, appointment.reference)


async def _details(app: App) -> dict[str, Any]:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="", language="en"
        )
        [appointment] = await uow.appointments.for_citizen(user.id, active_only=False)
        return appointment.details


async def test_a_read_dni_is_shown_used_checked_and_kept_only_as_verdicts(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    told = await _send_identity_photo(app, channel, anna, citizen, phone_photo(card_back()))
    assert "Thank you, I've received it" in told
    assert "I've kept the photo, but" not in told  # nothing to retake
    await run_dialog(
        anna,
        [
            (
                "[Refresh]",
                [
                    "1 Identity: pending · photo read: DNI · ****5678Z · "
                    "valid until 05/2031 · check digits ✔"
                ],
            ),
            (
                "[Identity]",
                [
                    "Read from the photo: DNI · ****5678Z · valid until 05/2031 · check digits ✔",
                    "Use ****5678Z (read)",
                ],
            ),
            ("[Use ****5678Z (read)]", ["Does the face on camera match"]),
            (
                "[Yes, it matches]",
                ["Identity verified", "✔ verified (DNI ****5678Z) · document zone checked ✔"],
            ),
        ],
    )
    details = await _details(app)
    # The form's ID field was filled from the zone.
    assert details["form"]["document_identitat"] == "12345678Z"
    records = await _records(app)
    [validated] = [r for r in records if r.kind == "identity_validated"]
    [photo] = [r for r in records if r.kind == "document_received"]
    assert validated.data["path"] == "mrz" and validated.data["source"] == "mrz"
    verdicts = validated.data["mrz"]
    assert verdicts["check_digits"] == "pass" and verdicts["layout"] == "pass"
    assert verdicts["id_letter"] == "pass" and verdicts["expired"] is False
    assert verdicts["matches_typed"] is True
    assert verdicts["document_sha256"] == photo.data["sha256"]
    assert validated.data["fingerprint"].startswith("hmac-sha256:")
    assert verdicts["number_fingerprint"] == validated.data["fingerprint"]
    [filled] = [r for r in records if r.kind == "data_filled"]
    assert filled.data["source"] == "mrz" and filled.data["fingerprint"].startswith("hmac-")
    # Never the raw zone, the birth date or the number itself in the evidence.
    chain = json.dumps([r.data for r in records])
    for secret in (*Td1().lines(), "850314", "12345678Z", "BXA184732", "MUNOZ"):
        assert secret not in chain
    assert "850314" not in json.dumps(details) and "MUNOZ" not in json.dumps(details)


async def test_a_typed_number_that_differs_is_warned_and_validated_by_sight(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    await _send_identity_photo(app, channel, anna, citizen, phone_photo(card_back(), angle=-3))
    await run_dialog(
        anna,
        [
            ("[Identity]", ["Read from the photo: DNI · ****5678Z"]),
            ("[DNI]", ["Write the DNI number"]),
            (
                "87654321X",
                [
                    "The number typed is not the one in the document's zone (****5678Z)",
                    "Does the face on camera match",
                ],
            ),
            ("[Yes, it matches]", ["✔ verified (DNI ****4321X) · checked by sight"]),
        ],
    )
    [validated] = [r for r in await _records(app) if r.kind == "identity_validated"]
    assert validated.data["path"] == "sight" and validated.data["source"] == "typed"
    assert validated.data["mrz"]["matches_typed"] is False


async def test_the_same_number_typed_goes_the_zone_path(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    await _send_identity_photo(app, channel, anna, citizen, phone_photo(card_back(), angle=2))
    await run_dialog(
        anna,
        [
            ("[Identity]", []),
            ("[DNI]", []),
            ("12.345.678-z", ["Number ****5678Z is valid"]),
            ("[Yes, it matches]", ["document zone checked ✔"]),
        ],
    )
    [validated] = [r for r in await _records(app) if r.kind == "identity_validated"]
    assert validated.data["mrz"]["matches_typed"] is True


async def test_an_expired_card_is_warned(app: App, clock: Clock, channel: MemoryChannel) -> None:
    citizen, anna = await _session(app, clock)
    photo = phone_photo(card_back(Td1(expiry="240105")), angle=3)
    await _send_identity_photo(app, channel, anna, citizen, photo)
    await run_dialog(
        anna,
        [
            (
                "[Identity]",
                ["valid until 01/2024 · check digits ✔", "⚠ The document expired on 05/01/2024."],
            ),
            ("[Use ****5678Z (read)]", ["The document expired on 05/01/2024."]),
            ("[Yes, it matches]", ["checked by sight"]),
        ],
    )
    [validated] = [r for r in await _records(app) if r.kind == "identity_validated"]
    assert validated.data["path"] == "sight" and validated.data["mrz"]["expired"] is True


async def test_a_failed_check_digit_is_warned_and_the_citizen_asked_to_retake(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    first, second, third = Td1().lines()
    wrong = (first, second[:14] + "9" + second[15:], third)
    told = await _send_identity_photo(
        app, channel, anna, citizen, phone_photo(card_back(lines=wrong), angle=-2)
    )
    assert "Thank you, I've received it" in told
    assert "couldn't read the lines at the bottom of the document well" in told
    await run_dialog(
        anna,
        [
            ("[Identity]", ["check digits ✘", "The check digit of the expiry date does not match"]),
        ],
    )
    details = await _details(app)
    assert "document_identitat" not in details.get("form", {})  # not filled from a misread


async def test_a_front_side_photo_is_kept_and_the_back_asked_for(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    told = await _send_identity_photo(app, channel, anna, citizen, phone_photo(card_front()))
    assert "Thank you, I've received it" in told
    assert "it shows the front of the card. Please also send a photo of the back" in told
    await run_dialog(
        anna,
        [
            (
                "[Identity]",
                [
                    "Read from the photo: the photo shows the front of the card",
                    "⚠ The photo shows the front of the card",
                    "DNI",
                    "Ask for a photo of the document",
                ],
            ),
            ("[DNI]", []),
            ("12345678Z", ["The photo shows the front of the card"]),
            ("[Yes, it matches]", ["checked by sight"]),
        ],
    )
    [validated] = [r for r in await _records(app) if r.kind == "identity_validated"]
    assert validated.data["path"] == "sight"
    assert validated.data["mrz"]["status"] == "front_side"
    assert validated.data["mrz"]["check_digits"] is None


async def test_a_photo_of_something_else_gets_a_hint_and_is_kept(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    told = await _send_identity_photo(app, channel, anna, citizen, phone_photo(not_a_document()))
    assert "Thank you, I've received it" in told
    assert "I can't see the whole document in it" in told
    await run_dialog(anna, [("[Refresh]", ["no document zone in the photo"])])


async def test_the_forms_id_field_is_never_overwritten(
    app: App, clock: Clock, channel: MemoryChannel
) -> None:
    citizen, anna = await _session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Data]", ["passport number"]),
            ("X1111111G", []),
            ("[Back to the panel]", []),
        ],
    )
    await _send_identity_photo(app, channel, anna, citizen, phone_photo(card_back()))
    details = await _details(app)
    assert details["form"]["document_identitat"] == "X1111111G"
    await run_dialog(
        anna,
        [
            (
                "[Identity]",
                [
                    "The form's ID number field already holds another number; "
                    "it has not been changed."
                ],
            )
        ],
    )
    assert not [r for r in await _records(app) if r.data.get("source") == "mrz"]


async def test_another_citizens_reply_arrives_while_an_identity_photo_is_read(
    app: App, clock: Clock, channel: MemoryChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the zone holds no database (issue 10, part 1). Once Joan's photo has been
    checked, the sandbox's workers are paused (SIGSTOP), so its zone cannot be read until
    they go on; Maria still gets her answer meanwhile, and the reading then reaches the
    clerk's panel as ever. Order, not timing."""
    citizen, anna = await _session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Identity]", ["Ask for a photo of the document"]),
            ("[Ask for a photo of the document]", ["I've asked the citizen for a photo"]),
        ],
    )
    assert any("three lines of letters" in text for text in await _queued(app, "joan"))
    sandbox = app.sandbox
    assert sandbox is not None
    await sandbox.start()
    paused: list[int] = []
    checked = asyncio.Event()
    check = sandbox.intake

    async def check_then_pause(*args: Any) -> Any:
        result = await check(*args)
        paused.extend(sandbox.pids())
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        checked.set()
        return result

    monkeypatch.setattr(sandbox, "intake", check_then_pause)
    try:
        sending = asyncio.create_task(citizen.send_file("IMG_3001.jpg", phone_photo(card_back())))
        await checked.wait()  # the photo is checked; its zone is still to be read
        maria = person(app, "maria", name="Maria Soler", language="en")
        answered = await maria.say("hello")
        order = ["maria"] + (["joan"] if sending.done() else [])
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    await sending

    assert paused and order == ["maria"]
    assert answered and translate("en", "error.internal") not in maria.text
    assert "Thank you, I've received it" in citizen.text
    await run_dialog(
        anna,
        [("[Refresh]", ["1 Identity: pending · photo read: DNI · ****5678Z"])],
    )
    assert (await _details(app))["mrz"]["status"] == "read"
    # The attempt rolled back before the reading left nothing: one document, received once.
    [received] = [r for r in await _records(app) if r.kind == "document_received"]
    assert received.data["mrz"] == "read"
