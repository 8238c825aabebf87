"""Round trip through a real Synapse: a citizen's message -> the bot's first answer.

One Synapse (matrix-synapse from PyPI, as the tests start it) runs for the whole benchmark.
In a plain room and in an encrypted room, a matrix-nio citizen sends a message and waits
for the answer, one at a time (``BENCH_MX_SAMPLES`` each, after a warm-up). The same is
measured against a bare matrix-nio echo bot (it answers every text with an ``m.notice``,
nothing else) on the same server in the same run; the videotramit bot is the whole service
(engine, SQLite on disk, the Matrix channel as ``bot/app.py`` builds it) answering "ajuda".

    BENCH matrix_roundtrip_plain_median <ms> ms ratio=<bot median / echo median>
    BENCH matrix_roundtrip_plain_p95 <ms> ms
    BENCH matrix_echo_plain_median <ms> ms
    BENCH matrix_roundtrip_encrypted_median <ms> ms ratio=<bot median / echo median>
    BENCH matrix_roundtrip_encrypted_p95 <ms> ms
    BENCH matrix_echo_encrypted_median <ms> ms

Target: ratio of medians <= 1.3 in both rooms.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, MatrixRoom, RoomMessageText

from tests.matrix_people import MatrixPerson
from tests.support import Clock, office_settings
from tests.synapse import Account, Synapse

NAMES = itertools.count(1)
SAMPLES = int(os.environ.get("BENCH_MX_SAMPLES", "40"))
WARMUP = 5


def note(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


class EchoBot:
    """The bare baseline: join on invite, answer each text with a notice."""

    def __init__(self, synapse: Synapse, account: Account, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            synapse.url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.sync(timeout=0, full_state=True)
        self.client.add_event_callback(self._on_text, RoomMessageText)  # type: ignore[arg-type]
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.client.sync_forever(timeout=30_000)

    async def join_all(self) -> None:
        for room_id in list(self.client.invited_rooms):
            await self.client.join(room_id)

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.client.user_id:
            return
        if room.encrypted and self.client.should_query_keys:
            await self.client.keys_query()
        await self.client.room_send(
            room.room_id,
            "m.room.message",
            {"msgtype": "m.notice", "body": event.body},
            ignore_unverified_devices=True,
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.client.close()


async def measure(person: MatrixPerson, text: str, count: int) -> list[float]:
    """Milliseconds from sending ``text`` to the first event the bot sends back."""
    times = []
    for _ in range(count):
        before = len(person.seen)
        started = time.perf_counter()
        await person.text(text)
        await person.wait_for(lambda n=before: len(person.seen) > n, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.3)  # the rest of the answer arrives; the bot is idle again
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def session_with(
    synapse: Synapse,
    folder: Path,
    bot_id: str,
    encrypted: bool,
    accept: Callable[[], Awaitable[None]] | None = None,
) -> MatrixPerson:
    account = synapse.register(f"citizen{next(NAMES)}")
    person = MatrixPerson(synapse.url, account, folder / account.user_id, bot_id)
    await person.start()
    await person.open_dm(encrypted=encrypted)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        if accept is not None:
            await accept()
        room = person.client.rooms.get(person.room_id)
        if room is not None and bot_id in room.users and not room.invited_users.get(bot_id):
            break
        if loop.time() > deadline:
            raise TimeoutError("the bot did not join")
        await asyncio.sleep(0.05)
    return person


async def run() -> None:
    from bot.app import build_app

    with tempfile.TemporaryDirectory(prefix="vt-bench-mx-") as tmp:
        root = Path(tmp)
        synapse = Synapse(root / "synapse")
        await asyncio.to_thread(synapse.start)
        results: dict[str, dict[str, list[float]]] = {}
        try:
            echo_account = synapse.register("echobot")
            echo = EchoBot(synapse, echo_account, root / "echo")
            await echo.start()
            bot_account = synapse.register("oacbench")
            settings = office_settings(
                f"sqlite+aiosqlite:///{root / 'vt.db'}",
                root / "data",
                matrix={
                    "enabled": True,
                    "homeserver": synapse.url,
                    "user_id": bot_account.user_id,
                    "password": bot_account.password,
                },
            )
            app = build_app(settings, clock=Clock())
            await app.prepare_database()
            channel: Any = app.channels["matrix"]
            await channel.start()
            await channel.wait_synced()
            try:
                for encrypted in (False, True):
                    kind = "encrypted" if encrypted else "plain"
                    people = root / "people" / kind
                    echo_person = await session_with(
                        synapse, people, echo_account.user_id, encrypted, echo.join_all
                    )
                    await echo_person.synced()
                    await measure(echo_person, "hola", WARMUP)
                    echo_times = await measure(echo_person, "hola", SAMPLES)
                    await echo_person.stop()

                    citizen = await session_with(synapse, people, bot_account.user_id, encrypted)
                    await citizen.wait_for(lambda c=citizen: len(c.seen) >= 2, timeout=30)
                    await citizen.synced()
                    await measure(citizen, "ajuda", WARMUP)
                    bot_times = await measure(citizen, "ajuda", SAMPLES)
                    await citizen.stop()
                    results[kind] = {"echo": echo_times, "bot": bot_times}
                    note(
                        f"{kind}: bot median {statistics.median(bot_times):.1f} ms, "
                        f"echo median {statistics.median(echo_times):.1f} ms"
                    )
            finally:
                await app.close()
                await echo.stop()
        finally:
            await asyncio.to_thread(synapse.stop)
    for kind, figures in results.items():
        bot_median = statistics.median(figures["bot"])
        echo_median = statistics.median(figures["echo"])
        print(
            f"BENCH matrix_roundtrip_{kind}_median {bot_median:.1f} ms "
            f"ratio={bot_median / echo_median:.2f}"
        )
        print(f"BENCH matrix_roundtrip_{kind}_p95 {p95(figures['bot']):.1f} ms")
        print(f"BENCH matrix_echo_{kind}_median {echo_median:.1f} ms")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
