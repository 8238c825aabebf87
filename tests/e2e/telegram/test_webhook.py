"""Webhook mode: Telegram POSTs updates to our own aiohttp server at /telegram/webhook."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import WEBHOOK_SECRET, running_bot


async def test_webhook_secret_is_checked_and_updates_flow(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock(), mode="webhook") as bot:
        url = f"{bot.web_url}/telegram/webhook"
        assert emu.webhook is not None
        assert emu.webhook["url"] == url  # setWebhook({public_base_url}/telegram/webhook)
        assert emu.webhook["secret_token"] == WEBHOOK_SECRET

        forged = {
            "update_id": 1,
            "message": {
                "message_id": 1, "date": 0, "text": "/start",
                "chat": {"id": 6501, "type": "private", "first_name": "Eve"},
                "from": {"id": 6501, "is_bot": False, "first_name": "Eve"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(
                    url,
                    data=json.dumps(forged),
                    headers={
                        "Content-Type": "application/json",
                        **headers,
                    },
                ) as response:
                    assert response.status == 403
            assert bot.channel.counters["updates"] == 0

        # Through Telegram (the emulator), with the right secret, it works.
        carla = bot.person(emu.user(id=6502, first_name="Carla", language_code="es"))
        await carla.command("start")
        assert "¡Hola!" in carla.text
        await carla.press("Castellano")
        assert "Antes de empezar" in carla.text
        assert emu.stats.webhook_deliveries >= 2 and emu.stats.webhook_failures == 0
        assert not emu.calls_to("getUpdates")
