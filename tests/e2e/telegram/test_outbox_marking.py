"""Only a message really under way is marked as being sent (issue 11): messages waiting
for their turn in Telegram's pacing are not, so a crash reports as cut only the message
whose call was in progress. The first send hangs at the emulator (which has it); the
overall pace (one message per 100 s) keeps the next two waiting in the limiter."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.channels.telegram import Limits
from storage.models import OutboxRow
from tests.fakes.telegram_api import TelegramEmulator
from tests.support import Clock

from .conftest import running_bot

CHATS = [6601, 6602, 6603]


async def test_messages_waiting_for_their_turn_are_not_marked_as_being_sent(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    clock = Clock()
    slow = Limits(per_chat_rate=0, group_per_minute=0, overall_rate=0.01, overall_burst=1)
    for chat in CHATS:
        emu.user(id=chat)
    emu.stall_after(1)
    async with running_bot(emu, tmp_path, clock, limits=slow) as bot:
        async with bot.app.uow() as uow:
            for chat in CHATS:
                await uow.outbox.enqueue(
                    channel="telegram",
                    address=str(chat),
                    payload={"text": f"to {chat}"},
                    user_id=None,
                )
            await uow.commit()
        bot.app.dispatcher.start()
        await emu.wait_for(lambda: emu.stalled, 30, "the first send to hang")
        async with bot.app.sessions() as session:
            rows = list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
        cut = emu.stalled[0].params["chat_id"]
        assert all(row.claimed_until is not None for row in rows)  # all three are in flight
        assert [row.address for row in rows if row.sending_at is not None] == [cut]
        emu.release_stall()
