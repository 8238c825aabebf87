"""Restarts (the bot's and the homeserver's), the homeserver's real rate limiter, people
leaving, groups and too many invitations."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select

from bot.channels.base import Unreachable
from handlers.messages import Reply
from storage.models import UserRow
from tests.support import Clock
from tests.synapse import Synapse

from .conftest import Talk, running_bot, unique


async def test_the_bot_restarts_keeps_its_device_and_still_decrypts(
    synapse: Synapse, tmp_path: Path
) -> None:
    account = synapse.register(unique("oac"))
    async with running_bot(synapse, tmp_path, Clock(), account=account) as bot:
        device = bot.channel.device_id
        maria = Talk(bot, await bot.person("maria"))
        await maria.opened(encrypted=True)
        await maria.choose("Català")
        assert "Abans de començar" in maria.text
        person = bot.people.pop()  # she stays; the bot goes
    saved = json.loads((tmp_path / "matrix" / "session.json").read_text())
    assert (
        saved["device_id"] == device
        and (tmp_path / "matrix" / "session.json").stat().st_mode & 0o077 == 0
    )
    async with running_bot(synapse, tmp_path, Clock(), account=account) as again:
        assert again.channel.device_id == device  # the session was restored, not a new login
        again.adopt(person)
        maria = Talk(again, person)
        await maria.choose("D'acord")  # a new message in the encrypted room, after the restart
        assert "Què vols fer?" in maria.text, maria.text
        assert again.channel.counters["undecryptable"] == 0
        # Nothing from before the restart was answered twice.
        assert sum("Abans de començar" in s.body for s in person.seen) == 1


async def test_synapse_restarted_mid_conversation(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path, Clock(), dispatcher=True) as bot:
        rosa = Talk(bot, await bot.person("rosa"))
        await rosa.opened(encrypted=True)
        await rosa.choose("Català")
        await asyncio.to_thread(synapse.restart)
        await bot.channel.wait_synced(timeout=60)  # the sync resumed by itself
        await rosa.person.synced()
        await rosa.choose("D'acord")
        assert "Què vols fer?" in rosa.text, rosa.text
        # Proactive messages too (the outbox), after the restart.
        await bot.channel.deliver(rosa.person.room_id, Reply(text="Recordatori de prova"))
        await rosa.wait_seen("Recordatori de prova")


async def test_the_homeservers_rate_limit_is_honoured(synapse: Synapse, tmp_path: Path) -> None:
    admin = synapse.register(unique("admin"), admin=True)
    account = synapse.register(unique("oac"))
    # Synapse's own message rate limiter, left low for this bot: 1 message/s, burst 2.
    synapse.limit_messages(admin, account.user_id, per_second=1, burst=2)
    async with running_bot(synapse, tmp_path, Clock(), account=account) as bot:
        pau = Talk(bot, await bot.person("pau"))
        await pau.opened(encrypted=False)
        for _ in range(3):
            await pau.say("ajuda")  # each answer is two messages: help, then the question
            assert "Sempre pots" in pau.text and "1. Català" in pau.text, pau.text
        assert bot.channel.counters["rate_limited"] > 0  # the homeserver said M_LIMIT_EXCEEDED
        assert bot.channel.counters["failed"] == 0  # ...and every message still went out


async def test_a_citizen_who_leaves_is_unreachable(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path, Clock()) as bot:
        joan = Talk(bot, await bot.person("joan"))
        await joan.opened(encrypted=True)
        room = joan.person.room_id
        await joan.person.client.room_leave(room)

        async def unreachable() -> bool:
            async with bot.app.sessions() as session:
                query = select(UserRow.unreachable).where(
                    UserRow.channel == "matrix", UserRow.external_id == joan.person.user_id
                )
                return bool((await session.execute(query)).scalar_one())

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not await unreachable():
            assert loop.time() < deadline, "not marked unreachable"
            await asyncio.sleep(0.05)
        await joan.person.wait_for(lambda: room not in bot.channel._live().rooms)  # bot left too
        try:
            await bot.channel.deliver(room, Reply(text="hola"))
        except Unreachable:
            pass
        else:
            raise AssertionError("a room nobody is in any more is unreachable")
        # Inviting the bot again makes her reachable again, in the new room.
        await joan.opened(encrypted=False)
        assert not await unreachable()


async def test_groups_get_only_a_pointer_and_invites_are_rate_limited(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with running_bot(synapse, tmp_path, Clock(), invites_per_hour=2) as bot:
        ona = Talk(bot, await bot.person("ona"))
        other = synapse.register(unique("pere"))
        answer = await ona.person.client.room_create(
            invite=[bot.account.user_id, other.user_id], name="Veïns"
        )
        room = answer.room_id  # type: ignore[union-attr]
        ona.person.room_id = room
        seen = await ona.wait_seen("només atenc en xats privats")
        assert f"https://matrix.to/#/{bot.account.user_id}" in seen.body
        await ona.person.wait_for(lambda: room not in bot.channel._live().rooms)  # it left
        assert bot.channel.counters["turns"] == 0  # nothing from the group reached a conversation
        # A second invitation from her is accepted (two an hour); the third is refused.
        await ona.opened(encrypted=False)
        third = await ona.person.open_dm(encrypted=False)
        await ona.person.wait_for(lambda: bot.channel.counters["refused_invites"] == 1)
        assert third not in bot.channel._live().rooms
