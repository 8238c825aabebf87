"""A turn is taken once and its replies are never lost with the instance that answered it.

Telegram delivers an update again when the bot did not answer it (the instance died, or a
load balancer sent it elsewhere): the second delivery must not run the turn again. And a
turn's replies are kept in the outbox in the turn's own transaction: if the instance dies
after committing and before sending them, another instance's dispatcher sends them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.channels.telegram import SECRET_HEADER
from handlers.engine import HELD_RETRY, REPLY_HOLD
from handlers.messages import Turn, TurnKind
from storage.models import HandledUpdateRow, OutboxRow
from storage.repositories.records import TURN_REPLY
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import WEBHOOK_SECRET, RunningBot, running_bot


def _start(update_id: int, user_id: int, name: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 0, "text": "/start",
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": {"id": user_id, "is_bot": False, "first_name": name, "language_code": "ca"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }  # fmt: skip


async def _post(bot: RunningBot, update: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{bot.web_url}/telegram/webhook",
            data=json.dumps(update),
            headers={"Content-Type": "application/json", SECRET_HEADER: WEBHOOK_SECRET},
        ) as response,
    ):
        return response.status


async def _dispatch_all(bot: RunningBot) -> int:
    """Run the dispatcher until nothing is due (it takes one message of a chat a pass)."""
    total = 0
    while settled := await bot.app.dispatcher.run_once():
        total += settled
    return total


async def _replies(bot: RunningBot) -> list[OutboxRow]:
    async with bot.app.sessions() as session:
        query = select(OutboxRow).where(OutboxRow.kind == TURN_REPLY).order_by(OutboxRow.id)
        return list((await session.execute(query)).scalars())


async def test_an_update_delivered_again_is_not_taken_twice(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock(), mode="webhook") as bot:
        rita = emu.user(id=6601, first_name="Rita", language_code="ca")
        update = _start(910_001, rita.id, "Rita")
        assert await _post(bot, update) == 200  # answered once handled and replied
        greeting = [m.text for m in rita.inbox]
        assert greeting and "Hola" in (greeting[0] or "")
        # Telegram did not get that 200 (say the instance died just then): it delivers the
        # same update again, maybe to another instance.
        assert await _post(bot, update) == 200
        assert [m.text for m in rita.inbox] == greeting  # nothing said twice
        # The same words in a new update are a new turn.
        assert await _post(bot, _start(910_002, rita.id, "Rita")) == 200
        assert [m.text for m in rita.inbox] == greeting * 2
        async with bot.app.sessions() as session:
            keys = (await session.execute(select(HandledUpdateRow.key))).scalars().all()
        assert sorted(keys) == ["910001", "910002"]
        # Sent with their turns: settled (together, a moment later), nothing left.
        await bot.app.engine.settle_sent()
        assert all(row.delivered_at is not None for row in await _replies(bot))
        assert await bot.app.dispatcher.run_once() == 0


async def test_replies_of_an_instance_that_died_before_sending_are_sent_by_the_outbox(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        pere = bot.person(emu.user(id=6602, first_name="Pere", language_code="ca"))
        turn = Turn(
            channel="telegram",
            external_id="6602",
            address="6602",
            kind=TurnKind.COMMAND,
            command="start",
            display_name="Pere",
            language_hint="ca",
            key="920001",
        )
        # The turn commits; the instance dies before it sends anything (no `sent`).
        answer = await bot.app.engine.answer(turn)
        assert [r.text for r in answer.replies][0].startswith("Hola")
        assert len(answer.held) == len(answer.replies)
        assert await bot.app.dispatcher.run_once() == 0  # held for the answering instance
        assert pere.user.inbox == []
        clock.advance(seconds=REPLY_HOLD.total_seconds() + 1)  # the answering instance is gone
        assert await _dispatch_all(bot) == len(answer.replies)
        assert [m.text for m in pere.user.inbox] == [r.text for r in answer.replies]
        pere._new()
        # The buttons sent by the outbox are the turn's own, live: the person goes on.
        await pere.press("Català")
        assert "Abans de començar" in pere.text
        # Telegram delivers the dead instance's update again: taken already.
        again = await bot.app.engine.answer(turn)
        assert again.replies == [] and again.held == ()
        assert pere.user.unread == []


async def test_a_reply_telegram_refused_with_its_turn_is_sent_later_by_the_outbox(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        nuria = bot.person(emu.user(id=6603, first_name="Núria", language_code="ca"))
        emu.fail_next("sendMessage", 400, "Bad Request: unexpected failure")
        await nuria.command("start")
        assert nuria.last == []  # the first reply was refused, so the rest waited too
        await bot.app.engine.settle_sent()
        rows = await _replies(bot)
        assert rows and all(row.delivered_at is None for row in rows)
        assert all(row.claimed_until is None for row in rows)  # the dispatcher's now
        clock.advance(seconds=HELD_RETRY.total_seconds() + 1)
        assert await _dispatch_all(bot) == len(rows)
        texts = [m.text or "" for m in nuria.user.unread]
        assert len(texts) == len(rows) and texts[0].startswith("Hola")
        assert await bot.app.dispatcher.run_once() == 0  # sent once
