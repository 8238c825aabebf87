"""The one aiohttp server: health, metrics, and (later) webhooks, files and verification."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from bot.app import App

APP_KEY = web.AppKey("videotramit", App)


async def healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    try:
        async with app.db_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    pending = await app.outbox.pending()
    body = (
        "# HELP videotramit_outbox_pending Messages waiting to be delivered.\n"
        "# TYPE videotramit_outbox_pending gauge\n"
        f"videotramit_outbox_pending {pending}\n"
        "# HELP videotramit_outbox_delivered_total Messages delivered by this instance.\n"
        "# TYPE videotramit_outbox_delivered_total counter\n"
        f"videotramit_outbox_delivered_total {app.dispatcher.delivered}\n"
    )
    return web.Response(text=body, content_type="text/plain", charset="utf-8")


def build_web(app: App) -> web.Application:
    server = web.Application(client_max_size=25 * 1024 * 1024)
    server[APP_KEY] = app
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", metrics)
    return server
