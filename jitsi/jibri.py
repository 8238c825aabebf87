"""Client for Jibri's HTTP API, plus parsers for the webhooks Jibri sends.

Facts followed (shared/reference/jitsi.md, 3.2 and 3.4; Jibri ``HttpApi.kt``):

* ``GET /jibri/api/v1.0/health`` -> ``{"status": {"busyStatus", "health": {"healthStatus",
  "details"}}, "environmentContext"?}``;
* ``POST /jibri/api/v1.0/startService`` with ``sessionId``, ``callParams.callUrlInfo
  {baseUrl, callName}``, ``sinkType`` and, for ``file``, ``callLoginParams {domain,
  username, password}``. 200 = start *attempted* (it runs asynchronously); 412 = busy
  ("Jibri is currently busy") or a missing parameter ("Call login params missing");
  500 = internal error;
* ``POST /jibri/api/v1.0/stopService`` always answers 200; one service at a time.

``startService`` is not idempotent (a repeated start of a running recording is refused as
busy, and a start that did reach Jibri but whose answer was lost cannot be told apart from
one that did not), so it is never retried here. ``stopService`` and ``health`` are safe to
repeat and get one retry after a connection failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple

import aiohttp

__all__ = [
    "API_PREFIX",
    "JibriBusy",
    "JibriClient",
    "JibriError",
    "JibriHealth",
    "JibriLogin",
    "JibriRefused",
    "JibriSessionStatus",
    "JibriStatus",
    "JibriUnavailable",
    "parse_session_webhook",
    "parse_status_webhook",
]

API_PREFIX = "/jibri/api/v1.0"
DEFAULT_TIMEOUT = 5.0
_RETRY_PAUSE = 0.2


class JibriError(Exception):
    """Base class: Jibri did not do what was asked. ``reason`` is safe to show to staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JibriRefused(JibriError):
    """Jibri answered but refused (HTTP 412 for a missing parameter, other 4xx)."""

    def __init__(self, reason: str, status: int = 412) -> None:
        super().__init__(reason)
        self.status = status


class JibriBusy(JibriRefused):
    """HTTP 412 "Jibri is currently busy": it is already running a service."""


class JibriUnavailable(JibriError):
    """Jibri could not be reached in time, or failed internally (timeout, refused
    connection, HTTP 5xx, unreadable answer)."""


class JibriLogin(NamedTuple):
    """``callLoginParams``: the recorder's XMPP account on the hidden domain."""

    domain: str
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"JibriLogin(domain={self.domain!r}, username={self.username!r}, password=***)"


@dataclass(frozen=True)
class JibriHealth:
    busy_status: str  # IDLE | BUSY | EXPIRED
    health_status: str  # HEALTHY | UNHEALTHY
    details: dict[str, Any] = field(default_factory=dict)
    environment_context: Any = None

    @property
    def is_idle(self) -> bool:
        return self.busy_status.upper() == "IDLE" and self.health_status.upper() == "HEALTHY"


def _health_from(status: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(status, Mapping):
        raise ValueError("status is not an object")
    busy = status.get("busyStatus")
    health = status.get("health")
    if not isinstance(busy, str) or not isinstance(health, Mapping):
        raise ValueError("status lacks busyStatus/health")
    health_status = health.get("healthStatus")
    if not isinstance(health_status, str):
        raise ValueError("health lacks healthStatus")
    details = health.get("details")
    return busy, health_status, dict(details) if isinstance(details, Mapping) else {}


@dataclass(frozen=True)
class JibriStatus:
    """Body of ``POST <subscriber>/v1/status`` (sent on each change and every minute)."""

    jibri_id: str
    busy_status: str
    health_status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JibriSessionStatus:
    """Body of ``POST <subscriber>/v1/session/status`` (HTTP-started services only)."""

    jibri_id: str
    session_id: str
    status: str  # serialised JibriIq.Status (ON/OFF/PENDING/UNDEFINED; exact form unconfirmed)
    failure_reason: str | None = None
    failure_error: str | None = None
    should_retry: bool | None = None


def parse_status_webhook(payload: Any) -> JibriStatus:
    """Validate a ``/v1/status`` webhook body. Raises ``ValueError`` on a malformed one."""
    if not isinstance(payload, Mapping):
        raise ValueError("body is not a JSON object")
    jibri_id = payload.get("jibriId")
    if not isinstance(jibri_id, str):
        raise ValueError("jibriId missing")
    busy, health, details = _health_from(payload.get("status"))
    return JibriStatus(jibri_id, busy, health, details)


def parse_session_webhook(payload: Any) -> JibriSessionStatus:
    """Validate a ``/v1/session/status`` webhook body. Raises ``ValueError`` if malformed."""
    if not isinstance(payload, Mapping):
        raise ValueError("body is not a JSON object")
    jibri_id = payload.get("jibriId")
    session = payload.get("session")
    if not isinstance(jibri_id, str) or not isinstance(session, Mapping):
        raise ValueError("jibriId or session missing")
    session_id = session.get("sessionId")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session.sessionId missing")
    status = session.get("status")
    if isinstance(status, Mapping):  # tolerate an object form of the enum
        status = status.get("name") or status.get("status")
    if not isinstance(status, str):
        raise ValueError("session.status missing")
    failure = session.get("failure")
    reason = error = None
    if isinstance(failure, Mapping):
        reason = str(failure["reason"]) if failure.get("reason") is not None else None
        error = str(failure["error"]) if failure.get("error") is not None else None
    elif isinstance(failure, str):
        reason = failure
    retry = session.get("shouldRetry")
    return JibriSessionStatus(
        jibri_id,
        session_id,
        status.upper(),
        reason,
        error,
        retry if isinstance(retry, bool) else None,
    )


def _reason_text(body: str) -> str:
    text = body.strip()
    if text.startswith('"'):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            text = decoded
    return text[:300]


class JibriClient:
    """Async client for one Jibri's HTTP API (``api_url`` like ``http://127.0.0.1:2222``).

    Pass an ``aiohttp.ClientSession`` to share one; otherwise the client opens its own and
    :meth:`close` (or ``async with``) closes it. ``timeout`` (seconds) bounds every request.
    """

    def __init__(
        self,
        api_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise ValueError("jibri.api_url must start with http:// or https://")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._base = api_url.rstrip("/") + API_PREFIX
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def __aenter__(self) -> JibriClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _request(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        url = f"{self._base}/{endpoint}"
        try:
            async with self._client().request(
                method, url, json=body, timeout=self._timeout
            ) as resp:
                return resp.status, await resp.text(errors="replace")
        except TimeoutError as exc:
            raise JibriUnavailable(f"no answer from Jibri within {self._timeout.total} s") from exc
        except aiohttp.ClientError as exc:
            raise JibriUnavailable(f"cannot reach Jibri: {type(exc).__name__}") from exc

    async def _request_idempotent(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        try:
            return await self._request(method, endpoint, body)
        except JibriUnavailable as exc:
            cause = exc.__cause__
            if not isinstance(cause, aiohttp.ClientConnectionError) or isinstance(
                cause, TimeoutError
            ):
                raise  # only a refused/reset connection is retried, never a slow Jibri
        await asyncio.sleep(_RETRY_PAUSE)
        return await self._request(method, endpoint, body)

    @staticmethod
    def _raise_for(status: int, text: str) -> None:
        if status == 200:
            return
        reason = _reason_text(text) or f"HTTP {status}"
        if status == 412:
            if "busy" in reason.lower():
                raise JibriBusy(reason, status)
            raise JibriRefused(reason, status)
        if 400 <= status < 500:
            raise JibriRefused(reason, status)
        raise JibriUnavailable(f"Jibri answered HTTP {status}")

    async def start_file_recording(
        self,
        session_id: str,
        base_url: str,
        call_name: str,
        login: JibriLogin | tuple[str, str, str] | None,
    ) -> None:
        """Ask Jibri to record ``{base_url}/{call_name}`` to a file.

        ``session_id`` becomes the recording directory's name (Jibri replaces characters
        outside ``[a-zA-Z0-9_-]``). Returns when Jibri accepted to *try*; the outcome comes
        later through the session webhook. Raises :class:`JibriBusy`,
        :class:`JibriRefused` (e.g. login missing) or :class:`JibriUnavailable`.
        """
        if not session_id:
            raise ValueError("session_id is required")
        body: dict[str, Any] = {
            "sessionId": session_id,
            "callParams": {"callUrlInfo": {"baseUrl": base_url.rstrip("/"), "callName": call_name}},
            "sinkType": "file",
        }
        if login is not None:
            domain, username, password = login
            body["callLoginParams"] = {
                "domain": domain,
                "username": username,
                "password": password,
            }
        status, text = await self._request("POST", "startService", body)
        self._raise_for(status, text)

    async def stop(self) -> None:
        """Stop whatever Jibri is running (``stopService``; Jibri always answers 200)."""
        status, text = await self._request_idempotent("POST", "stopService")
        self._raise_for(status, text)

    async def health(self) -> JibriHealth:
        status, text = await self._request_idempotent("GET", "health")
        self._raise_for(status, text)
        try:
            payload = json.loads(text)
            busy, health, details = _health_from(payload.get("status"))
        except (ValueError, AttributeError) as exc:
            raise JibriUnavailable("Jibri health answer is not understood") from exc
        return JibriHealth(busy, health, details, payload.get("environmentContext"))
