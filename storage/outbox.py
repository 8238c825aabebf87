"""Claiming and settling outbox rows for the dispatcher.

Rows are claimed with a lease (claimed_until) under FOR UPDATE SKIP LOCKED, so several
instances on PostgreSQL share the work and a crashed instance's rows come back.

A chat's messages go out in the order they were queued, whichever instance sends them:
only the oldest pending message of each (channel, address) can be claimed. A message that
waits for its retry, or that another instance holds, holds back the newer ones of its chat;
a message scheduled for later (``not_before``, never tried yet) does not.

While a message is held, its dispatcher renews the lease (bot/dispatcher.py), so a send
slower than the lease is not taken for a crash; a process that dies stops renewing.

At most once for a message cut mid-send: ``sending`` is committed just before the channel
is called and cleared with the outcome. A row still marked so when its lease has run out
was being sent by a process that died in the call; Telegram may have shown it already, so
it is never sent again: the next claim settles it as failed with reason ``INTERRUPTED``
(logged, and counted by ``interrupted``).

The two commits every message costs (``sending`` before the call, ``delivered`` after it)
are group commits: marks asked for while one of the same kind is being committed wait and
go together in the next transaction. Alone, a message's commit goes at once; many messages
in flight share a few transactions (and a few pooled connections) instead of opening one
each. Each caller still returns only once its own row is committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased

from domain.model import OutboxMessage
from storage.models import OutboxRow, UserRow

log = logging.getLogger("videotramit.outbox")

# The reason (last_error) of a message cut mid-send and reported instead of sent again.
INTERRUPTED = "INTERRUPTED"


Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class GroupCommit(Generic[Item, Outcome]):
    """Calls made while a flush is under way are flushed together in the next one, by a
    task of its own, so a caller that is cancelled does not cut the others' commit."""

    def __init__(self, flush: Callable[[list[Item]], Awaitable[list[Outcome]]]) -> None:
        self._flush = flush
        self._queue: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._queue:
                # A caller cancelled before its flush began is left out of it.
                batch = [(item, future) for item, future in self._queue if not future.done()]
                self._queue = []
                if batch:
                    await self._settle(batch)
        finally:
            for _, future in self._queue:  # only if this task itself was cancelled
                future.cancel()
            self._queue = []

    async def _settle(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await self._flush([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


class OutboxStore:
    def __init__(self, factory: async_sessionmaker[Any]) -> None:
        self._factory = factory
        self._sending = GroupCommit(self._mark_sending)
        self._delivered = GroupCommit(self._mark_delivered)

    async def claim(
        self,
        channels: Sequence[str],
        now: datetime,
        *,
        limit: int = 50,
        lease_s: int = 120,
        only: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxMessage]:
        """Claim due messages of `channels`; `only` restricts a channel to some addresses
        (a terminal delivers to its own person and leaves the rest queued for theirs).
        Messages cut mid-send whose lease ran out are settled as INTERRUPTED first."""
        recipients = _recipients(channels, only)
        same = aliased(OutboxRow)
        # The chat's oldest message that is due, in flight or waiting for its retry (a
        # message due later holds nothing back). Asked of each candidate as a look-up of
        # the chat's pending index, not as a join: with statistics older than the backlog
        # (a table just filled, or one that grew while Telegram was down) PostgreSQL
        # planned the join as a scan of every pending row for each one, 0.55 s a claim at
        # 1,500 pending where the look-up takes 5 ms.
        oldest_of_chat = (
            select(func.min(same.id))
            .where(
                same.channel == OutboxRow.channel,
                same.address == OutboxRow.address,
                same.delivered_at.is_(None),
                same.failed_at.is_(None),
                or_(
                    same.next_attempt_at <= now, same.attempts > 0, same.claimed_until.is_not(None)
                ),
            )
            .scalar_subquery()
        )
        async with self._factory() as session, session.begin():
            await _settle_cut(session, recipients, now, lease_expired(now))
            query = (
                select(OutboxRow)
                .where(
                    recipients,
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                    OutboxRow.next_attempt_at <= now,
                    lease_expired(now),
                    OutboxRow.sending_at.is_(None),  # never twice, even if not settled yet
                    OutboxRow.id == oldest_of_chat,  # it is due, so it is one of them
                )
                # The earliest due first (for each chat, its oldest: the look-up above).
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.execute(query)).scalars())
            if rows:  # one statement for the batch, not one per row at the flush
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_([r.id for r in rows]))
                    .values(claimed_until=now + timedelta(seconds=lease_s))
                    .execution_options(synchronize_session=False)
                )
            return [
                OutboxMessage(
                    id=r.id,
                    channel=r.channel,
                    address=r.address,
                    payload=dict(r.payload),
                    attempts=r.attempts,
                    user_id=r.user_id,
                )
                for r in rows
            ]

    async def release_dead_leases(
        self,
        channels: Sequence[str],
        now: datetime,
        *,
        only: Mapping[str, Collection[str]] | None = None,
    ) -> int:
        """At the start of the only instance there can be (SQLite, held by its lock file):
        every lease left on `channels` belongs to a process that is gone. Messages it was
        sending are settled as INTERRUPTED at once, the others can be claimed at once
        instead of when their lease runs out. Returns how many were interrupted."""
        recipients = _recipients(channels, only)
        async with self._factory() as session, session.begin():
            cut = await _settle_cut(session, recipients, now, OutboxRow.claimed_until.is_not(None))
            await session.execute(
                update(OutboxRow)
                .where(
                    recipients,
                    OutboxRow.claimed_until.is_not(None),
                    OutboxRow.sending_at.is_(None),
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                )
                .values(claimed_until=None)
            )
        return cut

    async def renew(self, message_ids: Collection[int], now: datetime, *, lease_s: int) -> int:
        """Extend the lease of messages this instance still holds (claimed, not settled,
        the lease not run out): a send slower than its lease is not taken for a crash.
        A lease that ran out meanwhile is not renewed: whoever comes next may have taken
        the message. Returns how many were renewed."""
        if not message_ids:
            return 0
        async with self._factory() as session, session.begin():
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(list(message_ids)),
                    OutboxRow.claimed_until >= now,
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                )
                .values(claimed_until=now + timedelta(seconds=lease_s))
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def sending(self, message_id: int, now: datetime) -> bool:
        """Mark the message as being sent, committed before this returns, just before the
        channel is called. False: it is not held by a live claim any more (settled
        meanwhile)."""
        return await self._sending((message_id, now))

    async def delivered(self, message_id: int, now: datetime) -> None:
        """Settle the message as delivered, committed before this returns."""
        await self._delivered((message_id, now))

    async def _mark_sending(self, marks: list[tuple[int, datetime]]) -> list[bool]:
        # One instant for the group: the latest asked, the nearest to the commit.
        now = max(when for _, when in marks)
        async with self._factory() as session, session.begin():
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_([message_id for message_id, _ in marks]),
                    OutboxRow.claimed_until.is_not(None),
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                )
                .values(sending_at=now)
                .returning(OutboxRow.id)
            )
            held = set(result.scalars())
        return [message_id in held for message_id, _ in marks]

    async def _mark_delivered(self, marks: list[tuple[int, datetime]]) -> list[None]:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([message_id for message_id, _ in marks]))
                .values(
                    delivered_at=max(when for _, when in marks),
                    claimed_until=None,
                    sending_at=None,
                    attempts=OutboxRow.attempts + 1,
                )
            )
        return [None] * len(marks)

    async def retry(self, message_id: int, error: str, at: datetime) -> None:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(
                    next_attempt_at=at,
                    claimed_until=None,
                    sending_at=None,
                    attempts=OutboxRow.attempts + 1,
                    last_error=error[:500],
                )
            )

    async def unreachable(self, message: OutboxMessage, error: str, now: datetime) -> None:
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id)
                .values(failed_at=now, claimed_until=None, sending_at=None, last_error=error[:500])
            )
            if message.user_id is not None:
                await session.execute(
                    update(UserRow).where(UserRow.id == message.user_id).values(unreachable=True)
                )

    async def dropped(self, message_id: int, now: datetime) -> None:
        """Not to be sent any more (its appointment was cancelled or moved meanwhile)."""
        async with self._factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(
                    failed_at=now,
                    claimed_until=None,
                    sending_at=None,
                    last_error="dropped at delivery",
                )
            )

    async def pending(self) -> int:
        async with self._factory() as session:
            query = select(func.count()).where(
                OutboxRow.delivered_at.is_(None), OutboxRow.failed_at.is_(None)
            )
            return int((await session.execute(query)).scalar_one())

    async def interrupted(self) -> int:
        """Messages cut mid-send and reported instead of sent again, by every instance."""
        async with self._factory() as session:
            query = select(func.count()).where(
                OutboxRow.failed_at.is_not(None), OutboxRow.last_error == INTERRUPTED
            )
            return int((await session.execute(query)).scalar_one())


def _recipients(
    channels: Sequence[str], only: Mapping[str, Collection[str]] | None
) -> ColumnElement[bool]:
    return or_(
        *(
            and_(OutboxRow.channel == name, OutboxRow.address.in_(list(only[name])))
            if only and name in only
            else OutboxRow.channel == name
            for name in channels
        )
    )


def lease_expired(now: datetime) -> ColumnElement[bool]:
    return or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)


async def _settle_cut(
    session: Any, recipients: ColumnElement[bool], now: datetime, dead: ColumnElement[bool]
) -> int:
    """Settle as INTERRUPTED the messages whose sender died in the channel's call.
    sending_at is kept: it says when the message was cut."""
    query = (
        select(OutboxRow.id, OutboxRow.channel, OutboxRow.sending_at)
        .where(
            recipients,
            OutboxRow.sending_at.is_not(None),
            OutboxRow.delivered_at.is_(None),
            OutboxRow.failed_at.is_(None),
            dead,
        )
        .with_for_update(skip_locked=True)
    )
    cut = list((await session.execute(query)).all())
    if not cut:
        return 0
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_([row.id for row in cut]))
        .values(failed_at=now, claimed_until=None, last_error=INTERRUPTED)
    )
    for row in cut:
        log.warning(
            "message cut mid-send by a crash: reported, not sent again",
            extra={"outbox_id": row.id, "channel": row.channel, "reason": INTERRUPTED},
        )
    return len(cut)
