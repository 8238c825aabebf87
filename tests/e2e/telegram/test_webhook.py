"""Webhook mode: Telegram POSTs updates to our own aiohttp server at /telegram/webhook."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from bot.channels.telegram import SECRET_HEADER
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
        # The 200 comes once the turn's replies are settled, a moment after they arrive.
        await emu.drain()
        assert emu.stats.webhook_deliveries >= 2 and emu.stats.webhook_failures == 0
        assert not emu.calls_to("getUpdates")


async def test_the_service_runs_the_channel(emu: TelegramEmulator, tmp_path: Path) -> None:
    """`videotramit run` as a whole (bot/service.py): web server, webhook, channel, outbox."""
    import asyncio

    from bot.app import build_app
    from bot.channels.telegram import TelegramChannel
    from bot.service import serve
    from tests.support import office_settings

    from .conftest import free_port, staff_entries

    port = free_port()
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        staff=staff_entries(),
        telegram={
            "enabled": True,
            "token": emu.token,
            "base_url": emu.base_url,
            "mode": "webhook",
            "webhook_secret": WEBHOOK_SECRET,
        },
        web={"listen": f"127.0.0.1:{port}", "public_base_url": f"http://127.0.0.1:{port}"},
    )
    app = build_app(settings, clock=Clock())
    channel = app.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    stop = asyncio.Event()
    service = asyncio.create_task(serve(app, stop=stop))
    try:
        await emu.wait_for(lambda: channel.running and emu.webhook is not None, 10)
        pau = emu.user(id=6511, first_name="Pau", language_code="en")
        await pau.send_command("start")
        [hello, question] = await pau.wait_for_messages(2, timeout=10)
        assert "Hello!" in (hello.text or "") and "English" in question.button_texts
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
    finally:
        stop.set()
        await asyncio.wait_for(service, 20)
        await emu._delete_webhook()
    assert not channel.running


async def test_a_rejected_token_is_a_configuration_error(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    import pytest

    from bot.channels.telegram import options_from
    from bot.channels.telegram.adapter import TelegramChannel
    from config.settings import ConfigError
    from tests.support import office_settings

    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        telegram={"enabled": True, "token": "123456789:wrong-token", "base_url": emu.base_url},
    )
    channel = TelegramChannel(options_from(settings), conversation=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="telegram.token"):
        await channel.start()
    with pytest.raises(ConfigError, match="telegram.webhook_secret"):
        options_from(
            office_settings(
                "sqlite+aiosqlite://",
                tmp_path,
                telegram={"enabled": True, "token": "1:x", "mode": "webhook"},
            )
        )


async def test_an_update_is_acknowledged_once_handled(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    """Telegram's 200 comes after the replies: an instance that dies before has not
    acknowledged the update, so Telegram (or the load balancer) delivers it elsewhere.
    Before, the update was acknowledged once queued in memory, and lost with the process."""
    async with running_bot(emu, tmp_path, Clock(), mode="webhook") as bot:
        emu.user(id=6503, first_name="Joan", language_code="ca")
        update = {
            "update_id": 7,
            "message": {
                "message_id": 1, "date": 0, "text": "/start",
                "chat": {"id": 6503, "type": "private", "first_name": "Joan"},
                "from": {"id": 6503, "is_bot": False, "first_name": "Joan"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }  # fmt: skip
        headers = {"Content-Type": "application/json", SECRET_HEADER: WEBHOOK_SECRET}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{bot.web_url}/telegram/webhook", data=json.dumps(update), headers=headers
            ) as response,
        ):
            assert response.status == 200
            # Already answered: the greeting and the language question.
            assert len(emu.messages(6503)) == 2
