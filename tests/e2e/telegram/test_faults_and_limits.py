"""Telegram's hiccups and limits: faults are retried in order, 429s are honoured, a user who
blocked the bot is marked unreachable instead of being retried forever."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.telegram import Limits
from handlers import notify
from handlers.ports import UnitOfWork
from storage.models import OutboxRow, UserRow
from storage.repositories.records import TURN_REPLY
from tests.fakes.telegram_api import ChatMessage, TelegramEmulator
from tests.support import Clock

from .conftest import Person, RunningBot, running_bot

# PTB 22 itself warns about RetryAfter.retry_after's future type each time it raises one.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

SCRIPT = [
    ("command", "start"),
    ("press", "Català"),
    ("press", "D'acord"),
    ("press", "Demanar cita"),
    ("press", "Certificat"),
    ("say", "ajuda"),
    ("press", "dl. 30 de nov."),
    ("command", "my"),
    ("say", "cancel·la"),
    ("command", "help"),
]


async def run_script(person: Person) -> list[tuple[str, list[str]]]:
    for kind, what in SCRIPT:
        if kind == "command":
            await person.command(what)
        elif kind == "press":
            await person.press(what)
        else:
            await person.say(what)
    return transcript(person.user.inbox)


def transcript(messages: list[ChatMessage]) -> list[tuple[str, list[str]]]:
    return [(m.text or "", m.button_texts) for m in messages]


async def test_every_reply_arrives_in_order_despite_faults(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, Clock()) as bot:
        expected = await run_script(bot.person(emu.user(id=6101, language_code="ca")))
        emu.inject_faults(0.2, ("429", "502"), retry_after=1, seed=7)  # after start
        try:
            people = [bot.person(emu.user(id=6110 + n, language_code="ca")) for n in range(4)]
            got = await asyncio.wait_for(
                asyncio.gather(*(run_script(p) for p in people)), timeout=90
            )
        finally:
            emu.clear_faults()
        assert emu.stats.throttled_by_fault > 0 and emu.stats.bad_gateway > 0
        for transcript_of_one in got:
            assert transcript_of_one == expected  # nothing lost, nothing duplicated, in order
        assert emu.stats.unretried_429 == 0
        assert emu.stats.retried_too_early == 0
        assert bot.channel.counters["retries"] > 0


@pytest.mark.any_hour
async def test_blocked_user_is_marked_unreachable(emu: TelegramEmulator, tmp_path: Path) -> None:
    clock = Clock()
    async with running_bot(emu, tmp_path, clock) as bot:
        pol = bot.person(emu.user(id=6201, first_name="Pol", language_code="ca"))
        ada = bot.person(emu.user(id=6202, first_name="Ada", language_code="ca"))
        await pol.command("start")
        await ada.command("start")
        emu.block(pol.user)
        await bot.settle()
        async with bot.app.uow() as uow:
            for person in (pol, ada):
                user = await uow.users.get_or_create(
                    "telegram",
                    str(person.user.id),
                    address=str(person.user.id),
                    display_name="",
                    language="ca",
                )
                await notify.queue(
                    uow, user, "text", {"text": "Recordatori: <demà> a les 9:30 & adeu"}
                )
            await uow.commit()
        await bot.app.dispatcher.drain()

        async with bot.app.sessions() as session:
            users = {
                row.external_id: row.unreachable
                for row in (await session.execute(select(UserRow))).scalars()
            }
            notices = select(OutboxRow).where(OutboxRow.kind != TURN_REPLY)
            outbox = (await session.execute(notices)).scalars().all()
        assert users[str(pol.user.id)] is True
        assert users[str(ada.user.id)] is False
        assert sorted(
            (row.address, row.delivered_at is not None, row.failed_at is not None) for row in outbox
        ) == [("6201", False, True), ("6202", True, False)]
        assert ada.user.inbox[-1].text == "Recordatori: <demà> a les 9:30 & adeu"
        assert len(emu.calls_to("sendMessage")) > 0
        # Tried once, not retried forever:
        blocked = [c for c in emu.calls_to("sendMessage") if c.params.get("chat_id") == "6201"]
        assert [c.status for c in blocked][-1] == 403
        assert sum(1 for c in blocked if c.status == 403) == 1


async def test_flood_limits_are_respected(tmp_path: Path) -> None:
    """With Telegram's limits enforced (1 msg/s per chat after a burst, 30/s overall) and the
    channel's default limits, a burst to one chat and a broadcast to 45 chats all arrive,
    and any 429 is retried only after retry_after."""
    async with TelegramEmulator() as emu:  # flood control on
        clock = Clock()
        async with running_bot(emu, tmp_path, clock, limits=Limits()) as bot:
            one = emu.user(id=6301, language_code="ca")
            many = [emu.user(id=6400 + n, language_code="ca") for n in range(45)]
            async with bot.app.uow() as uow:
                for n in range(6):
                    await queue(uow, one.id, f"missatge {n}")
                for user in many:
                    await queue(uow, user.id, "avís")
                await uow.commit()
            loop = asyncio.get_running_loop()
            started = loop.time()
            await drain_all(bot)
            elapsed = loop.time() - started
        assert [m.text for m in one.inbox] == [f"missatge {n}" for n in range(6)]
        assert all(len(user.inbox) == 1 for user in many)
        assert emu.stats.unretried_429 == 0 and emu.stats.retried_too_early == 0
        # Pacing, not bouncing off Telegram: the channel's own limits keep all but a few of
        # the 51 messages under the limits. A loaded machine can bunch arrivals so that a
        # handful still meet a 429 — each honoured after retry_after (asserted above).
        assert emu.stats.throttled_by_limit <= 10
        assert elapsed >= 2.5  # 6 messages to one chat cannot go faster than ~1/s after 3


async def queue(uow: UnitOfWork, chat_id: int, text: str) -> None:
    await uow.outbox.enqueue(
        channel="telegram",
        address=str(chat_id),
        payload={"text": text},
        user_id=None,
        not_before=Clock().now(),
    )


async def drain_all(bot: RunningBot) -> None:
    for _ in range(20):
        await bot.app.dispatcher.drain(within=30)
        if not await bot.app.outbox.pending():
            return
    raise AssertionError("outbox not drained")
