"""Several instances on one database (issue 14).

    .venv/bin/python -m benchmarks instances

1. **Outbox throughput, one vs two instances on PostgreSQL.** ``MESSAGES`` messages to as
   many Telegram chats are queued; then one, or two, separate ``videotramit`` processes
   (each its own app, connection pool and Telegram channel, limits off) deliver them
   through their outbox dispatchers to the Bot API emulator (no rate limit), which runs in
   this process. The clock runs from "go" until the emulator holds every message. Rounds
   alternate one/two ``ROUNDS`` times; the best of each is compared. Target: ratio ≥ 1.6.
2. **Engine turns per second, PostgreSQL vs SQLite**, side by side: ``CITIZENS`` people at
   once, each ``TURNS`` turns (help, menus, their appointments: every turn loads and saves
   the person, takes the turn lock, and commits).
3. **A turn's p95 latency while Jibri hangs**, against the same with no recorder: on
   SQLite, a clerk opens a session (which asks for a recording); the side-effects worker
   calls a Jibri that does not answer; meanwhile ``LATENCY_TURNS`` citizens' turns are
   timed one by one. Target: within 20 % (ratio ≤ 1.2).

Prints::

    BENCH outbox_two_instances <msg/s> msg/s ratio=<two/one>
    BENCH outbox_one_instance <msg/s> msg/s
    BENCH engine_turns_postgresql <turns/s> turns/s ratio=<postgresql/sqlite>
    BENCH engine_turns_sqlite <turns/s> turns/s
    BENCH turn_p95_jibri_hangs <ms> ms ratio=<hangs/no recorder>
    BENCH turn_p95_no_recorder <ms> ms
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bot.app import App
from tests.fakes.jibri_api import FakeJibriApi
from tests.fakes.telegram_api import RateLimits, TelegramEmulator
from tests.session_kit import book
from tests.support import Clock, office_settings, person, ready_app

MESSAGES = int(os.environ.get("BENCH_INSTANCES_MESSAGES", "1500"))
ROUNDS = 2
CITIZENS = 20
TURNS = 15
LATENCY_TURNS = 200
ADMIN = os.environ.get("VIDEOTRAMIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent

# One instance's process: its own app on the shared database, a Telegram channel with no
# limits, the dispatcher started on "go"; it ends when nothing is left to deliver.
WORKER = """
import asyncio, sys
from pathlib import Path
from bot.app import build_app
from bot.channels.telegram import Limits, build_channel
from tests.support import Clock, office_settings

async def main(url, folder, token, base_url):
    # Webhook mode: several instances, and none polls (no update is sent here anyway).
    settings = office_settings(url, Path(folder), telegram={
        "enabled": True, "token": token, "base_url": base_url, "mode": "webhook",
        "webhook_secret": "bench"}, web={"public_base_url": "http://127.0.0.1:9"})
    app = build_app(settings, clock=Clock())
    channel = build_channel(settings, app.engine, app.channel_memory("telegram"),
                            limits=Limits.off())
    app.channels["telegram"] = channel
    await channel.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    app.dispatcher.start()
    while await app.outbox.pending():
        await asyncio.sleep(0.05)
    await app.close()

asyncio.run(main(*sys.argv[1:5]))
"""


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _database() -> tuple[str, str]:
    name = f"vt_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


async def _queue(app: App, first_chat: int) -> list[int]:
    chats = list(range(first_chat, first_chat + MESSAGES))
    async with app.uow() as uow:
        for chat in chats:
            await uow.outbox.enqueue(
                channel="telegram",
                address=str(chat),
                payload={"text": f"Recordatori {chat}: demà a les 9:30."},
                user_id=None,
            )
        await uow.commit()
    return chats


async def _deliver(
    emu: TelegramEmulator, url: str, folder: Path, processes: int, chats: list[int]
) -> float:
    people = [emu.user(id=chat, language_code="ca") for chat in chats]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            url,
            str(folder),
            emu.token,
            emu.base_url,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"an instance did not start: {line!r}")
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    deadline = time.monotonic() + 300
    while sum(len(p.inbox) for p in people) < len(people):
        if time.monotonic() > deadline:
            raise TimeoutError("deliveries did not finish")
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    for worker in workers:
        await asyncio.wait_for(worker.wait(), 60)
    duplicates = sum(len(p.inbox) - 1 for p in people)
    if duplicates:
        raise RuntimeError(f"{duplicates} messages delivered twice")
    return len(chats) / elapsed


async def outbox_throughput(folder: Path) -> tuple[float, float]:
    name, url = await _database()
    one: list[float] = []
    two: list[float] = []
    try:
        async with TelegramEmulator(limits=RateLimits.off()) as emu:
            settings = office_settings(url, folder)
            app, _ = await ready_app(settings, Clock())
            try:
                first = 500_000
                for _ in range(ROUNDS):
                    for processes, figures in ((1, one), (2, two)):
                        chats = await _queue(app, first)
                        first += MESSAGES
                        figures.append(await _deliver(emu, url, folder, processes, chats))
            finally:
                await app.close()
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"# outbox msg/s, one instance: {one}; two: {two}", file=sys.stderr)
    return max(one), max(two)


SCRIPT = ["/start", "/help", "menu", "/my", "ajuda", "help"]


async def _turns(url: str, folder: Path) -> float:
    app, _ = await ready_app(office_settings(url, folder), Clock())
    try:
        people = [person(app, f"bench{n}", language="en") for n in range(CITIZENS)]

        async def talk(who: Any) -> None:
            for n in range(TURNS):
                await who.say(SCRIPT[n % len(SCRIPT)])
                if "went wrong" in who.text:
                    raise RuntimeError(f"a turn failed: {who.text!r}")

        await asyncio.gather(*(talk(p) for p in people[:2]))  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(talk(p) for p in people))
        return CITIZENS * TURNS / (time.perf_counter() - started)
    finally:
        await app.close()


async def turns_per_second(folder: Path) -> tuple[float, float]:
    sqlite = await _turns(f"sqlite+aiosqlite:///{folder / 'turns.db'}", folder)
    name, url = await _database()
    try:
        postgresql = await _turns(url, folder)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return postgresql, sqlite


async def _p95(folder: Path, jibri: FakeJibriApi | None) -> float:
    extra: dict[str, Any] = {}
    if jibri is not None:
        extra["jibri"] = {
            "api_url": jibri.url,
            "auto_start": True,
            "xmpp_domain": "recorder.meet.test",
            "recorder_user": "recorder",
            "recorder_password": "pw",
        }
    clock = Clock()
    app, _ = await ready_app(
        office_settings(f"sqlite+aiosqlite:///{folder / 'vt.db'}", folder, **extra), clock
    )
    try:
        await book(app, person(app, "rosa", language="en"))
        clock.advance(minutes=50)
        anna = person(app, "staff:anna", "Anna Puig", "en")
        for what in ("/today", "[9:00]", "[Open the session]"):
            if what.startswith("["):
                await anna.press(what[1:-1])
            else:
                await anna.command(what[1:])
        app.effects.start()
        if jibri is not None:
            for _ in range(1000):  # until the worker waits for Jibri's answer
                if jibri.requests:
                    break
                await asyncio.sleep(0.005)
            if not jibri.requests:
                raise RuntimeError("the worker never called Jibri")
        people = [person(app, f"c{n}", language="en") for n in range(20)]
        latencies = []
        for n in range(LATENCY_TURNS):
            who = people[n % len(people)]
            started = time.perf_counter()
            await who.say(SCRIPT[(n // len(people)) % len(SCRIPT)])
            latencies.append(time.perf_counter() - started)
        if jibri is not None and not jibri.requests:
            raise RuntimeError("Jibri was not called")
        return statistics.quantiles(latencies, n=20)[18] * 1000
    finally:
        if jibri is not None:
            jibri.release_slow()
        await app.close()


async def latency_while_jibri_hangs(folder: Path) -> tuple[float, float]:
    plain = await _p95(folder / "plain", None)
    async with FakeJibriApi() as jibri:
        jibri.slow_seconds = 3600
        hangs = await _p95(folder / "hangs", jibri)
    return hangs, plain


async def run() -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one, two = await outbox_throughput(folder / "outbox")
        print(f"BENCH outbox_two_instances {two:.1f} msg/s ratio={two / one:.2f}")
        print(f"BENCH outbox_one_instance {one:.1f} msg/s")
        postgresql, sqlite = await turns_per_second(folder / "turns")
        ratio = postgresql / sqlite
        print(f"BENCH engine_turns_postgresql {postgresql:.1f} turns/s ratio={ratio:.2f}")
        print(f"BENCH engine_turns_sqlite {sqlite:.1f} turns/s")
        hangs, plain = await latency_while_jibri_hangs(folder / "latency")
        print(f"BENCH turn_p95_jibri_hangs {hangs:.2f} ms ratio={hangs / plain:.2f}")
        print(f"BENCH turn_p95_no_recorder {plain:.2f} ms")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
