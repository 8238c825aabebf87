"""The one aiohttp server: health, metrics, webhooks (Jibri; channels add their own, e.g.
Telegram's), document links and receipt verification. Each part registers its own routes
in `build_web`."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from bot.app import App
from bot.channels.base import ServesWeb
from bot.web_files import add_file_routes  # issue 4
from bot.web_jibri import add_jibri_routes, jibri_metrics  # issue 5
from bot.web_verify import add_verify_routes  # issue 4

APP_KEY = web.AppKey("videotramit", App)


# How long /readyz waits for the database before it says "unavailable".
READY_TIMEOUT_SECONDS = 2.0


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Needs no database, so it never waits for one."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers within READY_TIMEOUT_SECONDS."""
    app = request.app[APP_KEY]

    async def ping() -> None:
        async with app.db_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), READY_TIMEOUT_SECONDS)
    except Exception:
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    pending = await app.outbox.pending()
    interrupted = await app.outbox.interrupted()
    body = (
        "# HELP videotramit_outbox_pending Messages waiting to be delivered.\n"
        "# TYPE videotramit_outbox_pending gauge\n"
        f"videotramit_outbox_pending {pending}\n"
        "# HELP videotramit_outbox_delivered_total Messages delivered by this instance.\n"
        "# TYPE videotramit_outbox_delivered_total counter\n"
        f"videotramit_outbox_delivered_total {app.dispatcher.delivered}\n"
        "# HELP videotramit_outbox_interrupted Messages cut mid-send by a crash, reported"
        " instead of sent again (all instances).\n"
        "# TYPE videotramit_outbox_interrupted gauge\n"
        f"videotramit_outbox_interrupted {interrupted}\n"
    )
    body += await jibri_metrics(request.app)  # issue 5
    return web.Response(text=body, content_type="text/plain", charset="utf-8")


def build_web(app: App) -> web.Application:
    server = web.Application(client_max_size=25 * 1024 * 1024)
    server[APP_KEY] = app
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/readyz", readyz)
    server.router.add_get("/metrics", metrics)
    for channel in app.channels.values():  # e.g. Telegram's webhook
        if isinstance(channel, ServesWeb):
            server.router.add_routes(channel.web_routes())
    add_file_routes(server, app)  # issue 4: /files/{token}
    add_verify_routes(server, app)  # issue 4: /verify, /verify/{code}
    add_jibri_routes(server, app)  # issue 5: /jibri/v1/status, /jibri/v1/session/status
    return server
