"""Nothing the bot meant to send is lost, and a restart resumes a conversation mid-way."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.channels.base import Unreachable
from bot.channels.memory import MemoryChannel, MemoryPerson
from handlers.messages import Reply
from storage.outbox import OutboxStore
from tests.support import Clock, office_settings, ready_app

# Due times are the heart of the outbox: every test here runs at any hour of the machine.
pytestmark = pytest.mark.any_hour


async def _queue(app: App, texts: list[str], address: str = "rosa") -> None:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", address, address=address, display_name="Rosa", language="ca"
        )
        for text in texts:
            await uow.outbox.enqueue(
                channel="memory", address=address, payload={"text": text}, user_id=user.id
            )
        await uow.commit()


async def test_delivery_retries_until_acknowledged_and_keeps_order(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    await _queue(app, ["one", "two", "three"])
    channel.fail_next = 1
    await app.dispatcher.run_once()
    assert channel.inbox["rosa"] == []  # the first failed, so the others waited
    clock.advance(minutes=1)  # past the backoff
    await app.dispatcher.drain()
    assert [r.text for r in channel.inbox["rosa"]] == ["one", "two", "three"]
    assert await app.outbox.pending() == 0


async def test_a_restart_loses_nothing(tmp_path: Path, backend: str) -> None:
    settings = office_settings(backend, tmp_path)
    first, _ = await ready_app(settings, Clock())
    await _queue(first, ["your call is ready"])
    await first.close()  # the process dies before the dispatcher ran

    second, channel = await ready_app(settings, Clock())
    try:
        await second.dispatcher.drain()
        assert [r.text for r in channel.inbox["rosa"]] == ["your call is ready"]
    finally:
        await second.close()


async def test_a_claimed_message_comes_back_after_its_lease(app: App, clock: Clock) -> None:
    await _queue(app, ["hello"])
    store = OutboxStore(app.sessions)
    claimed = await store.claim(["memory"], clock.now())
    assert len(claimed) == 1
    assert await store.claim(["memory"], clock.now()) == []  # leased to the crashed worker
    clock.advance(minutes=3)
    assert [m.payload["text"] for m in await store.claim(["memory"], clock.now())] == ["hello"]


class BlockedChannel(MemoryChannel):
    async def deliver(self, address: str, reply: Reply) -> None:
        raise Unreachable("Forbidden: bot was blocked by the user")


async def test_a_person_who_blocked_the_bot_is_marked_unreachable(tmp_path: Path) -> None:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    app, _ = await ready_app(settings, Clock())
    app.channels["memory"] = BlockedChannel()
    try:
        await _queue(app, ["hello"])
        await app.dispatcher.drain()
        assert await app.outbox.pending() == 0  # not retried forever
        async with app.uow() as uow:
            user = await uow.users.get_or_create(
                "memory", "rosa", address="rosa", display_name="", language="ca"
            )
        assert user.unreachable
    finally:
        await app.close()


async def test_restart_mid_booking_resumes(tmp_path: Path) -> None:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    first, _ = await ready_app(settings, Clock())
    citizen = MemoryPerson(first.engine, "jordi", "Jordi", "es")
    await citizen.command("start")
    await citizen.press("Castellano")
    await citizen.press("De acuerdo")
    await citizen.press("Pedir cita")
    await citizen.press("Certificado")
    day_button = citizen.choice_token("lun 30 nov")
    await first.close()

    second, _ = await ready_app(settings, Clock())
    try:
        again = MemoryPerson(second.engine, "jordi", "Jordi", "es")
        await again.press_token(day_button)  # the button pressed after the restart
        assert "Horas libres el lun 30 nov" in again.text
        await again.press("9:00")
        await again.press("Confirmar")
        assert "Tu cita es la VT-" in again.text
    finally:
        await second.close()
