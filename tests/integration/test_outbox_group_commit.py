"""The outbox's two commits per message (`sending` before the call, `delivered` after it)
are group commits: marks asked for while one is being committed go together in the next
transaction, and each caller returns once its own row is committed (issue 14: the bench's
dispatchers opened a pooled connection per mark and the pool churned). The repository
contract runs on both backends; the clock is the test's."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from bot.app import App
from storage.models import OutboxRow
from storage.outbox import GroupCommit
from tests.support import Clock


async def _queue(app: App, *addresses: str) -> None:
    async with app.uow() as uow:
        for address in addresses:
            await uow.outbox.enqueue(
                channel="memory", address=address, payload={"text": address}, user_id=None
            )
        await uow.commit()


def _count_updates(app: App) -> list[str]:
    """Every UPDATE statement the app's engine runs from now on."""
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            seen.append(statement)

    event.listen(app.db_engine.sync_engine, "before_cursor_execute", note)
    return seen


async def test_many_marks_share_few_transactions_and_each_is_answered(
    app: App, clock: Clock
) -> None:
    addresses = [f"chat{n}" for n in range(30)]
    await _queue(app, *addresses, "late")
    claimed = await app.outbox.claim(["memory"], clock.now(), limit=30)
    [late] = await app.outbox.claim(["memory"], clock.now())
    await app.outbox.dropped(late.id, clock.now())  # settled meanwhile: not held any more
    updates = _count_updates(app)
    held = await asyncio.gather(*(app.outbox.sending(m.id, clock.now()) for m in [*claimed, late]))
    assert held == [True] * 30 + [False]
    marking = len(updates)
    await asyncio.gather(*(app.outbox.delivered(m.id, clock.now()) for m in claimed))
    # 31 marks and 30 settlements, in far fewer statements than one each.
    assert marking < 31 and len(updates) - marking < 30
    async with app.sessions() as session:
        rows = list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
    delivered = [r for r in rows if r.delivered_at is not None]
    assert [r.address for r in delivered] == addresses
    assert all(
        r.attempts == 1 and r.sending_at is None and r.claimed_until is None for r in delivered
    )
    assert rows[-1].delivered_at is None and rows[-1].sending_at is None


async def test_a_failed_group_fails_each_of_its_callers_and_the_next_group_goes() -> None:
    first_may_end = asyncio.Event()
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        if len(batches) == 1:
            await first_may_end.wait()
        if 13 in items:
            raise RuntimeError("the database went away")
        return [item * 10 for item in items]

    commit: GroupCommit[int, int] = GroupCommit(flush)
    one = asyncio.create_task(commit(1))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(commit(n)) for n in (12, 13)]
    cancelled = asyncio.create_task(commit(14))
    await asyncio.sleep(0)
    cancelled.cancel()  # cancelled before its group's flush: left out of it
    first_may_end.set()
    assert await one == 10
    for task in waiting:
        with pytest.raises(RuntimeError):
            await task
    assert batches == [[1], [12, 13]]
    assert await commit(2) == 20  # alone again: flushed at once, on its own
    assert batches[-1] == [2]
