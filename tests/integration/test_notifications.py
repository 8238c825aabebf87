"""Notifications are typed and written when delivered: in the recipient's language of
that moment, about the appointment as it is then, with links minted and buttons armed
then; moving or cancelling an appointment withdraws what was pending about it."""

from __future__ import annotations

from datetime import timedelta

import jwt
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel
from domain.appointments import Status
from handlers import notify
from storage.models import OutboxRow
from tests.support import JITSI_SECRET, MONDAY_8AM, Clock, book_directly


async def _citizen(app: App, name: str = "rosa", language: str = "ca") -> int:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", name, address=name, display_name=name.title(), language=language
        )
        await uow.commit()
        return user.id


async def test_written_in_the_language_of_delivery_not_of_queuing(
    app: App, channel: MemoryChannel
) -> None:
    user_id = await _citizen(app, language="ca")
    async with app.uow() as uow:
        user = await uow.users.get(user_id)
        await notify.said(uow, user, "session.ended_citizen", {"reference": "VT-7K3M"})
        await uow.users.set_language(user_id, "en")  # switched before it went out
        await uow.commit()
    async with app.sessions() as session:
        [row] = (await session.execute(select(OutboxRow))).scalars().all()
    assert row.kind == "said" and "text" not in row.payload  # nothing written yet
    await app.dispatcher.drain()
    [reply] = channel.inbox["rosa"]
    assert "VT-7K3M" in reply.text and reply.language == "en"
    assert "Gràcies" not in reply.text


async def test_the_call_link_is_minted_at_delivery(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    user_id = await _citizen(app)
    start = MONDAY_8AM + timedelta(hours=1)
    async with app.uow() as uow:
        booked = await book_directly(uow, citizen_id=user_id, start=start, reference="VT-AAAA")
        await uow.appointments.set_status(booked.id, Status.IN_SESSION, clock.now())
        await uow.appointments.update(booked.id, room="vt-room-test")
        user = await uow.users.get(user_id)
        await notify.queue(uow, user, "call_ready", appointment_id=booked.id)
        await uow.commit()
    clock.advance(minutes=50)  # delivered late (a retry): the link is issued now
    async with app.sessions() as session:
        [row] = (await session.execute(select(OutboxRow))).scalars().all()
    assert "jwt" not in str(row.payload)  # never stored
    await app.dispatcher.drain()
    [reply] = channel.inbox["rosa"]
    token = reply.text.split("#jwt=")[1].split()[0]
    options = {"verify_iat": False, "verify_nbf": False, "verify_exp": False}
    claims = jwt.decode(
        token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi", options=options
    )
    assert claims["nbf"] <= clock.now().timestamp() < claims["exp"]
    assert claims["iat"] == int(clock.now().timestamp())  # issued when delivered


async def test_about_a_cancelled_appointment_nothing_is_sent(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    user_id = await _citizen(app)
    start = MONDAY_8AM + timedelta(days=2)
    async with app.uow() as uow:
        booked = await book_directly(uow, citizen_id=user_id, start=start, reference="VT-BBBB")
        user = await uow.users.get(user_id)
        await notify.queue(
            uow,
            user,
            "staff_booked",
            {"start": booked.start.isoformat()},
            appointment_id=booked.id,
            due=clock.now() + timedelta(minutes=5),
        )
        await uow.commit()
    async with app.uow() as uow:
        await uow.appointments.set_status(booked.id, Status.CANCELLED, clock.now())
        await uow.commit()
    clock.advance(minutes=10)
    await app.dispatcher.drain()
    assert channel.inbox["rosa"] == []
    async with app.sessions() as session:
        [row] = (await session.execute(select(OutboxRow))).scalars().all()
    assert row.delivered_at is None and row.failed_at is not None
    assert row.last_error == "dropped at delivery"


async def test_a_prompt_moves_the_conversation_when_delivered(
    app: App, channel: MemoryChannel
) -> None:
    user_id = await _citizen(app, language="en")
    start = MONDAY_8AM + timedelta(hours=1)
    async with app.uow() as uow:
        booked = await book_directly(uow, citizen_id=user_id, start=start, reference="VT-CCCC")
        await uow.appointments.set_status(booked.id, Status.IN_SESSION, MONDAY_8AM)
        user = await uow.users.get(user_id)
        await notify.prompt(
            uow,
            user,
            "document_request",
            {"requirement": "", "label": "a gas bill"},
            flow="upload",
            step="file",
            data={"id": booked.id, "requirement": "", "label": "a gas bill"},
            appointment_id=booked.id,
        )
        await uow.commit()
    async with app.uow() as uow:
        assert (await uow.conversations.load(user_id)).flow == ""  # not moved at queue time
    await app.dispatcher.drain()
    [reply] = channel.inbox["rosa"]
    assert "a gas bill" in reply.text
    async with app.uow() as uow:
        state = await uow.conversations.load(user_id)
    assert (state.flow, state.step) == ("upload", "file")
