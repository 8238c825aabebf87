"""The service's dispatch loop is a pipeline (issue 11, the 30 msg/s figure): a message
that takes long holds back only its own chat, never the next messages of the others, and
each chat's messages still go out one at a time in the order queued. Order, not timing:
the slow send waits on an event the test sets."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

from bot.app import App
from bot.channels.memory import MemoryChannel
from handlers.messages import Reply
from tests.support import Clock


class GatedChannel(MemoryChannel):
    """Holds every send to `slow` until `gate` is set; records what is in flight."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow = slow
        self.gate = asyncio.Event()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_at_once: dict[str, int] = defaultdict(int)

    async def deliver(self, address: str, reply: Reply) -> None:
        self.in_flight[address] += 1
        self.most_at_once[address] = max(self.most_at_once[address], self.in_flight[address])
        try:
            if address == self.slow:
                await self.gate.wait()
            await asyncio.sleep(0)  # another chat's send may interleave
            await super().deliver(address, reply)
        finally:
            self.in_flight[address] -= 1


async def _queue(app: App, chats: list[str], per_chat: int) -> None:
    async with app.uow() as uow:
        for n in range(per_chat):
            for chat in chats:
                await uow.outbox.enqueue(
                    channel="memory", address=chat, payload={"text": f"{chat} {n}"}, user_id=None
                )
        await uow.commit()


async def _until(what: str, done: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_slow_send_holds_back_only_its_own_chat(app: App, clock: Clock) -> None:
    channel = GatedChannel(slow="rosa")
    app.channels["memory"] = channel
    others = ["joan", "pere", "anna"]
    await _queue(app, ["rosa", *others], per_chat=4)
    app.dispatcher.start()
    try:
        # Rosa's first send hangs; everybody else's four messages arrive meanwhile (a
        # batch's gather waited for Rosa's before the next messages were claimed).
        await _until("the other chats", lambda: all(len(channel.sent[c]) == 4 for c in others))
        assert channel.sent["rosa"] == [] and channel.in_flight["rosa"] == 1
        channel.gate.set()
        await _until("Rosa's", lambda: len(channel.sent["rosa"]) == 4)
    finally:
        await app.dispatcher.stop()
    for chat in ["rosa", *others]:
        assert [r.text for r in channel.sent[chat]] == [f"{chat} {n}" for n in range(4)]
        assert channel.most_at_once[chat] == 1  # one at a time in each chat
    assert await app.outbox.pending() == 0


async def test_stopping_lets_a_send_under_way_be_acknowledged(app: App, clock: Clock) -> None:
    channel = GatedChannel(slow="rosa")
    app.channels["memory"] = channel
    await _queue(app, ["rosa"], per_chat=1)
    app.dispatcher.start()
    await _until("the send to start", lambda: channel.in_flight["rosa"] == 1)
    stopping = asyncio.create_task(app.dispatcher.stop())
    await asyncio.sleep(0)
    channel.gate.set()  # acknowledged while the dispatcher stops
    await stopping
    assert [r.text for r in channel.sent["rosa"]] == ["rosa 0"]
    assert await app.outbox.pending() == 0  # recorded, not left as being sent
