"""Jibri's webhooks: bearer token, status kept for /metrics, session status in the evidence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.app import App
from domain.evidence import verify_chain
from domain.model import Appointment
from tests.integration.web.conftest import JIBRI_TOKEN, Browser, serve
from tests.support import Clock, office_settings, ready_app

AUTH = {"Authorization": f"Bearer {JIBRI_TOKEN}"}


def status_body(jibri: str = "jibri-1", busy: str = "BUSY", health: str = "HEALTHY") -> dict:
    return {
        "jibriId": jibri,
        "status": {"busyStatus": busy, "health": {"healthStatus": health, "details": {}}},
    }


def session_body(room: str, status: str, failure: dict | None = None) -> dict:
    session: dict = {"sessionId": room, "status": status}
    if failure is not None:
        session["failure"] = failure
        session["shouldRetry"] = False
    return {"jibriId": "jibri-1", "session": session}


async def _appointment_with_room(app: App, clock: Clock, room: str) -> Appointment:
    async with app.uow() as uow:
        citizen = await uow.users.get_or_create(
            "memory", "joan", address="joan", display_name="Joan", language="ca"
        )
        start = clock.now() + timedelta(hours=2)
        booked = await uow.appointments.book(
            reference="VT-JIBRI1",
            citizen_id=citizen.id,
            procedure="informacio",
            staff_id="anna",
            start=start,
            end=start + timedelta(minutes=30),
            language="ca",
            email="",
            citizen_name="Joan",
            cells=[start],
            now=clock.now(),
        )
        appointment = await uow.appointments.update(
            booked.id,
            room=room,
            details={"identity": {"status": "verified"}, "recording": {"status": "started"}},
        )
        await uow.evidence.append(
            appointment_id=booked.id,
            reference=booked.reference,
            kind="booked",
            actor="citizen",
            data={},
            at=clock.now(),
        )
        await uow.commit()
    return appointment


async def test_bearer_token_is_required(base_url: str, browser: Browser) -> None:
    session = browser()
    for path in ("/jibri/v1/status", "/jibri/v1/session/status"):
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Bearer {JIBRI_TOKEN}x"},
            {"Authorization": f"Basic {JIBRI_TOKEN}"},
            {"Authorization": JIBRI_TOKEN},
        ):
            async with session.post(base_url + path, json=status_body(), headers=headers) as r:
                assert r.status == 401, (path, headers)
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
    async with session.post(
        base_url + "/jibri/v1/status",
        json=status_body(),
        headers={"Authorization": f"bearer {JIBRI_TOKEN}"},  # the scheme is case-insensitive
    ) as r:
        assert r.status == 200


async def test_malformed_bodies_are_400(base_url: str, browser: Browser) -> None:
    session = browser()
    bad = [
        b"{not json",
        b"",
        b"[1, 2]",
        json.dumps({"jibriId": "x"}).encode(),
        json.dumps({"jibriId": "x", "session": {"status": "ON"}}).encode(),
        b"\xff\xfe",
    ]
    for path in ("/jibri/v1/status", "/jibri/v1/session/status"):
        for body in bad:
            async with session.post(
                base_url + path,
                data=body,
                headers={**AUTH, "Content-Type": "application/json"},
            ) as r:
                assert r.status == 400, (path, body)


async def test_without_a_configured_token_the_endpoints_do_not_exist(
    tmp_path: Path, clock: Clock, browser: Browser
) -> None:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", tmp_path / "o")
    other, _ = await ready_app(settings, clock)
    runner, url = await serve(other)
    try:
        session = browser()
        for path in ("/jibri/v1/status", "/jibri/v1/session/status"):
            for headers in ({}, {"Authorization": "Bearer "}, AUTH):
                async with session.post(url + path, json=status_body(), headers=headers) as r:
                    assert r.status == 404, (path, headers)
    finally:
        await runner.cleanup()
        await other.close()


async def test_health_status_shows_in_metrics(base_url: str, browser: Browser) -> None:
    session = browser()
    async with session.get(base_url + "/metrics") as r:
        before = await r.text()
    assert "videotramit_jibri_busy{" not in before
    reports = (status_body("jibri-1", "BUSY", "HEALTHY"), status_body('j"2', "IDLE", "UNHEALTHY"))
    for body in reports:
        async with session.post(base_url + "/jibri/v1/status", json=body, headers=AUTH) as r:
            assert r.status == 200
    async with session.get(base_url + "/metrics") as r:
        metrics = await r.text()
    assert 'videotramit_jibri_busy{jibri="jibri-1"} 1' in metrics
    assert 'videotramit_jibri_healthy{jibri="jibri-1"} 1' in metrics
    assert 'videotramit_jibri_busy{jibri="j\\"2"} 0' in metrics
    assert 'videotramit_jibri_healthy{jibri="j\\"2"} 0' in metrics
    assert "videotramit_outbox_pending" in metrics  # the rest of /metrics is still there
    # The latest report wins.
    async with session.post(
        base_url + "/jibri/v1/status", json=status_body("jibri-1", "IDLE"), headers=AUTH
    ) as r:
        assert r.status == 200
    async with session.get(base_url + "/metrics") as r:
        assert 'videotramit_jibri_busy{jibri="jibri-1"} 0' in await r.text()


async def test_session_status_is_recorded(
    app: App, clock: Clock, base_url: str, browser: Browser
) -> None:
    room = "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"
    appointment = await _appointment_with_room(app, clock, room)
    session = browser()
    url = base_url + "/jibri/v1/session/status"
    async with session.post(url, json=session_body(room, "ON"), headers=AUTH) as r:
        assert r.status == 200
        assert (await r.json())["recorded"] is True
    async with app.uow() as uow:
        current = await uow.appointments.get(appointment.id)
        records = await uow.evidence.records(appointment.id, appointment.reference)
    assert current is not None
    recording = current.details["recording"]
    assert recording["status"] == "started"
    assert recording["jibri"]["status"] == "ON"
    assert recording["jibri"]["session_id"] == room
    assert current.details["identity"] == {"status": "verified"}  # other details untouched
    last = records[-1]
    assert (last.kind, last.actor) == ("recording_status", "jibri")
    assert last.data == {"status": "ON", "jibri_id": "jibri-1", "session_id": room}

    clock.advance(minutes=3)
    failure = {"reason": "error", "error": "no media for too long"}
    async with session.post(url, json=session_body(room, "OFF", failure), headers=AUTH) as r:
        assert r.status == 200
    async with app.uow() as uow:
        current = await uow.appointments.get(appointment.id)
        records = await uow.evidence.records(appointment.id, appointment.reference)
    assert current is not None
    recording = current.details["recording"]
    assert recording["status"] == "failed"
    assert recording["jibri"]["failure_error"] == "no media for too long"
    assert records[-1].data["failure_reason"] == "error"
    assert records[-1].data["should_retry"] is False
    assert records[-1].at == "2026-11-30T07:03:00.000000Z"  # the app clock, in UTC
    assert [r.kind for r in records] == ["booked", "recording_status", "recording_status"]
    assert verify_chain(records).ok


async def test_session_status_of_an_unknown_room(
    app: App, clock: Clock, base_url: str, browser: Browser
) -> None:
    appointment = await _appointment_with_room(app, clock, "vt-known-room")
    async with browser().post(
        base_url + "/jibri/v1/session/status",
        json=session_body("vt-other-room", "ON"),
        headers=AUTH,
    ) as r:
        assert r.status == 200
        assert (await r.json())["recorded"] is False
    async with app.uow() as uow:
        records = await uow.evidence.records(appointment.id, appointment.reference)
    assert [r.kind for r in records] == ["booked"]


async def test_oversized_body_is_refused(base_url: str, browser: Browser) -> None:
    body = status_body()
    body["status"]["health"]["details"] = {"padding": "x" * 70_000}
    async with browser().post(base_url + "/jibri/v1/status", json=body, headers=AUTH) as r:
        assert r.status == 413
