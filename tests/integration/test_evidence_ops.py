"""Evidence of a real session: verify, tamper, export, ingest the recording, room links."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App
from bot.evidence_ops import (
    OperationFailed,
    export_reference,
    ingest_recording,
    room_link,
    verify_reference,
)
from bot.jibri_layout import lay_out_session
from domain.appointments import Status
from jitsi.tokens import NBF_SKEW
from storage.evidence_bundle import verify_bundle
from tests.session_kit import appointment_of, book, full_session
from tests.support import Clock, person


async def test_an_untouched_session_verifies(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock)
    check = await verify_reference(app, appointment.reference)
    assert check.ok, check.problem
    assert check.files >= 3  # the photo, the summary agreed, the receipt


async def test_tampering_with_a_record_is_detected(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock)
    async with app.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE evidence SET actor = 'citizen' WHERE appointment_id = :a AND seq = 3"),
            {"a": appointment.id},
        )
    check = await verify_reference(app, appointment.reference)
    assert not check.ok
    assert "record 3" in check.problem


async def test_swapping_two_records_is_detected(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock)
    async with app.sessions() as session, session.begin():
        params = {"a": appointment.id}
        await session.execute(
            text("UPDATE evidence SET seq = 999 WHERE appointment_id = :a AND seq = 4"), params
        )
        await session.execute(
            text("UPDATE evidence SET seq = 4 WHERE appointment_id = :a AND seq = 5"), params
        )
        await session.execute(
            text("UPDATE evidence SET seq = 5 WHERE appointment_id = :a AND seq = 999"), params
        )
    check = await verify_reference(app, appointment.reference)
    assert not check.ok
    assert "4" in check.problem


async def test_tampering_with_a_stored_file_is_detected(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock)
    async with app.uow() as uow:
        [photo] = await uow.documents.for_appointment(appointment.id)
    path = app.storage.blobs.path_for(photo.sha256)
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 0x01
    path.write_bytes(bytes(raw))
    check = await verify_reference(app, appointment.reference)
    assert not check.ok
    assert photo.sha256 in check.problem and "altered" in check.problem


async def test_export_gives_a_bundle_that_verifies_without_the_database(
    app: App, clock: Clock, tmp_path: Path
) -> None:
    appointment = await full_session(app, clock)
    out = tmp_path / "bundle.zip"
    manifest = await export_reference(app, appointment.reference, out)
    assert manifest["appointment"] == appointment.reference
    check = verify_bundle(out)
    assert check.ok, check.first_problem
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "evidence", "verify", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout


async def test_recording_ingest_is_idempotent_and_refuses_strangers(
    app: App, clock: Clock, tmp_path: Path
) -> None:
    appointment = await full_session(app, clock)
    folder = lay_out_session(
        tmp_path,
        room=appointment.room,
        started=datetime(2026, 11, 30, 9, 1, 5),
        meeting_base_url="https://meet.test",
        participants=[
            {"id": "staff-anna", "name": "Anna Puig"},
            {"id": "citizen-1", "name": "Joan"},
        ],
    )
    first = await ingest_recording(app, folder)
    second = await ingest_recording(app, folder)
    assert not first.already and second.already
    assert first.sha256 == second.sha256
    async with app.uow() as uow:
        records = await uow.evidence.records(appointment.id, appointment.reference)
    assert [r.kind for r in records].count("recording_ingested") == 1
    assert (await verify_reference(app, appointment.reference)).ok
    stranger = lay_out_session(
        tmp_path / "other",
        room="vt-thisroomisnotoursatall000",
        started=datetime(2026, 11, 30),
        meeting_base_url="https://meet.test",
        participants=[],
    )
    with pytest.raises(OperationFailed, match="no appointment has the room"):
        await ingest_recording(app, stranger)


async def test_room_links_for_staff_and_citizen(app: App, clock: Clock) -> None:
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)  # 9:00 today (the test clock is at 8:00)
    appointment = await appointment_of(app, "joan")
    staff = await room_link(app, appointment.reference, "staff", "")
    admin = await room_link(app, appointment.reference, "staff", "laia")
    guest = await room_link(app, appointment.reference, "citizen", "")
    appointment = await appointment_of(app, "joan")  # its room was made for the first link
    for link in (staff, admin, guest):
        assert link.startswith(f"https://meet.test/{appointment.room}#jwt=")
    assert len({staff, admin, guest}) == 3
    with pytest.raises(OperationFailed):
        await room_link(app, "VT-NOPE234", "staff", "")


def _claims(link: str) -> dict[str, Any]:
    import jwt

    return dict(jwt.decode(link.split("#jwt=")[1], options={"verify_signature": False}))


async def test_room_link_is_only_for_its_clerk_or_an_admin_and_an_open_appointment(
    app: App, clock: Clock
) -> None:
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    appointment = await appointment_of(app, "joan")
    assert appointment.staff_id == "anna"
    with pytest.raises(OperationFailed, match="not assigned"):
        await room_link(app, appointment.reference, "staff", "marc")
    with pytest.raises(OperationFailed, match="no staff member"):
        await room_link(app, appointment.reference, "staff", "anything")
    # Minted hours ahead, a link is still valid only from the session's opening window.
    claims = _claims(await room_link(app, appointment.reference, "staff", ""))
    lead = timedelta(minutes=app.settings.jitsi.lead_minutes)
    assert claims["nbf"] == int((appointment.start - lead - NBF_SKEW).timestamp())
    assert claims["nbf"] > int(app.clock.now().timestamp())

    async with app.uow() as uow:
        await uow.appointments.set_status(appointment.id, Status.CANCELLED, app.clock.now())
        await uow.commit()
    with pytest.raises(OperationFailed, match="cancelled"):
        await room_link(app, appointment.reference, "staff", "")
    with pytest.raises(OperationFailed, match="cancelled"):
        await room_link(app, appointment.reference, "citizen", "")
