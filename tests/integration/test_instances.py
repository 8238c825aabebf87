"""Several instances on one database: a person's turns never overlap and a chat's
messages never overtake each other, whichever instance serves or sends them.

The repository contract runs on both backends (`backend`): on PostgreSQL each "instance"
is an app of its own with its own connection pool, as two processes would be; SQLite is
served by one instance and keeps its single writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from domain.model import OutboxMessage
from handlers.context import Ctx, Registry
from handlers.engine import Engine
from handlers.messages import Turn, TurnKind
from storage.outbox import OutboxStore
from tests.support import Clock, office_settings, ready_app


@pytest.fixture
async def instances(backend: str, tmp_path: Path) -> AsyncIterator[tuple[App, App, Clock]]:
    """Two instances on one PostgreSQL database; on SQLite, one instance serving twice."""
    clock = Clock()
    first, _ = await ready_app(office_settings(backend, tmp_path), clock)
    second = first
    if backend.startswith("postgresql"):
        second, _ = await ready_app(office_settings(backend, tmp_path), clock)
    try:
        yield first, second, clock
    finally:
        await first.close()
        if second is not first:
            await second.close()


async def _count(ctx: Ctx, **_: Any) -> None:
    """A step that reads the person's state, goes to the database, then writes it back:
    two turns of one person at once would both read the same number."""
    seen = int(ctx.state.data.get("n", 0))
    for _round in range(3):
        await ctx.uow.users.get(ctx.user.id)
    ctx.state.data["n"] = seen + 1
    ctx.say(str(seen + 1))


def _counting_engine(app: App, clock: Clock) -> Engine:
    registry = Registry(flows={}, audiences={}, entries={"menu": _count})
    return Engine(uow=app.uow, office=app.office, clock=clock, registry=registry)


async def test_two_instances_never_run_two_turns_of_one_person_at_once(
    instances: tuple[App, App, Clock],
) -> None:
    first, second, clock = instances
    engines = [_counting_engine(first, clock), _counting_engine(second, clock)]
    turn = Turn(channel="memory", external_id="rosa", address="rosa", kind=TurnKind.TEXT, text="+")
    answers = await asyncio.gather(*(engines[n % 2].handle(turn) for n in range(20)))
    # Every turn saw the one before it: the counts are 1..20, none twice.
    assert sorted(int(replies[0].text) for replies in answers) == list(range(1, 21))
    async with first.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "rosa", address="rosa", display_name="", language="ca"
        )
        assert (await uow.conversations.load(user.id)).data["n"] == 20


async def _queue(app: App, address: str, *texts: str, later: timedelta | None = None) -> None:
    async with app.uow() as uow:
        for text in texts:
            await uow.outbox.enqueue(
                channel="memory",
                address=address,
                payload={"text": text},
                user_id=None,
                not_before=app.clock.now() + later if later else None,
            )
        await uow.commit()


def _texts(messages: list[OutboxMessage]) -> list[str]:
    return [str(message.payload["text"]) for message in messages]


async def test_a_deferred_message_holds_back_the_newer_ones_of_its_chat(
    instances: tuple[App, App, Clock],
) -> None:
    app, _, clock = instances
    await _queue(app, "rosa", "first")
    [first] = await app.outbox.claim(["memory"], clock.now())
    await app.outbox.retry(first.id, "ConnectionError", clock.now() + timedelta(seconds=30))
    await _queue(app, "rosa", "second")
    await _queue(app, "joan", "to someone else")
    # Rosa's second message waits for her first; Joan's chat is not held up by hers.
    assert _texts(await app.outbox.claim(["memory"], clock.now())) == ["to someone else"]
    clock.advance(seconds=30)
    [retried] = await app.outbox.claim(["memory"], clock.now())
    assert _texts([retried]) == ["first"]
    assert await app.outbox.claim(["memory"], clock.now()) == []  # still in flight
    await app.outbox.delivered(retried.id, clock.now())
    assert _texts(await app.outbox.claim(["memory"], clock.now())) == ["second"]


async def test_a_message_scheduled_for_later_does_not_hold_back_its_chat(
    instances: tuple[App, App, Clock],
) -> None:
    app, _, clock = instances
    await _queue(app, "rosa", "tomorrow's reminder", later=timedelta(days=1))
    await _queue(app, "rosa", "an answer now")
    assert _texts(await app.outbox.claim(["memory"], clock.now())) == ["an answer now"]


async def test_instances_claim_only_the_oldest_message_of_each_chat(
    instances: tuple[App, App, Clock],
) -> None:
    first, second, clock = instances
    chats = [f"chat{n}" for n in range(6)]
    for address in chats:
        await _queue(first, address, *(f"{address}:{n}" for n in range(5)))
    stores = [OutboxStore(first.sessions), OutboxStore(second.sessions)]
    delivered: list[str] = []
    while len(delivered) < 30:
        batches = await asyncio.gather(
            *(store.claim(["memory"], clock.now(), limit=4) for store in stores * 2)
        )
        claimed = [message for batch in batches for message in batch]
        # Never two messages of one chat in flight at once, nor one message twice.
        assert len({m.address for m in claimed}) == len(claimed)
        assert claimed
        for message in claimed:
            await first.outbox.delivered(message.id, clock.now())
        delivered += _texts(claimed)
    for address in chats:
        assert [t for t in delivered if t.startswith(f"{address}:")] == [
            f"{address}:{n}" for n in range(5)
        ]


async def test_a_panel_remembered_by_one_instance_is_redrawn_by_the_other(
    instances: tuple[App, App, Clock],
) -> None:
    first, second, _ = instances
    one, other = first.channel_memory("telegram"), second.channel_memory("telegram")
    assert await other.panel("501", "session:7") is None
    await one.remember_panel("501", "session:7", "42")
    assert await other.panel("501", "session:7") == "42"
    assert await other.holds_panel("501", "42")
    assert not await other.holds_panel("502", "42")  # another chat's message 42
    assert await first.channel_memory("matrix").panel("501", "session:7") is None
    await other.remember_panel("501", "session:7", "43")  # redrawn as a new message
    assert await one.panel("501", "session:7") == "43"
    assert not await one.holds_panel("501", "42")
    await one.forget_panel("501", "session:7")
    assert await other.panel("501", "session:7") is None


async def test_a_group_notice_is_given_once_per_period_by_all_instances_together(
    instances: tuple[App, App, Clock],
) -> None:
    first, second, clock = instances
    memories = [first.channel_memory("telegram"), second.channel_memory("telegram")]
    told = [await memories[n % 2].notice_due("-100", 600) for n in range(6)]
    assert told == [True, False, False, False, False, False]
    assert await memories[1].notice_due("-200", 600)  # another group
    clock.advance(seconds=599)
    assert not await memories[1].notice_due("-100", 600)
    clock.advance(seconds=1)
    assert await memories[1].notice_due("-100", 600)
    assert not await memories[0].notice_due("-100", 600)


async def test_live_instances_are_counted_by_their_heartbeats(
    instances: tuple[App, App, Clock],
) -> None:
    app, _, clock = instances
    registry = app.instances
    assert registry.alive == timedelta(seconds=30)
    assert await registry.beat("a", clock.now()) == 1
    assert await registry.beat("b", clock.now()) == 2
    clock.advance(seconds=15)
    assert await registry.beat("a", clock.now()) == 2
    clock.advance(seconds=15)  # b is silent for `alive`: gone
    assert await registry.beat("a", clock.now()) == 1
    assert await registry.beat("b", clock.now()) == 2  # back
    await registry.leave("b")
    assert await registry.beat("a", clock.now()) == 1
