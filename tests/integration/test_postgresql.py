"""The distributed path: the same service on PostgreSQL (asyncpg).

A whole session with its evidence, and two dispatchers claiming the outbox at once
(FOR UPDATE SKIP LOCKED): no message is handed to both."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.evidence_ops import verify_reference
from storage.outbox import OutboxStore
from tests.session_kit import full_session
from tests.support import Clock, office_settings, ready_app


async def test_a_whole_session_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    clock = Clock()
    app, _ = await ready_app(office_settings(postgres_url, tmp_path), clock)
    try:
        appointment = await full_session(app, clock, citizen_id="pg-joan")
        assert appointment.status.value == "completed"
        check = await verify_reference(app, appointment.reference)
        assert check.ok, check.problem
        async with app.uow() as uow:
            receipt = await uow.receipts.for_appointment(appointment.id)
        assert receipt is not None and receipt.entry_number.startswith("VT/2026/")
    finally:
        await app.close()


@pytest.mark.any_hour
async def test_two_dispatchers_never_claim_the_same_message(
    tmp_path: Path, postgres_url: str
) -> None:
    clock = Clock()
    app, _ = await ready_app(office_settings(postgres_url, tmp_path), clock)
    try:
        async with app.uow() as uow:
            user = await uow.users.get_or_create(
                "claimtest", "x", address="x", display_name="", language="ca"
            )
            # 120 chats: a chat's messages are claimed one at a time, oldest first.
            for n in range(120):
                await uow.outbox.enqueue(
                    channel="claimtest", address=f"x{n}", payload={"text": str(n)}, user_id=user.id
                )
            await uow.commit()
        first, second = OutboxStore(app.sessions), OutboxStore(app.sessions)
        batches = await asyncio.gather(
            *(store.claim(["claimtest"], clock.now(), limit=20) for store in [first, second] * 3)
        )
        claimed = [m.id for batch in batches for m in batch]
        assert len(claimed) == len(set(claimed)) == 120
    finally:
        await app.close()
