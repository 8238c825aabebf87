"""Jibri's webhooks: `POST /jibri/v1/status` and `POST /jibri/v1/session/status`.

Both need `Authorization: Bearer <[jibri] webhook_token>` (compared in constant time).
With no token configured the endpoints do not exist (404): an unauthenticated webhook is
never accepted. Answers: 401 without or with a wrong token, 400 for a body that is not
JSON or not a Jibri webhook, 200 otherwise (also for a session of a room we do not know:
it is logged, Jibri does not retry).

* `/v1/status` (every minute and on each change): the latest status of each Jibri is
  kept in the database (`jibri_status`: every instance's `/metrics` shows every Jibri,
  whichever instance its webhook reached) and shown by `/metrics`
  (`videotramit_jibri_busy`, `videotramit_jibri_healthy`,
  `videotramit_jibri_last_seen_timestamp_seconds`).
* `/v1/session/status` (recordings we started over HTTP: running, finished, failed): the
  Jibri `sessionId` is the room name (bot/services.py starts recordings so), which finds
  the appointment. Each report is appended to its evidence (`recording_status`, actor
  `jibri`) and the latest is kept in `details["recording"]["jibri"]`;
  `details["recording"]["status"]` becomes `started` when Jibri reports ON and `failed`
  when it reports a failure (an ingested recording keeps `ingested`).
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.app import App
from jitsi.jibri import (
    JibriSessionStatus,
    JibriStatus,
    parse_session_webhook,
    parse_status_webhook,
)
from storage.shared import JibriStatusStore

log = logging.getLogger("videotramit.web.jibri")

MAX_BODY = 64 * 1024
RECORDING_STATUS = "recording_status"


class JibriBoard:
    """The latest `/v1/status` of each Jibri, for `/metrics`, shared by every instance."""

    def __init__(self, store: JibriStatusStore) -> None:
        self._store = store

    async def update(self, status: JibriStatus, at: datetime) -> None:
        await self._store.update(status.jibri_id, status.busy_status, status.health_status, at)

    async def metrics(self) -> str:
        busy = [
            "# HELP videotramit_jibri_busy 1 if the Jibri reported BUSY in its last status.",
            "# TYPE videotramit_jibri_busy gauge",
        ]
        healthy = [
            "# HELP videotramit_jibri_healthy 1 if the Jibri reported HEALTHY in its last status.",
            "# TYPE videotramit_jibri_healthy gauge",
        ]
        seen = [
            "# HELP videotramit_jibri_last_seen_timestamp_seconds When the Jibri's last "
            "status arrived.",
            "# TYPE videotramit_jibri_last_seen_timestamp_seconds gauge",
        ]
        for jibri_id, busy_status, health_status, at in await self._store.latest():
            label = f'{{jibri="{_label(jibri_id)}"}}'
            busy.append(f"videotramit_jibri_busy{label} {int(busy_status.upper() == 'BUSY')}")
            is_healthy = health_status.upper() == "HEALTHY"
            healthy.append(f"videotramit_jibri_healthy{label} {int(is_healthy)}")
            seen.append(
                f"videotramit_jibri_last_seen_timestamp_seconds{label} {at.timestamp():.0f}"
            )
        return "\n".join(busy + healthy + seen) + "\n"


def _label(value: str) -> str:
    """A Prometheus label value: backslash, quote and newline escaped."""
    return value[:128].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


BOARD_KEY = web.AppKey("videotramit_jibri_board", JibriBoard)


async def jibri_metrics(server: web.Application) -> str:
    board = server.get(BOARD_KEY)
    return await board.metrics() if board is not None else ""


def recording_update(
    current: dict[str, Any], report: JibriSessionStatus, at: datetime
) -> dict[str, Any]:
    """`details["recording"]` after a session report: existing keys kept, the report
    under `jibri`, `status` moved to `started` (ON) or `failed` (a failure)."""
    latest: dict[str, Any] = {
        "status": report.status,
        "jibri_id": report.jibri_id,
        "session_id": report.session_id,
        "at": at.isoformat(),
    }
    if report.failure_reason is not None:
        latest["failure_reason"] = report.failure_reason
    if report.failure_error is not None:
        latest["failure_error"] = report.failure_error
    if report.should_retry is not None:
        latest["should_retry"] = report.should_retry
    updated = {**current, "jibri": latest}
    if current.get("status") != "ingested":
        if report.failure_reason or report.failure_error:
            updated["status"] = "failed"
        elif report.status == "ON":
            updated["status"] = "started"
    return updated


class JibriWebhooks:
    def __init__(self, app: App, board: JibriBoard) -> None:
        self.app = app
        self.board = board

    def _authorised(self, request: web.Request) -> web.Response | None:
        """None when the bearer token is right, else the answer to give."""
        expected = self.app.settings.jibri.webhook_token.get_secret_value()
        if not expected:
            raise web.HTTPNotFound()
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), expected.encode()
        )
        if ok:
            return None
        log.warning("jibri webhook: missing or wrong bearer token")
        return web.json_response(
            {"error": "unauthorized"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="videotramit-jibri"'},
        )

    async def _payload(self, request: web.Request) -> Any:
        size = request.content_length
        if size is not None and size > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=size)
        raw = await request.read()  # bounded by the server's client_max_size as well
        if len(raw) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
            ) from None

    async def status(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        try:
            report = parse_status_webhook(await self._payload(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        await self.board.update(report, self.app.clock.now())
        return web.json_response({"ok": True})

    async def session_status(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        try:
            report = parse_session_webhook(await self._payload(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        now = self.app.clock.now()
        async with self.app.uow() as uow:
            appointment = await uow.appointments.by_room(report.session_id)
            if appointment is None:
                log.warning(
                    "jibri session status for an unknown room",
                    extra={"session": report.session_id[:80], "status": report.status},
                )
                return web.json_response({"ok": True, "recorded": False})
            details = dict(appointment.details)
            recording = details.get("recording")
            details["recording"] = recording_update(
                dict(recording) if isinstance(recording, dict) else {}, report, now
            )
            await uow.appointments.update(appointment.id, details=details)
            data = {
                key: value for key, value in details["recording"]["jibri"].items() if key != "at"
            }
            await uow.evidence.append(
                appointment_id=appointment.id,
                reference=appointment.reference,
                kind=RECORDING_STATUS,
                actor="jibri",
                data=data,
                at=now,
            )
            await uow.commit()
        return web.json_response({"ok": True, "recorded": True})


def add_jibri_routes(server: web.Application, app: App) -> None:
    board = JibriBoard(app.jibri_status)
    server[BOARD_KEY] = board
    hooks = JibriWebhooks(app, board)
    server.router.add_post("/jibri/v1/status", hooks.status)
    server.router.add_post("/jibri/v1/session/status", hooks.session_status)
