"""The route Telegram POSTs updates to in webhook mode (``/telegram/webhook``), registered
on the service's web server by the channel itself (``TelegramChannel.web_routes``)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from bot.channels.telegram.adapter import TelegramChannel

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
log = logging.getLogger("videotramit.web")


def webhook_route(channel: TelegramChannel) -> web.RouteDef:
    """Updates authenticated by the secret token given to setWebhook. Telegram gets 200
    once the update has been handled (its replies sent), 503 when the channel stopped
    first: an update is acknowledged only when nothing of it is left in this process."""

    async def receive(request: web.Request) -> web.Response:
        expected = channel.options.webhook_secret.encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: wrong secret token")
            return web.Response(status=403, text="forbidden")
        try:
            update: Any = json.loads(await request.read())
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

    return web.post(WEBHOOK_PATH, receive)
