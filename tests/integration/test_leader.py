"""One instance leads the scheduled work: on PostgreSQL through a session-level advisory
lock on a dedicated connection, taken over when the leader goes; on SQLite, always."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg

from bot.app import App
from bot.scheduled import PURGE_EVERY, RetentionPurge
from domain.model import ConversationState
from storage.leader import AlwaysLeader, PostgresLeader, build_leader
from tests.conftest import POSTGRES_ADMIN
from tests.support import Clock, office_settings, ready_app


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_one_leader_at_a_time_and_a_successor_when_it_goes(postgres_url: str) -> None:
    first, second, third = (PostgresLeader(postgres_url) for _ in range(3))
    try:
        assert await first.held()
        assert not await second.held() and not await third.held()
        assert await first.held()  # still: its connection answers
        await first.close()  # stops cleanly
        assert await second.held()
        assert not await third.held() and not await first.held()
    finally:
        for leader in (first, second, third):
            await leader.close()


async def test_asked_at_once_the_leader_keeps_leading(postgres_url: str) -> None:
    """The scheduler and the evidence round ask at the same moment: one connection, one
    question at a time, and the leadership is not let go for it."""
    import asyncio

    leader, other = PostgresLeader(postgres_url), PostgresLeader(postgres_url)
    try:
        assert await asyncio.gather(*(leader.held() for _ in range(8))) == [True] * 8
        assert await asyncio.gather(*(leader.held() for _ in range(8))) == [True] * 8
        assert not await other.held()
    finally:
        await leader.close()
        await other.close()


async def test_a_leader_whose_connection_dies_is_replaced(postgres_url: str) -> None:
    """What the database sees when a leader's process is killed: its session ends."""
    leader, successor = PostgresLeader(postgres_url), PostgresLeader(postgres_url)
    try:
        assert await leader.held()
        assert not await successor.held()
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            name = postgres_url.rsplit("/", 1)[1]
            killed = await admin.fetchval(
                # With a timeout, it returns once the backend is gone (and its lock with it).
                "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_locks JOIN pg_stat_activity"
                " USING (pid) WHERE locktype = 'advisory' AND granted AND datname = $1",
                name,
            )
        finally:
            await admin.close()
        assert killed == 1
        assert await successor.held()
        assert not await leader.held()  # it notices, and does not take it back
    finally:
        await leader.close()
        await successor.close()


async def test_sqlite_always_leads(tmp_path: Path) -> None:
    leader = build_leader(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}")
    assert isinstance(leader, AlwaysLeader)
    assert await leader.held()


def _purge(app: App) -> RetentionPurge:
    job = app.scheduler.jobs["purge"]
    assert isinstance(job, RetentionPurge)
    return job


async def test_only_the_leader_purges(tmp_path: Path, postgres_url: str) -> None:
    clock = Clock()
    settings = office_settings(postgres_url, tmp_path)
    leading, _ = await ready_app(settings, clock)
    waiting, _ = await ready_app(settings, clock)
    try:
        async with leading.uow() as uow:
            user = await uow.users.get_or_create(
                "memory", "rosa", address="rosa", display_name="", language="ca"
            )
            await uow.conversations.save(user.id, ConversationState(flow="menu", step="main"))
            await uow.commit()
        clock.advance(days=31)  # idle for longer than conversations are kept
        first, second = leading.scheduler, waiting.scheduler
        purged = {
            "idle conversations": 1,
            "old outbox messages": 0,
            "unsorted documents": 0,
            "handled updates": 0,
        }
        assert await first.tick()
        assert _purge(leading).report == purged | {"unreferenced files": 0}
        assert not await second.tick()  # not the leader: does nothing
        assert _purge(waiting).report is None
        assert await _purge(leading)(clock.now()) is None  # purged already this hour
        clock.advance(hours=1)
        assert timedelta(hours=1) == PURGE_EVERY
        assert await _purge(leading)(clock.now()) is not None
        await leading.leader.close()  # the leader stops
        assert await second.tick()  # the other one takes over at once
        assert _purge(waiting).report is not None
    finally:
        await leading.close()
        await waiting.close()


LEADING_PROCESS = """
import asyncio, sys
from storage.leader import PostgresLeader

async def main(url):
    leader = PostgresLeader(url)
    print("leading" if await leader.held() else "not leading", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_leader_process_is_replaced(postgres_url: str) -> None:
    import asyncio
    import signal
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LEADING_PROCESS,
        postgres_url,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    successor = PostgresLeader(postgres_url)
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 60) == b"leading\n"
        assert not await successor.held()
        process.send_signal(signal.SIGKILL)
        await process.wait()
        # The killed process's socket closed: the server ended its session at once (a
        # few checks at most, while it notices).
        for _ in range(50):
            if await successor.held():
                break
            await asyncio.sleep(0.1)
        assert await successor.held()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await successor.close()


async def test_only_the_leader_time_stamps_and_writes_the_journal(
    tmp_path: Path, postgres_url: str
) -> None:
    from bot.evidence_anchor import evidence_round

    clock = Clock()
    settings = office_settings(postgres_url, tmp_path)
    leading, _ = await ready_app(settings, clock)
    waiting, _ = await ready_app(settings, clock)
    try:
        assert await evidence_round(leading)
        assert not await evidence_round(waiting)  # one TSA request per seal, one writer
        await leading.leader.close()
        assert await evidence_round(waiting)
    finally:
        await leading.close()
        await waiting.close()
