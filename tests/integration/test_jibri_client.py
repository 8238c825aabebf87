"""JibriClient over real HTTP (127.0.0.1, random port) against the fake Jibri API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from jitsi.jibri import (
    JibriBusy,
    JibriClient,
    JibriLogin,
    JibriRefused,
    JibriUnavailable,
)
from tests.fakes.jibri_api import FakeJibriApi

LOGIN = JibriLogin("recorder.meet.jitsi", "recorder", "rec-pass")
ROOM = "vt-7tq3xkz2m4pwa5hcd6rnfy2ejb"


@pytest.fixture
async def fake() -> AsyncIterator[FakeJibriApi]:
    async with FakeJibriApi() as api:
        yield api


@pytest.fixture
async def client(fake: FakeJibriApi) -> AsyncIterator[JibriClient]:
    async with JibriClient(fake.url, timeout=5.0) as c:
        yield c


async def test_start_file_recording_sends_the_reference_body(
    fake: FakeJibriApi, client: JibriClient
) -> None:
    await client.start_file_recording(ROOM, "https://meet.example.org/", ROOM, LOGIN)
    assert fake.busy
    assert fake.session_id == ROOM
    req = fake.requests[-1]
    assert (req.method, req.path) == ("POST", "/jibri/api/v1.0/startService")
    assert req.headers["Content-Type"].startswith("application/json")
    assert req.body == {
        "sessionId": ROOM,
        "callParams": {"callUrlInfo": {"baseUrl": "https://meet.example.org", "callName": ROOM}},
        "sinkType": "file",
        "callLoginParams": {
            "domain": "recorder.meet.jitsi",
            "username": "recorder",
            "password": "rec-pass",
        },
    }


async def test_second_start_is_busy(fake: FakeJibriApi, client: JibriClient) -> None:
    await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)
    with pytest.raises(JibriBusy) as err:
        await client.start_file_recording("s2", "https://meet.example.org", ROOM, LOGIN)
    assert err.value.status == 412
    assert "busy" in err.value.reason.lower()
    assert fake.session_id == "s1"
    # Not retried: exactly two start requests reached Jibri.
    assert [r.path for r in fake.requests].count("/jibri/api/v1.0/startService") == 2


async def test_missing_login_params_is_refused(fake: FakeJibriApi, client: JibriClient) -> None:
    with pytest.raises(JibriRefused) as err:
        await client.start_file_recording("s1", "https://meet.example.org", ROOM, None)
    assert not isinstance(err.value, JibriBusy)
    assert err.value.reason == "Call login params missing"
    assert not fake.busy


async def test_missing_login_is_reported_even_when_busy(
    fake: FakeJibriApi, client: JibriClient
) -> None:
    fake.busy = True
    with pytest.raises(JibriRefused) as err:
        await client.start_file_recording("s1", "https://meet.example.org", ROOM, None)
    assert not isinstance(err.value, JibriBusy)


async def test_internal_error_is_unavailable(fake: FakeJibriApi, client: JibriClient) -> None:
    fake.fail_with_500 = True
    with pytest.raises(JibriUnavailable):
        await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)


async def test_slow_reply_times_out(fake: FakeJibriApi) -> None:
    fake.slow_seconds = 30.0  # held until released; the client gives up long before
    try:
        async with JibriClient(fake.url, timeout=0.2) as client:
            with pytest.raises(JibriUnavailable) as err:
                await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)
            assert "no answer" in err.value.reason
            with pytest.raises(JibriUnavailable):
                await client.health()
    finally:
        fake.release_slow()
    # A start that timed out was sent once and never retried.
    starts = [r for r in fake.requests if r.path.endswith("/startService")]
    assert len(starts) == 1


async def test_stop(fake: FakeJibriApi, client: JibriClient) -> None:
    await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)
    await client.stop()
    assert not fake.busy
    await client.stop()  # always 200, even when idle
    assert fake.requests[-1].path == "/jibri/api/v1.0/stopService"


async def test_health(fake: FakeJibriApi, client: JibriClient) -> None:
    h = await client.health()
    assert (h.busy_status, h.health_status, h.is_idle) == ("IDLE", "HEALTHY", True)
    await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)
    h = await client.health()
    assert h.busy_status == "BUSY"
    assert not h.is_idle
    fake.healthy = False
    await client.stop()
    h = await client.health()
    assert (h.busy_status, h.health_status) == ("IDLE", "UNHEALTHY")


async def test_shared_session(fake: FakeJibriApi) -> None:
    async with aiohttp.ClientSession() as session:
        client = JibriClient(fake.url, session=session, timeout=5.0)
        assert (await client.health()).is_idle
        await client.close()  # does not close a session it does not own
        assert not session.closed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_unavailable() -> None:
    async with JibriClient(f"http://127.0.0.1:{_free_port()}", timeout=2.0) as client:
        with pytest.raises(JibriUnavailable):
            await client.start_file_recording("s1", "https://meet.example.org", ROOM, LOGIN)
        with pytest.raises(JibriUnavailable):
            await client.health()
        with pytest.raises(JibriUnavailable):
            await client.stop()


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        JibriClient("127.0.0.1:2222")
    with pytest.raises(ValueError):
        JibriClient("http://127.0.0.1:2222", timeout=0)
