"""The web server for real on 127.0.0.1, a finished session to look at, and "browsers"
(HTTP clients with their own cookie jars)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import App
from bot.web import build_web
from domain.model import Appointment, IssuedReceipt, StoredDocument
from tests.session_kit import full_session
from tests.support import Clock, office_settings, ready_app

JIBRI_TOKEN = "jibri-webhook-token-for-tests-0123456789"
TIMEOUT = aiohttp.ClientTimeout(total=15)


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    """The test office, with a Jibri webhook token configured (on both backends)."""
    settings = office_settings(
        database_url,
        tmp_path,
        jibri={"webhook_token": JIBRI_TOKEN},
    )
    application, _ = await ready_app(settings, clock)
    yield application
    await application.close()


async def serve(app: App) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(build_web(app), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def base_url(app: App) -> AsyncIterator[str]:
    runner, url = await serve(app)
    yield url
    await runner.cleanup()


Browser = Callable[[], aiohttp.ClientSession]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A factory of independent browsers: each has its own cookie jar."""
    sessions: list[aiohttp.ClientSession] = []

    def new() -> aiohttp.ClientSession:
        # unsafe=True: keep cookies of an IP-address host (the server is on 127.0.0.1).
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT)
        sessions.append(session)
        return session

    yield new
    for session in sessions:
        await session.close()


@dataclass
class Done:
    appointment: Appointment
    document: StoredDocument
    receipt: IssuedReceipt


@pytest.fixture
async def done(app: App, clock: Clock) -> Done:
    """A whole session through the bot: a photo sent by the citizen, a receipt issued."""
    appointment = await full_session(app, clock)
    async with app.uow() as uow:
        [document] = await uow.documents.for_appointment(appointment.id)
        receipt = await uow.receipts.for_appointment(appointment.id)
    assert receipt is not None
    return Done(appointment, document, receipt)


def corner_photo() -> bytes:
    """A 1200x900 JPEG: red top-left, green top-right, blue bottom-left, yellow
    bottom-right. Unmistakable in a screenshot, and it shows the right way up."""
    from tests.unit.documents.imaging import corner_image

    buffer = io.BytesIO()
    corner_image(1200, 900).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


async def store_document(
    app: App, appointment: Appointment, data: bytes, name: str
) -> StoredDocument:
    """Store a file as the citizen's, through the real intake and encrypted store."""
    accepted = await app.services.documents.accept(data, name)
    async with app.uow() as uow:
        document = await uow.documents.add(
            user_id=appointment.citizen_id,
            appointment_id=appointment.id,
            requirement="",
            sha256=accepted.sha256,
            filename=accepted.filename,
            content_type=accepted.content_type,
            size=accepted.size,
            pages=accepted.pages,
            warnings=accepted.warnings,
            at=app.clock.now(),
        )
        await uow.commit()
    return document
