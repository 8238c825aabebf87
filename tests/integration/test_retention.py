"""`purge` collects encrypted files nothing refers to (issue 10, part 8): a turn that
failed after its file was stored leaves a blob no row names. Referenced files stay, and
so does any file younger than a day (a turn may still be about to commit its row)."""

from __future__ import annotations

import os
from datetime import timedelta

from bot.app import App
from bot.retention import purge
from tests.session_kit import full_session
from tests.support import Clock


def _age(app: App, address: str, age: timedelta) -> None:
    moment = (app.clock.now() - age).timestamp()
    os.utime(app.storage.blobs.path_for(address), (moment, moment))


async def test_purge_collects_only_old_files_nothing_refers_to(app: App, clock: Clock) -> None:
    appointment = await full_session(app, clock)
    blobs = app.storage.blobs
    kept = set(blobs.addresses())
    assert kept  # the citizen's photo and the receipt
    orphan = await blobs.put(b"a photo whose turn failed after it was stored")
    recent = await blobs.put(b"a photo whose turn is still running")
    for address in kept | {orphan}:
        _age(app, address, timedelta(days=3))
    _age(app, recent, timedelta(hours=1))

    dry = await purge(app.sessions, app.clock.now(), dry_run=True, blobs=blobs)
    assert dry["unreferenced files"] == 1 and await blobs.exists(orphan)
    report = await purge(app.sessions, app.clock.now(), dry_run=False, blobs=blobs)

    assert report["unreferenced files"] == 1
    assert not await blobs.exists(orphan)
    assert await blobs.exists(recent)
    assert set(blobs.addresses()) == kept | {recent}
    async with app.uow() as uow:
        [document] = await uow.documents.for_appointment(appointment.id)
        receipt = await uow.receipts.for_appointment(appointment.id)
    assert receipt is not None
    assert await blobs.get(document.sha256) and await blobs.get(receipt.sha256)
