"""Shared test helpers: a settable clock, settings for a test office, a ready app."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import App, build_app
from bot.channels.memory import MemoryChannel, MemoryPerson
from bot.clock import ManualClock
from config.settings import Settings, load_settings
from domain.model import Appointment
from handlers.ports import UnitOfWork

MADRID = ZoneInfo("Europe/Madrid")
# A Monday with no holiday around it; 08:00 local.
MONDAY_8AM = datetime(2026, 11, 30, 8, 0, tzinfo=MADRID).astimezone(UTC)

JITSI_SECRET = "test-secret-that-is-long-enough-for-hs256!"

STAFF_TOML = """
[[staff]]
id = "anna"
name = "Anna Puig"
roles = ["staff"]
procedures = ["*"]
hours = ["mon-fri 09:00-14:00"]

[[staff]]
id = "marc"
name = "Marc Soler"
roles = ["staff"]
procedures = ["padro_alta", "certificat_convivencia", "informacio"]
hours = ["mon-fri 09:00-13:00"]

[[staff]]
id = "laia"
name = "Laia Ferrer"
roles = ["admin"]
procedures = []
hours = []
"""


class Clock(ManualClock):
    """The demo's and the tests' shared ManualClock, starting on the test Monday at 08:00
    unless a test says otherwise (the tests' name for it, so they read as before)."""

    def __init__(self, start: datetime = MONDAY_8AM) -> None:
        super().__init__(start)


def office_settings(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    overrides: dict[str, Any] = tomllib.loads(STAFF_TOML)
    overrides.update(
        data_dir=str(data_dir),
        database={"url": database_url},
        schedule={"min_notice_hours": 1, "horizon_days": 14},
        jitsi={"base_url": "https://meet.test", "app_secret": JITSI_SECRET},
        web={"public_base_url": "https://oac.test"},
    )
    overrides.update(extra)
    return load_settings(None, overrides=overrides)


async def ready_app(settings: Settings, clock: Clock | None = None) -> tuple[App, MemoryChannel]:
    channel = MemoryChannel()
    app = build_app(settings, clock=clock or Clock(), channels={channel.name: channel})
    await app.prepare_database()
    return app, channel


def person(app: App, external_id: str, name: str = "", language: str = "") -> MemoryPerson:
    return MemoryPerson(app.engine, external_id, name or external_id.title(), language)


def document_photo(width: int = 1600, height: int = 1200, seed: int = 1) -> bytes:
    """A sharp, well-exposed JPEG of a text page, as a phone would send it."""
    from tests.unit.documents.imaging import document_image

    buffer = io.BytesIO()
    document_image(width, height, seed).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def book_directly(
    uow: UnitOfWork,
    *,
    citizen_id: int,
    start: datetime,
    reference: str,
    staff_id: str = "anna",
    procedure: str = "informacio",
    minutes: int = 30,
) -> Appointment:
    """An appointment written straight through the repository (no conversation)."""
    from domain.slots import slot_cells

    end = start + timedelta(minutes=minutes)
    return await uow.appointments.book(
        reference=reference,
        citizen_id=citizen_id,
        procedure=procedure,
        staff_id=staff_id,
        start=start,
        end=end,
        language="ca",
        email="",
        citizen_name="",
        cells=slot_cells(start, end, 30),
        now=start - timedelta(days=1),
    )
