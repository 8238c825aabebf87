"""Jibri webhook bodies (reference/jitsi.md 3.4) parsed without a server."""

from __future__ import annotations

from typing import Any

import pytest

from jitsi.jibri import JibriLogin, parse_session_webhook, parse_status_webhook


def test_status_webhook() -> None:
    st = parse_status_webhook(
        {
            "jibriId": "jibri-1",
            "status": {
                "busyStatus": "BUSY",
                "health": {"healthStatus": "HEALTHY", "details": {"x": 1}},
            },
        }
    )
    assert (st.jibri_id, st.busy_status, st.health_status) == ("jibri-1", "BUSY", "HEALTHY")
    assert st.details == {"x": 1}


def test_session_webhook_with_failure() -> None:
    st = parse_session_webhook(
        {
            "jibriId": "jibri-1",
            "session": {
                "sessionId": "vt-abc",
                "status": "off",
                "failure": {"reason": "error", "error": "Call empty"},
                "shouldRetry": False,
            },
        }
    )
    assert st.session_id == "vt-abc"
    assert st.status == "OFF"
    assert st.failure_reason == "error"
    assert st.failure_error == "Call empty"
    assert st.should_retry is False


def test_session_webhook_running() -> None:
    st = parse_session_webhook({"jibriId": "j", "session": {"sessionId": "s", "status": "ON"}})
    assert st.status == "ON"
    assert st.failure_reason is None
    assert st.should_retry is None


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"status": {}},
        {"jibriId": "j"},
        {"jibriId": "j", "status": {"busyStatus": "IDLE"}},
        {"jibriId": "j", "status": {"busyStatus": "IDLE", "health": {}}},
    ],
)
def test_bad_status_webhook(body: Any) -> None:
    with pytest.raises(ValueError):
        parse_status_webhook(body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"jibriId": "j", "session": {"status": "ON"}},
        {"jibriId": "j", "session": {"sessionId": "s"}},
        {"jibriId": "j", "session": "x"},
    ],
)
def test_bad_session_webhook(body: Any) -> None:
    with pytest.raises(ValueError):
        parse_session_webhook(body)


def test_login_repr_hides_password() -> None:
    login = JibriLogin("recorder.meet.jitsi", "recorder", "hunter2")
    assert "hunter2" not in repr(login)
    domain, user, password = login
    assert password == "hunter2"
