"""The one aiohttp server: health, metrics, webhooks (Telegram, Jibri), document links and
receipt verification. Each part registers its own routes in `build_web`."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy import text

from bot.app import App
from bot.web_files import add_file_routes  # issue 4
from bot.web_jibri import add_jibri_routes, jibri_metrics  # issue 5
from bot.web_verify import add_verify_routes  # issue 4

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
    body += jibri_metrics(request.app)  # issue 5
    return web.Response(text=body, content_type="text/plain", charset="utf-8")


# --- Telegram webhook (issue 3) ---------------------------------------------------------
async def telegram_webhook(request: web.Request) -> web.Response:
    """Updates POSTed by Telegram (`[telegram] mode = "webhook"`), authenticated by the
    secret token given to setWebhook. The update is queued; Telegram gets 200 at once."""
    from bot.channels.telegram import SECRET_HEADER, TelegramChannel

    channel = request.app[APP_KEY].channels.get("telegram")
    if not isinstance(channel, TelegramChannel) or channel.mode != "webhook":
        raise web.HTTPNotFound()
    expected = channel.options.webhook_secret.encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        logging.getLogger("videotramit.web").warning("telegram webhook: wrong secret token")
        return web.Response(status=403, text="forbidden")
    try:
        update = json.loads(await request.read())
    except ValueError:
        return web.Response(status=400, text="not JSON")
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return web.Response(status=400, text="not an update")
    try:
        await channel.accept_webhook(update)
    except RuntimeError:  # not started yet, or stopping: Telegram will deliver it again
        return web.Response(status=503, text="not ready")
    except (KeyError, TypeError, ValueError):
        return web.Response(status=400, text="not an update")
    return web.Response(status=200)


# --- end Telegram webhook ----------------------------------------------------------------


def build_web(app: App) -> web.Application:
    server = web.Application(client_max_size=25 * 1024 * 1024)
    server[APP_KEY] = app
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", metrics)
    server.router.add_post("/telegram/webhook", telegram_webhook)  # issue 3
    add_file_routes(server, app)  # issue 4: /files/{token}
    add_verify_routes(server, app)  # issue 4: /verify, /verify/{code}
    add_jibri_routes(server, app)  # issue 5: /jibri/v1/status, /jibri/v1/session/status
    return server
