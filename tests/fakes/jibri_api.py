"""A fake Jibri HTTP API, written from shared/reference/jitsi.md 3.2 (and Jibri HttpApi.kt).

Behaviour imitated:

* ``GET  /jibri/api/v1.0/health`` -> 200 ``{"status": {"busyStatus": "IDLE"|"BUSY",
  "health": {"healthStatus": "HEALTHY"|"UNHEALTHY", "details": {}}}}`` plus
  ``environmentContext`` (null for HTTP-started services) while busy;
* ``POST /jibri/api/v1.0/startService``: parameters are checked first, as Jibri does
  (``file``/``stream`` without ``callLoginParams`` -> 412 "Call login params missing",
  ``stream`` without ``youTubeStreamKey`` -> 412 "Stream key missing", ``gateway`` without
  ``sipClientParams`` -> 412 "SIP client params missing"); then a busy Jibri answers 412
  "Jibri is currently busy"; otherwise 200 with an empty body and the fake becomes busy;
  an unreadable body gets 400 (Ktor failing to bind the request);
* ``POST /jibri/api/v1.0/stopService`` -> always 200; the fake becomes idle.

Test knobs: ``slow_seconds`` delays every answer (up to that long, or until
:meth:`release_slow` is called), ``fail_with_500`` makes start answer 500, ``busy`` and
``healthy`` can be set directly, and every request is recorded in ``requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PREFIX = "/jibri/api/v1.0"


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeJibriApi:
    def __init__(self) -> None:
        self.busy = False
        self.healthy = True
        self.session_id: str | None = None
        self.last_start: dict[str, Any] | None = None
        self.slow_seconds = 0.0
        self.fail_with_500 = False
        self.requests: list[RecordedRequest] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(f"{PREFIX}/health", self._health)
        app.router.add_post(f"{PREFIX}/startService", self._start_service)
        app.router.add_post(f"{PREFIX}/stopService", self._stop_service)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self.release_slow()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeJibriApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def reset(self) -> None:
        self.busy = False
        self.healthy = True
        self.session_id = None
        self.last_start = None
        self.slow_seconds = 0.0
        self.fail_with_500 = False
        self.requests.clear()
        self._release = asyncio.Event()

    def release_slow(self) -> None:
        """Let every answer held by ``slow_seconds`` go out now."""
        self._release.set()

    # ------------------------------------------------------------ handlers
    async def _maybe_slow(self) -> None:
        if self.slow_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.slow_seconds)

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        rec = RecordedRequest(request.method, request.path, body, dict(request.headers))
        self.requests.append(rec)
        return rec

    async def _health(self, request: web.Request) -> web.Response:
        await self._record(request)
        await self._maybe_slow()
        payload: dict[str, Any] = {
            "status": {
                "busyStatus": "BUSY" if self.busy else "IDLE",
                "health": {
                    "healthStatus": "HEALTHY" if self.healthy else "UNHEALTHY",
                    "details": {},
                },
            }
        }
        if self.busy:
            payload["environmentContext"] = None
        return web.json_response(payload)

    async def _start_service(self, request: web.Request) -> web.Response:
        rec = await self._record(request)
        await self._maybe_slow()
        body = rec.body
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("sessionId"), str)
            or not isinstance(body.get("callParams"), dict)
            or not isinstance(body["callParams"].get("callUrlInfo"), dict)
            or not isinstance(body.get("sinkType"), str)
        ):
            return web.Response(status=400, text="Bad Request")
        sink = body["sinkType"].lower()
        if sink not in ("file", "stream", "gateway"):
            return web.Response(status=400, text="Bad Request")
        # Parameter checks run before the busy check in Jibri's handleStartService.
        if sink == "stream" and not body.get("youTubeStreamKey"):
            return web.Response(status=412, text="Stream key missing")
        if sink in ("file", "stream") and not isinstance(body.get("callLoginParams"), dict):
            return web.Response(status=412, text="Call login params missing")
        if sink == "gateway" and not body.get("sipClientParams"):
            return web.Response(status=412, text="SIP client params missing")
        if self.fail_with_500:
            return web.Response(status=500)
        if self.busy:
            return web.Response(status=412, text="Jibri is currently busy")
        self.busy = True
        self.session_id = body["sessionId"]
        self.last_start = body
        return web.Response(status=200)

    async def _stop_service(self, request: web.Request) -> web.Response:
        await self._record(request)
        await self._maybe_slow()
        self.busy = False
        self.session_id = None
        return web.Response(status=200)
