"""Shared test helpers: a settable clock, settings for a test office, a ready app."""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, build_app
from bot.channels.memory import MemoryChannel, MemoryPerson
from bot.clock import ManualClock
from config.settings import Settings, load_settings
from domain.model import Appointment, StoredDocument
from handlers.ports import UnitOfWork

MADRID = ZoneInfo("Europe/Madrid")
# A Monday with no holiday around it; 08:00 local.
MONDAY_8AM = datetime(2026, 11, 30, 8, 0, tzinfo=MADRID).astimezone(UTC)

JITSI_SECRET = "test-secret-that-is-long-enough-for-hs256!"
# The tests' council evidence key (Ed25519 seed, base64): test-only, like the secret above.
EVIDENCE_KEY = "dGVzdC1vbmx5LWV2aWRlbmNlLWtleS0zMi1ieXRlcyE="


@dataclass(frozen=True)
class WallClock:
    """An instant the machine's clock is moved to for the `any_hour` tests, and the day the
    demo's story then takes place (the first working day from that date, in Madrid)."""

    instant: datetime
    story_day: date

    @property
    def id(self) -> str:
        # Named by Madrid's local time and offset, so the two 02:30s of the autumn night
        # are told apart by the id itself.
        return f"wall={self.instant.astimezone(MADRID):%Y-%m-%dT%H:%M:%S%z}"


# Instants given in UTC (aware), each commented with its time in Madrid. The tests' own
# clock stays at MONDAY_8AM whatever these are: that is what the runs prove.
# For a test that reads the SQLite file itself (its bytes, modes or locks): its `app` runs on
# SQLite alone, where every other test's runs on both backends.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WALL_CLOCKS = (
    WallClock(datetime(2026, 12, 1, 20, 40, tzinfo=UTC), date(2026, 12, 1)),  # Tue 21:40
    WallClock(datetime(2026, 12, 5, 22, 59, tzinfo=UTC), date(2026, 12, 7)),  # Sat 23:59
    # The spring-forward night: 01:59 CET, then 03:01 CEST (02:00-03:00 does not exist);
    # Monday 29 March 2027 is Easter Monday, a holiday, so the story is on Tuesday.
    WallClock(datetime(2027, 3, 28, 0, 59, tzinfo=UTC), date(2027, 3, 30)),
    WallClock(datetime(2027, 3, 28, 1, 1, tzinfo=UTC), date(2027, 3, 30)),
    # The autumn night: 02:30 happens twice, first in CEST (fold=0), then in CET (fold=1).
    WallClock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 26)),
    WallClock(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), date(2026, 10, 26)),
    WallClock(datetime(2026, 12, 31, 22, 59, 30, tzinfo=UTC), date(2026, 12, 31)),  # 23:59:30
    WallClock(datetime(2026, 12, 8, 11, 0, tzinfo=UTC), date(2026, 12, 9)),  # holiday, 12:00
    WallClock(datetime(2028, 2, 29, 11, 0, tzinfo=UTC), date(2028, 2, 29)),  # leap day 12:00
)

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

    __slots__ = ()

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
        evidence={"signing_key": EVIDENCE_KEY},
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


async def add_document(
    uow: UnitOfWork,
    *,
    user_id: int,
    appointment_id: int | None,
    at: datetime,
    requirement: str = "",
    filename: str = "foto.jpg",
    sha256: str = "0" * 64,
) -> StoredDocument:
    """A document row written straight through the repository (no file, no intake)."""
    return await uow.documents.add(
        user_id=user_id,
        appointment_id=appointment_id,
        requirement=requirement,
        sha256=sha256,
        filename=filename,
        content_type="image/jpeg",
        size=1,
        pages=1,
        warnings=(),
        at=at,
    )


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


async def delivered_texts(app: App, address: str) -> list[str]:
    """What was delivered to `address` on the memory channel, after delivering what is due
    (notifications are written when delivered, so the outbox holds no text to read)."""
    await app.dispatcher.drain()
    channel = app.channels["memory"]
    assert isinstance(channel, MemoryChannel)
    return [reply.text for reply in channel.sent[address]]
