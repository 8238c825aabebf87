"""Rotating the master key as docs/documents.md tells IT to, on SQLite and PostgreSQL:
`videotramit keys new`, `rewrap`, `retire`. The old key protected both the files and the
database's sealed values (the application form); retiring it once only the files had
been re-wrapped made every form unreadable (`SealError: … master key … is not in the
keyring`), which is what an IT person trying the guide found."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_app
from bot.cli import main
from config.settings import load_settings
from handlers.planner import Jobs
from tests.support import STAFF_TOML, Clock, book_directly

FORM = {"name": "Maria Puig", "dni": "12345678Z", "address": "Carrer de la Riera, 12"}
PHOTO = b"\xff\xd8 a photo of an ID card"


def _config(tmp_path: Path, url: str) -> str:
    config = tmp_path / "council.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{url}"\n{STAFF_TOML}')
    return str(config)


async def _a_form_and_a_photo(config: str) -> tuple[int, str]:
    app = build_app(load_settings(config), clock=Clock())
    try:
        await app.prepare_database()
        async with app.uow() as uow:
            citizen = await uow.users.get_or_create(
                "memory", "maria", address="maria", display_name="Maria", language="ca"
            )
            start = app.clock.now() + timedelta(days=2)
            booked = await book_directly(uow, citizen_id=citizen.id, start=start, reference="VT-K1")
            await uow.appointments.update(booked.id, details=FORM)
            await uow.commit()
        # Its reminders, planned in SQL as the scheduler does: stored unsealed (no
        # personal value in them), so no key is needed for them.
        assert await Jobs(app.uow, app.office).plan_reminders(app.clock.now()) == 2
        return booked.id, await app.storage.blobs.put(PHOTO)
    finally:
        await app.close()


async def _read_back(config: str, appointment_id: int, photo: str) -> tuple[dict[str, str], bytes]:
    app = build_app(load_settings(config), clock=Clock())
    try:
        async with app.uow() as uow:
            found = await uow.appointments.get(appointment_id)
        assert found is not None
        return dict(found.details), await app.storage.blobs.get(photo)
    finally:
        await app.close()


def _keys(config: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["keys", *args, "--config", config])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_retired_key_no_longer_seals_anything(
    tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, backend)
    everything_said: list[str] = []

    def keys(*args: str) -> tuple[int, str]:
        code, said = _keys(config, capsys, *args)
        everything_said.append(said)
        return code, said

    appointment_id, photo = asyncio.run(_a_form_and_a_photo(config))
    code, status = keys("status")
    assert code == 0, status
    assert "not sealed (planned reminders, rows older than sealing): 2" in status, status
    [old] = re.findall(
        r"^(\S+) \(current\): 1 file\(s\), [1-9]\d* database value\(s\)$", status, re.M
    )

    code, said = keys("retire", old)
    assert code == 1 and "is the current key: add a new one first" in said, said
    code, said = keys("new")
    assert code == 0 and old not in said, said
    # Before anything is re-sealed, the old key cannot go: the form would not open.
    code, said = keys("retire", old)
    assert code == 1 and "still protects 1 file(s) and" in said, said

    code, said = keys("rewrap")
    assert code == 0 and re.search(r"re-sealed 1 file\(s\) and [1-9]\d* database value", said)
    code, status = keys("status")
    assert f"{old}: 0 file(s), 0 database value(s)" in status, status
    code, said = keys("retire", old)
    assert code == 0 and f"removed {old}" in said, said

    # Only the new key is left, and it opens the form and the photo.
    key_file = tmp_path / "data-keys" / "master.keys"
    assert old not in key_file.read_text()
    [secret] = [line.split(":", 1)[1] for line in key_file.read_text().splitlines()[1:]]
    assert not any(secret in said for said in everything_said)  # no command printed a key
    assert asyncio.run(_read_back(config, appointment_id, photo)) == (FORM, PHOTO)


def test_a_database_restored_without_its_key_is_refused(
    tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, a restore that forgot the key file started on a new key: /readyz said 200
    and every receipt and form failed to open. Now the service refuses to start."""
    config = _config(tmp_path, backend)
    asyncio.run(_a_form_and_a_photo(config))
    key_file = tmp_path / "data-keys" / "master.keys"
    [old] = [line.split(":", 1)[0] for line in key_file.read_text().splitlines()[1:]]
    key_file.unlink()

    code, said = _keys(config, capsys, "status")
    assert code == 2 and "holds encrypted files: restore the key file" in said, said
    assert not key_file.exists()  # no new key was made beside the files

    shutil.rmtree(tmp_path / "data" / "blobs")  # the files lost too: the forms still tell
    code, said = _keys(config, capsys, "status")
    assert code == 2 and f"sealed with master key {old}, which the keyring" in said, said
    assert not key_file.exists()  # the key this start made for nothing is gone again
