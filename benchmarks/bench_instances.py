"""Several instances on one database (issue 14).

    .venv/bin/python -m benchmarks instances

1. **Outbox throughput, one vs two instances on PostgreSQL.** ``MESSAGES`` messages to as
   many Telegram chats are queued; then one, or two, separate ``videotramit`` processes
   (each its own app, connection pool and Telegram channel, limits off) deliver them
   through their outbox dispatchers to the Bot API emulator (no rate limit), which runs in
   a process of its own (in the bench's, its loop was shared with the bench's polling and
   capped both figures). The instances start, connect and greet Telegram first; the clock
   runs from "go" until the emulator holds every message. Rounds alternate one/two
   ``ROUNDS`` times (``BENCH_INSTANCES_ROUNDS``, default 3); the figures are the medians,
   the ratio the median of each pair's (a pair shares the machine's load: two cores
   shared with other work, whose share of the CPU is printed for every round). Target:
   ratio ≥ 1.6.
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
from tests.session_kit import book
from tests.support import Clock, office_settings, person, ready_app

MESSAGES = int(os.environ.get("BENCH_INSTANCES_MESSAGES", "1500"))
ROUNDS = int(os.environ.get("BENCH_INSTANCES_ROUNDS", "3"))
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
    while await app.outbox.pending():  # rarely: the clock stops at the emulator, not here
        await asyncio.sleep(0.5)
    await app.close()

asyncio.run(main(*sys.argv[1:5]))
"""

# The emulator's process. "users FIRST N": N chats that have started the bot; "watch FIRST
# N": answers "watching" at once, then "done <duplicates>" when each of those chats holds
# a message. Only the calls made since the last look are read, so watching costs its loop
# little.
EMULATOR = """
import asyncio, sys
from tests.fakes.telegram_api import RateLimits, TelegramEmulator

async def watch(emu, chats):
    waiting = set(chats)
    seen = len(emu.calls)
    while waiting:
        await asyncio.sleep(0.005)
        calls, seen = emu.calls[seen:], len(emu.calls)
        for call in calls:
            if call.name == "sendmessage" and call.status == 200:
                waiting.discard(int(call.params["chat_id"]))
    duplicates = sum(len(emu.chats[chat].messages) - 1 for chat in chats)
    print("done", duplicates, flush=True)

async def main():
    async with TelegramEmulator(limits=RateLimits.off()) as emu:
        print(emu.token, emu.base_url, flush=True)
        loop = asyncio.get_running_loop()
        watching = None
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            verb, first, count = line.split()
            chats = range(int(first), int(first) + int(count))
            if verb == "users":
                for chat in chats:
                    emu.user(id=chat, language_code="ca")
                print("ok", flush=True)
            elif verb == "watch":
                watching = asyncio.create_task(watch(emu, chats))
                print("watching", flush=True)

asyncio.run(main())
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


async def _queue(app: App, first_chat: int) -> None:
    async with app.uow() as uow:
        for chat in range(first_chat, first_chat + MESSAGES):
            await uow.outbox.enqueue(
                channel="telegram",
                address=str(chat),
                payload={"text": f"Recordatori {chat}: demà a les 9:30."},
                user_id=None,
            )
        await uow.commit()


class _Emulator:
    """The Bot API emulator in a process of its own, driven by lines on its stdin, so its
    event loop (every message's request) is not shared with anything the bench measures."""

    def __init__(self, process: asyncio.subprocess.Process, token: str, base_url: str) -> None:
        self.process = process
        self.token = token
        self.base_url = base_url

    @classmethod
    async def start(cls) -> _Emulator:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", EMULATOR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
        )
        token, base_url = (await cls._read(process, 60)).split()
        return cls(process, token, base_url)

    @staticmethod
    async def _read(process: asyncio.subprocess.Process, timeout: float) -> str:  # noqa: ASYNC109
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("the emulator's process ended")
        return line.decode().strip()

    async def ask(self, line: str, timeout: float = 60) -> str:  # noqa: ASYNC109
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()
        return await self._read(self.process, timeout)

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), 30)


async def _instance(url: str, folder: Path, emu: _Emulator) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
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


async def _backends(database: str) -> list[int]:
    import asyncpg

    connection = await asyncpg.connect(ADMIN, timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
        )
        return [int(row["pid"]) for row in rows]
    finally:
        await connection.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process of this machine (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cpu_of(emu: _Emulator, workers: list[Any], database: str) -> dict[str, float]:
    """CPU seconds used so far by the instances, the emulator and the database's server
    processes."""
    backends = await _backends(database)
    return {
        "instances": sum(_cpu_seconds(w.pid) for w in workers),
        "emulator": _cpu_seconds(emu.process.pid),
        "postgres": sum(_cpu_seconds(pid) for pid in backends),
    }


async def _deliver(
    emu: _Emulator, url: str, folder: Path, processes: int, first: int
) -> tuple[float, dict[str, float]]:
    """Messages per second from "go" to the last one held by the emulator (the instances'
    start-up, imports, connections and the channel's getMe, is over before), and the CPU
    milliseconds each part spent per message."""
    workers = [await _instance(url, folder, emu) for _ in range(processes)]
    for worker in workers:
        line = await _Emulator._read(worker, 60)
        if line != "ready":
            raise RuntimeError(f"an instance did not start: {line!r}")
    assert (await emu.ask(f"watch {first} {MESSAGES}")) == "watching"
    database = url.rsplit("/", 1)[1]
    used = await _cpu_of(emu, workers, database)
    cpu = _machine_cpu()
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    answer = await emu._read(emu.process, 300)
    elapsed = time.perf_counter() - started
    busy = _busy(cpu, _machine_cpu())
    spent = {k: v - used[k] for k, v in (await _cpu_of(emu, workers, database)).items()}
    for worker in workers:
        await asyncio.wait_for(worker.wait(), 60)
    if answer != "done 0":
        raise RuntimeError(f"deliveries went wrong: {answer}")
    rate = MESSAGES / elapsed
    shares = ", ".join(f"{k} {v / elapsed:.2f}" for k, v in spent.items())
    print(
        f"# {processes} instance(s): {rate:.1f} msg/s; machine busy {busy:.0%};"
        f" cores used: {shares} (total {sum(spent.values()) / elapsed:.2f} of {os.cpu_count()})",
        file=sys.stderr,
    )
    return rate, {k: v * 1000 / MESSAGES for k, v in spent.items()}


def _bound(per_message: dict[str, float], cores: int) -> float:
    """The most two instances can gain over one on a machine of ``cores`` cores left to
    them: one instance is held by its own loop (one core), two by every part's CPU."""
    own = per_message["instances"]
    total = sum(per_message.values())
    one = min(1 / own, cores / total)
    two = min(2 / own, cores / total)
    return two / one


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (/proc/stat): the bench's processes
    share two cores with whatever else runs, and a busy machine caps the second instance."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


async def outbox_throughput(folder: Path) -> tuple[float, float, float]:
    """(one, two, ratio): the median of each, and the median of the rounds' ratios, each
    two-instance round against the one-instance round just before it, under the same load
    of the machine's other work."""
    name, url = await _database()
    one: list[float] = []
    two: list[float] = []
    costs: list[dict[str, float]] = []
    emu = await _Emulator.start()
    try:
        app, _ = await ready_app(office_settings(url, folder), Clock())
        try:
            first = 500_000
            for _ in range(ROUNDS):
                for processes, figures in ((1, one), (2, two)):
                    await emu.ask(f"users {first} {MESSAGES}")
                    await _queue(app, first)
                    rate, per_message = await _deliver(emu, url, folder, processes, first)
                    figures.append(rate)
                    if processes == 1:
                        costs.append(per_message)
                    first += MESSAGES
        finally:
            await app.close()
    finally:
        await emu.stop()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    print(f"# outbox msg/s, one instance: {one}; two: {two}; ratios {ratios}", file=sys.stderr)
    cost = {k: statistics.median(c[k] for c in costs) for k in costs[0]}
    cores = os.cpu_count() or 1
    print(
        "# CPU ms per message with one instance: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cost.items())
        + f"; with {cores} cores to themselves, two instances could gain at most"
        f" {_bound(cost, cores):.2f}x",
        file=sys.stderr,
    )
    return statistics.median(one), statistics.median(two), statistics.median(ratios)


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
        one, two, ratio = await outbox_throughput(folder / "outbox")
        print(f"BENCH outbox_two_instances {two:.1f} msg/s ratio={ratio:.2f}")
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
