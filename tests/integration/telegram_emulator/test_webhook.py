"""Webhook delivery: the emulator POSTs updates to a local aiohttp handler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Update
from telegram.error import Conflict

from tests.fakes.telegram import TelegramEmulator

from .conftest import Seen, echo_app, ptb_bot

SECRET = "s3cr3t_token-OK"


class Receiver:
    """A webhook endpoint that checks like PTB's own webhook server (reference §3.3)."""

    def __init__(self, secret: str | None = SECRET) -> None:
        self.secret = secret
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self.on_update: Any = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if request.headers.get("Content-Type") != "application/json":
            return web.Response(status=403)
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.secret:
            return web.Response(status=403)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        if self.on_update is not None:
            await self.on_update(json.loads(body))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/telegram/webhook", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/webhook"
    yield rec
    await runner.cleanup()


async def test_webhook_delivery_headers_and_body(emu: TelegramEmulator, receiver: Receiver) -> None:
    anna = emu.user(id=4001)
    async with ptb_bot(emu) as bot:
        assert await bot.set_webhook(receiver.url, secret_token=SECRET)
        sent = await anna.send_text("hola")
        await emu.drain(3)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == receiver.url and info.pending_update_count == 0
        [request] = receiver.requests
        assert request["headers"]["Content-Type"] == "application/json"  # exactly
        assert request["headers"]["X-Telegram-Bot-Api-Secret-Token"] == SECRET
        update = Update.de_json(json.loads(request["body"]), bot)
        assert update.message is not None and update.message.text == "hola"
        assert update.message.message_id == sent.message_id
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
    assert emu.stats.webhook_deliveries == 1


async def test_webhook_retries_on_non_2xx(emu: TelegramEmulator, receiver: Receiver) -> None:
    receiver.fail_first = 2
    anna = emu.user(id=4002)
    async with ptb_bot(emu) as bot:
        await bot.set_webhook(receiver.url, secret_token=SECRET)
        await anna.send_text("u")
        await anna.send_text("dos")
        await emu.drain(3)
        info = await bot.get_webhook_info()
    bodies = [json.loads(r["body"])["message"]["text"] for r in receiver.requests]
    assert bodies == ["u", "u", "u", "dos"]  # retried in order, delivered once each
    assert emu.stats.webhook_failures == 2 and emu.stats.webhook_deliveries == 2
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_wrong_secret_is_refused_until_dropped(
    emu: TelegramEmulator, receiver: Receiver
) -> None:
    anna = emu.user(id=4003)
    async with ptb_bot(emu) as bot:
        await bot.set_webhook(receiver.url, secret_token="another_secret")
        await anna.send_text("hola")
        await emu.drain(3)
    assert len(receiver.requests) == emu.webhook_max_attempts == 4
    assert emu.stats.webhook_dropped == 1


async def test_ptb_application_fed_by_webhook(emu: TelegramEmulator, receiver: Receiver) -> None:
    """Webhook mode as the project runs it: its own aiohttp route feeds ``app.update_queue``."""
    seen = Seen()
    app = echo_app(emu, seen, updater=None)
    anna = emu.user(id=4004)

    async def feed(data: dict[str, Any]) -> None:
        await app.update_queue.put(Update.de_json(data, app.bot))

    receiver.on_update = feed
    async with app:
        await app.start()
        await app.bot.set_webhook(receiver.url, secret_token=SECRET)
        await anna.send_text("per webhook")
        [reply] = await anna.wait_for_messages(1, timeout=3)
        await app.stop()
    assert reply.text == "per webhook"
    assert not seen.errors


async def _receiver_at() -> tuple[Receiver, web.AppRunner]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/telegram/webhook", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/webhook"
    return rec, runner


def _texts(rec: Receiver) -> list[str]:
    return [json.loads(r["body"])["message"]["text"] for r in rec.requests]


async def test_a_balancer_delivers_in_turn_and_routes_around_a_dead_target(
    emu: TelegramEmulator,
) -> None:
    first, first_runner = await _receiver_at()
    second, second_runner = await _receiver_at()
    anna = emu.user(id=4011)
    try:
        async with ptb_bot(emu) as bot:
            assert await bot.set_webhook("https://oac.test/telegram/webhook", secret_token=SECRET)
            emu.balance([first.url, second.url])
            for text in ("u1", "u2", "u3", "u4"):
                await anna.send_text(text)
            await emu.drain(5)
            assert (_texts(first), _texts(second)) == (["u1", "u3"], ["u2", "u4"])
            assert (await bot.get_webhook_info()).url == "https://oac.test/telegram/webhook"

            await second_runner.cleanup()  # its process is gone: connections refused
            for text in ("u5", "u6", "u7"):
                await anna.send_text(text)
            await emu.drain(5)
            assert _texts(first) == ["u1", "u3", "u5", "u6", "u7"]
            assert emu.stats.webhook_refused >= 1 and emu.stats.webhook_dropped == 0
            acknowledged = set(emu.acknowledged_by.values())
            assert acknowledged == {first.url, second.url}

            await first_runner.cleanup()  # both gone: the update waits, it is not dropped
            await anna.send_text("u8")
            # More rounds than the attempts after which a failing update is dropped.
            rounds = 2 * emu.webhook_max_attempts
            await emu.wait_for(lambda: emu.stats.webhook_refused >= 2 + rounds)
            assert emu.stats.webhook_dropped == 0 and len(emu.updates) == 1
            await bot.delete_webhook()
    finally:
        await first_runner.cleanup()
        await second_runner.cleanup()
