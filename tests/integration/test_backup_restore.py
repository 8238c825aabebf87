"""The restore drill docs/deploy.md describes: back up while the service runs, restore
into a fresh database, and the service starts on it with everything there."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import POSTGRES_ADMIN
from tests.session_kit import full_session
from tests.support import Clock, office_settings, ready_app


async def _check_restored(url: str, data_dir: Path, reference: str) -> None:
    app, _ = await ready_app(office_settings(url, data_dir), Clock())
    try:
        async with app.uow() as uow:
            appointment = await uow.appointments.by_reference(reference)
            assert appointment is not None and appointment.status.value == "completed"
            receipt = await uow.receipts.for_appointment(appointment.id)
            records = await uow.evidence.records(appointment.id, appointment.reference)
        assert receipt is not None and records
        # The documents in data_dir are readable with the restored database's hashes.
        assert (await app.services.documents.read(receipt.sha256)).startswith(b"%PDF")
    finally:
        await app.close()


async def test_sqlite_online_backup_restores(tmp_path: Path) -> None:
    clock = Clock()
    live = tmp_path / "vt.db"
    app, _ = await ready_app(office_settings(f"sqlite+aiosqlite:///{live}", tmp_path), clock)
    try:
        appointment = await full_session(app, clock)
        # What `sqlite3 vt.db ".backup copy.db"` does, while the service holds the file.
        source, copy = sqlite3.connect(live), sqlite3.connect(tmp_path / "copy.db")
        with copy:
            source.backup(copy)
        source.close()
        copy.close()
    finally:
        await app.close()
    live.unlink()
    (tmp_path / "copy.db").rename(live)
    await _check_restored(f"sqlite+aiosqlite:///{live}", tmp_path, appointment.reference)


async def test_pg_dump_restores_into_a_new_database(tmp_path: Path, postgres_url: str) -> None:
    clock = Clock()
    app, _ = await ready_app(office_settings(postgres_url, tmp_path), clock)
    try:
        appointment = await full_session(app, clock, citizen_id="pg-backup")
    finally:
        await app.close()
    source = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    dump = tmp_path / "vt.dump"
    await asyncio.to_thread(
        subprocess.run, ["pg_dump", "-Fc", "-f", str(dump), source], check=True, timeout=60
    )
    restored = source + "_restored"
    base = POSTGRES_ADMIN
    await asyncio.to_thread(
        subprocess.run,
        ["psql", base, "-c", f'CREATE DATABASE "{restored.rsplit("/", 1)[1]}"'],
        check=True,
        timeout=30,
        capture_output=True,
    )
    try:
        await asyncio.to_thread(
            subprocess.run,
            ["pg_restore", "--no-owner", "-d", restored, str(dump)],
            check=True,
            timeout=60,
        )
        url = restored.replace("postgresql://", "postgresql+asyncpg://")
        await _check_restored(url, tmp_path, appointment.reference)
    finally:
        await asyncio.to_thread(
            subprocess.run,
            [
                "psql",
                base,
                "-c",
                f'DROP DATABASE IF EXISTS "{restored.rsplit("/", 1)[1]}" WITH (FORCE)',
            ],
            check=False,
            timeout=30,
            capture_output=True,
        )
