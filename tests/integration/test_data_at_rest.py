"""Data at rest (issue 10, part 3): after a whole session, neither the SQLite file nor its
WAL holds the citizen's personal data in clear; the files are the service user's only.

The grep is over raw bytes, as whoever copies the files (a backup, a stolen disk) would
read them. The control: the same values are there for the service, through the
repositories, unchanged.
"""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from bot.app import App
from tests.session_kit import full_session
from tests.support import SQLITE_ONLY, Clock

NIE = "X1111111G"  # typed into the form by the clerk (tests/session_kit.py)
PURPOSE = "To apply for a school place"  # the form's free text, in the agreement summary
ADDRESS = "Carrer de la Riera Alta 27"
PHONE = "612345678"
IBAN = "ES9121000418450200051332"
COMMENT = "La Montse de l'OAC ha estat molt amable"  # a survey comment names people


def _raw(app: App) -> bytes:
    database = Path(str(app.db_engine.url.database))
    return b"".join(
        path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists()
    )


@SQLITE_ONLY
async def test_after_a_whole_session_no_personal_value_is_in_the_database_files(
    app: App, clock: Clock
) -> None:
    appointment = await full_session(app, clock)
    # Values of other procedures' forms (address, phone, IBAN), written through the
    # repository the conversations use.
    async with app.uow() as uow:
        current = await uow.appointments.get(appointment.id)
        assert current is not None
        form = dict(current.details.get("form", {}))
        form.update(adreca=ADDRESS, telefon=PHONE, iban=IBAN)
        await uow.appointments.update(appointment.id, details={**current.details, "form": form})
        await uow.notices.answer_survey(
            appointment.id, now=clock.now(), channel="memory", score=9, comment=COMMENT
        )
        await uow.commit()

    async with app.uow() as uow:  # the control: the service reads them back
        current = await uow.appointments.get(appointment.id)
        assert current is not None
        assert NIE in current.details["form"].values()
        assert {ADDRESS, PHONE, IBAN} <= set(current.details["form"].values())
        survey = await uow.notices.survey(appointment.id)
        assert survey is not None and survey.comment == COMMENT
    async with app.sessions() as session:
        payloads = (await session.execute(text("SELECT payload FROM outbox"))).scalars().all()
    assert payloads and all(p.startswith("vt1:") for p in payloads)

    raw = _raw(app)
    assert len(raw) > 10_000
    found = [
        value
        for value in (NIE, PURPOSE, ADDRESS, PHONE, IBAN, COMMENT)
        if value.encode() in raw or value.encode("utf-16-le") in raw
    ]
    assert found == []


@SQLITE_ONLY
async def test_the_database_and_data_dir_are_the_service_users_only(app: App) -> None:
    database = Path(str(app.db_engine.url.database))
    async with app.sessions() as session:
        await session.execute(text("SELECT 1"))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(app.settings.data_dir.stat().st_mode) == 0o700
    key_file = app.settings.key_file
    assert not key_file.is_relative_to(app.settings.data_dir)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_the_receipt_masks_the_forms_id_number_as_it_masks_the_identity(
    app: App, clock: Clock
) -> None:
    import io

    from pypdf import PdfReader

    appointment = await full_session(app, clock)
    async with app.uow() as uow:
        receipt = await uow.receipts.for_appointment(appointment.id)
    assert receipt is not None
    pdf = PdfReader(io.BytesIO(await app.storage.blobs.get(receipt.sha256)))
    printed = "\n".join(page.extract_text() for page in pdf.pages)
    assert "****1111G" in printed  # the form's NIE, masked
    assert NIE not in printed and "12345678Z" not in printed
