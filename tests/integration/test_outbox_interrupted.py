"""A message cut mid-send is never sent twice; it is reported instead (issue 11).

`sending_at` is committed before the channel is called and cleared with the outcome, so a
row still marked when its lease has run out was being sent by a process that died in the
call. The repository contract runs on both backends; the clock is the test's."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel
from domain.model import OutboxMessage
from handlers.messages import Reply
from storage.models import OutboxRow
from storage.outbox import INTERRUPTED
from tests.support import Clock

LEASE = 120  # seconds, the dispatcher's default


async def _queue(app: App, address: str, *texts: str) -> None:
    async with app.uow() as uow:
        for text in texts:
            await uow.outbox.enqueue(
                channel="memory", address=address, payload={"text": text}, user_id=None
            )
        await uow.commit()


async def _row(app: App, outbox_id: int) -> OutboxRow:
    async with app.sessions() as session:
        return (
            await session.execute(select(OutboxRow).where(OutboxRow.id == outbox_id))
        ).scalar_one()


def _texts(messages: Sequence[OutboxMessage]) -> list[str]:
    return [str(m.payload["text"]) for m in messages]


async def test_a_message_cut_mid_send_is_reported_not_sent_again(
    app: App, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await _queue(app, "rosa", "cut", "next")
    [cut] = await app.outbox.claim(["memory"], clock.now(), lease_s=LEASE)
    assert await app.outbox.sending(cut.id, clock.now())
    # The process dies in the channel's call. Until its lease runs out nothing moves.
    assert await app.outbox.claim(["memory"], clock.now()) == []
    clock.advance(seconds=LEASE + 1)
    with caplog.at_level(logging.WARNING, logger="videotramit.outbox"):
        claimed = await app.outbox.claim(["memory"], clock.now())
    assert _texts(claimed) == ["next"]  # the chat goes on; the cut one is not among them
    row = await _row(app, cut.id)
    assert (row.failed_at, row.last_error, row.delivered_at) == (clock.now(), INTERRUPTED, None)
    assert row.sending_at is not None  # when it was cut, kept
    assert await app.outbox.interrupted() == 1
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert getattr(warning, "outbox_id", None) == cut.id
    clock.advance(seconds=LEASE + 1)
    assert _texts(await app.outbox.claim(["memory"], clock.now())) == ["next"]  # lease gone
    assert await app.outbox.interrupted() == 1  # settled once


async def test_a_message_marked_sending_is_never_claimed_even_before_it_is_settled(
    app: App,
    clock: Clock,
) -> None:
    await _queue(app, "rosa", "once")
    [message] = await app.outbox.claim(["memory"], clock.now(), lease_s=LEASE)
    assert await app.outbox.sending(message.id, clock.now())
    # Another instance's claim, after the lease, only for another channel's rows: it does
    # not settle Rosa's, and no claim ever hands it out again.
    clock.advance(seconds=LEASE + 1)
    assert await app.outbox.claim(["email"], clock.now()) == []
    assert await app.outbox.pending() == 1
    assert await app.outbox.claim(["memory"], clock.now()) == []
    assert (await _row(app, message.id)).last_error == INTERRUPTED


async def test_sending_is_refused_for_a_message_settled_meanwhile(
    app: App,
    clock: Clock,
) -> None:
    await _queue(app, "rosa", "hello")
    [message] = await app.outbox.claim(["memory"], clock.now())
    await app.outbox.delivered(message.id, clock.now())
    assert not await app.outbox.sending(message.id, clock.now())


async def test_a_dead_instances_leases_are_released_at_the_start_of_the_only_one(
    app: App,
    clock: Clock,
) -> None:
    await _queue(app, "rosa", "was being sent")
    await _queue(app, "joan", "claimed, not yet sent")
    claimed = await app.outbox.claim(["memory"], clock.now(), lease_s=LEASE)
    sending = next(m for m in claimed if m.address == "rosa")
    assert await app.outbox.sending(sending.id, clock.now())
    # No time passes: the lock file says the holder of these leases is gone.
    assert await app.outbox.release_dead_leases(["memory"], clock.now()) == 1
    assert _texts(await app.outbox.claim(["memory"], clock.now())) == ["claimed, not yet sent"]
    assert (await _row(app, sending.id)).last_error == INTERRUPTED


async def test_release_leaves_other_channels_leases_alone(app: App, clock: Clock) -> None:
    """`chat` delivers its own person's console rows on the same file; `run` leaves them."""
    await _queue(app, "rosa", "the terminal's")
    [held] = await app.outbox.claim(["memory"], clock.now(), lease_s=LEASE)
    assert await app.outbox.sending(held.id, clock.now())
    assert await app.outbox.release_dead_leases(["telegram"], clock.now()) == 0
    row = await _row(app, held.id)
    assert row.failed_at is None and row.claimed_until is not None


class WatchingChannel(MemoryChannel):
    """Reads the message's row from the database while the channel is being called."""

    def __init__(self, app: App) -> None:
        super().__init__()
        self.app = app
        self.seen: list[OutboxRow] = []

    async def deliver(self, address: str, reply: Reply) -> None:
        async with self.app.sessions() as session:
            rows = (await session.execute(select(OutboxRow))).scalars()
            self.seen.extend(row for row in rows if row.payload["text"] == reply.text)
        await super().deliver(address, reply)


async def test_sending_is_committed_before_the_call_and_cleared_with_the_outcome(
    app: App, clock: Clock
) -> None:
    watching = WatchingChannel(app)
    app.channels["memory"] = watching
    await _queue(app, "rosa", "fails once", "then goes")
    watching.fail_next = 1
    await app.dispatcher.run_once()
    async with app.sessions() as session:
        first = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars().first()
    assert first is not None
    # A channel error clears the mark: the message is retried as before, not reported.
    assert (first.sending_at, first.failed_at, first.attempts) == (None, None, 1)
    clock.advance(minutes=1)  # past the backoff
    await app.dispatcher.drain()
    assert [r.text for r in watching.sent["rosa"]] == ["fails once", "then goes"]
    # Read in another session while the channel was called, the failed call included.
    assert len(watching.seen) == 3
    assert all(seen.sending_at is not None for seen in watching.seen)
    async with app.sessions() as session:
        rows = list((await session.execute(select(OutboxRow))).scalars())
    assert [(r.sending_at, r.delivered_at is not None) for r in rows] == [(None, True)] * 2


async def test_renewing_extends_only_leases_still_held(app: App, clock: Clock) -> None:
    """The dispatcher's heartbeat: a held message's lease runs again from now; a settled
    one is not claimed back, and a lease that ran out is not revived (the message may be
    another instance's by then)."""
    await _queue(app, "rosa", "slow")
    await _queue(app, "joan", "done")
    slow, done = await app.outbox.claim(["memory"], clock.now(), lease_s=LEASE)
    assert await app.outbox.sending(slow.id, clock.now())
    await app.outbox.delivered(done.id, clock.now())
    clock.advance(seconds=LEASE - 1)
    assert await app.outbox.renew([slow.id, done.id], clock.now(), lease_s=LEASE) == 1
    assert (await _row(app, done.id)).claimed_until is None
    clock.advance(seconds=LEASE - 1)  # past the first lease, inside the renewed one
    assert await app.outbox.claim(["memory"], clock.now()) == []
    assert await app.outbox.interrupted() == 0
    clock.advance(seconds=2)  # no renewal came: the sender is gone
    assert await app.outbox.renew([slow.id], clock.now(), lease_s=LEASE) == 0
    assert await app.outbox.claim(["memory"], clock.now()) == []
    assert (await _row(app, slow.id)).last_error == INTERRUPTED
