"""Two instances on one PostgreSQL database behind one address: whichever one a request
reaches, a staff member's document link and Jibri's status are known alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App
from tests.integration.web.conftest import JIBRI_TOKEN, Browser, serve
from tests.integration.web.test_jibri_webhooks import status_body
from tests.session_kit import full_session
from tests.support import Clock, office_settings, ready_app

AUTH = {"Authorization": f"Bearer {JIBRI_TOKEN}"}


@pytest.fixture
async def pair(tmp_path: Path, postgres_url: str, clock: Clock) -> AsyncIterator[list[str]]:
    """Two apps (two connection pools, two web servers) on one database and data folder."""
    settings = office_settings(postgres_url, tmp_path, jibri={"webhook_token": JIBRI_TOKEN})
    apps: list[App] = []
    runners = []
    urls: list[str] = []
    for _ in range(2):
        app, _channel = await ready_app(settings, clock)
        apps.append(app)
        runner, url = await serve(app)
        runners.append(runner)
        urls.append(url)
    first = apps[0]
    appointment = await full_session(first, clock, citizen_id="pg-rosa")
    async with first.uow() as uow:
        [document] = await uow.documents.for_appointment(appointment.id)
    token = first.links.token(document.id, "staff:anna", clock.now())
    try:
        yield [url + f"/files/{token}" for url in urls] + urls
    finally:
        for runner in runners:
            await runner.cleanup()
        for app in apps:
            await app.close()


async def test_a_document_link_opened_on_one_instance_is_bound_on_the_other(
    pair: list[str], browser: Browser
) -> None:
    on_first, on_second, _, _ = pair
    clerk, stranger = browser(), browser()
    async with clerk.get(on_first) as opened:
        assert opened.status == 200
        shown = await opened.read()
    # The other instance knows the link was opened, and by whom.
    async with stranger.get(on_second) as reused:
        assert reused.status == 403
    async with clerk.get(on_second) as again:
        assert again.status == 200
        assert await again.read() == shown


async def test_jibri_status_received_by_one_instance_shows_in_the_others_metrics(
    pair: list[str], browser: Browser
) -> None:
    _, _, first, second = pair
    session = browser()
    async with session.post(
        first + "/jibri/v1/status", json=status_body("jibri-7", "BUSY"), headers=AUTH
    ) as r:
        assert r.status == 200
    async with session.get(second + "/metrics") as r:
        metrics = await r.text()
    assert 'videotramit_jibri_busy{jibri="jibri-7"} 1' in metrics
    assert 'videotramit_jibri_healthy{jibri="jibri-7"} 1' in metrics
