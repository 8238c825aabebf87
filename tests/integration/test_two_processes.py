"""Two real `videotramit run` processes on one PostgreSQL database, behind a round-robin
webhook (the Telegram emulator plays Telegram and the load balancer): citizens book by
pressing buttons, every chat's replies arrive in order, every clerk's notice once; then one
process is killed with SIGKILL while citizens are booking, and the other carries on and
takes over the scheduled work (issue 14). In between, a clerk opens a session whose
recording Jibri never answers, and citizens on both processes are answered meanwhile."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from handlers.engine import REPLY_HOLD
from storage.leader import LEADER_KEY
from tests.conftest import POSTGRES_ADMIN
from tests.fakes.jibri_api import FakeJibriApi
from tests.fakes.telegram_api import ChatMessage, RateLimits, TelegramEmulator, VirtualUser
from tests.support import EVIDENCE_KEY, JITSI_SECRET, STAFF_TOML

VIDEOTRAMIT = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "two-processes_webhook-secret"
ANNA_TG, MARC_TG = 7001, 7002
FIRST_CITIZEN = 20_001
DAYS = 5  # the first page of free days
# Times both clerks who do a "padró" registration (Alta) work: two places each.
SHARED_TIMES = [f"{h}:{m}" for h in (9, 10, 11, 12) for m in ("00", "30")]
TIMES = SHARED_TIMES + ["13:00", "13:30"]  # Anna only
STARTING = "Gravació: s'està posant en marxa"
STEP_TIMEOUT = 30.0  # generous: two cores shared by two services, the database and the test
# scheduler interval (30 s, bot/scheduler.py) + the time PostgreSQL takes to end a dead session
TAKEOVER_DEADLINE = 45.0
# How long before the kill an update answered by the killed process counts as "on it": its
# replies' marks are made together every 100 ms (Engine.SETTLE_EVERY), on a busy machine later.
LAST_MOMENT = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, emulator: str, jibri: str, port: int) -> Path:
    staff = STAFF_TOML.replace('id = "anna"', f'id = "anna"\ntelegram_id = "{ANNA_TG}"').replace(
        'id = "marc"', f'id = "marc"\ntelegram_id = "{MARC_TG}"'
    )
    path = folder / f"council-{port}.toml"
    path.write_text(
        f'data_dir = "{folder / "data"}"\nlog_format = "json"\n'
        # so that free slots exist whatever the day and hour the test runs
        "[schedule]\nmin_notice_hours = 72\nhorizon_days = 21\n"
        f'[telegram]\nenabled = true\nbase_url = "{emulator}"\nmode = "webhook"\n'
        f'[web]\nlisten = "127.0.0.1:{port}"\npublic_base_url = "https://oac.test"\n'
        '[jitsi]\nbase_url = "https://meet.test"\n'
        # A call to Jibri waits as long as the settings allow: the recorder that never
        # answers (the test's stand-in) is still hanging when the citizens are answered.
        f'[jibri]\napi_url = "{jibri}"\nauto_start = true\ntimeout_seconds = 90\n'
        'xmpp_domain = "recorder.meet.test"\nrecorder_user = "recorder"\n'
        f"{staff}"
    )
    return path


@dataclass
class Instance:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/telegram/webhook"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


async def _ready(instance: Instance, deadline: float) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        while True:
            assert instance.process.returncode is None, instance.tail()
            with suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{instance.url}/readyz") as response:
                    if response.status == 200:
                        return
            assert time.monotonic() < deadline, f"not ready\n{instance.tail()}"
            await asyncio.sleep(0.2)


def _webhooks_set(emu: TelegramEmulator) -> int:
    return len([call for call in emu.calls_to("setWebhook") if call.status == 200])


@asynccontextmanager
async def instances(
    emu: TelegramEmulator, jibri: FakeJibriApi, folder: Path, database_url: str, count: int = 2
) -> AsyncIterator[list[Instance]]:
    """``count`` processes started one after the other (the first migrates the database),
    each ready (/readyz) and its webhook set before the balancer sends it anything."""
    env = {
        **os.environ,
        "VIDEOTRAMIT_DATABASE__URL": database_url,
        "VIDEOTRAMIT_TELEGRAM__TOKEN": emu.token,
        "VIDEOTRAMIT_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "VIDEOTRAMIT_JITSI__APP_SECRET": JITSI_SECRET,
        "VIDEOTRAMIT_EVIDENCE__SIGNING_KEY": EVIDENCE_KEY,
        "VIDEOTRAMIT_STORAGE__MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "VIDEOTRAMIT_JIBRI__RECORDER_PASSWORD": "recorder-pw",
    }
    started: list[Instance] = []
    try:
        for n in range(count):
            port = _free_port()
            log = folder / f"instance-{n}.log"
            with log.open("wb") as sink:
                process = await asyncio.create_subprocess_exec(
                    *VIDEOTRAMIT,
                    "run",
                    "--config",
                    str(_config(folder, emu.base_url, jibri.url, port)),
                    stdout=sink,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    cwd=ROOT,
                )
            instance = Instance(port, process, log)
            started.append(instance)
            await _ready(instance, time.monotonic() + 60)
            await emu.wait_for(lambda: _webhooks_set(emu) > len(started) - 1, 30, "setWebhook")
        emu.balance([instance.webhook for instance in started])
        yield started
    finally:
        for instance in started:
            if instance.process.returncode is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in started:
            try:
                await asyncio.wait_for(instance.process.wait(), 20)
            except TimeoutError:
                instance.process.kill()
                await instance.process.wait()


@dataclass
class Citizen:
    """A citizen booking by buttons: /start → Català → D'acord → Demanar cita → Alta →
    the n-th day → a time → Confirmar. Each step waits for the bot's answer to it."""

    emu: TelegramEmulator
    user: VirtualUser
    day: int
    time: str
    updates: list[int] = field(default_factory=list)
    reference: str = ""
    patience: float = STEP_TIMEOUT

    def _sent(self) -> None:
        self.updates.append(self.emu._next_update_id - 1)  # the update just queued

    async def _answer(self, ready: str) -> ChatMessage:
        """Waits until the bot's newest message in the chat contains ``ready``."""

        def arrived() -> ChatMessage | None:
            last = self.user.last
            seen = (last.text or "") + " ".join(last.button_texts) if last else ""
            return last if last is not None and ready in seen else None

        message: ChatMessage = await self.emu.wait_for(
            arrived, self.patience, f"{ready!r} in chat {self.user.id}"
        )
        return message

    async def _press(self, label: str, ready: str) -> None:
        message = next(m for m in reversed(self.user.inbox) if m.buttons)
        text = next(t for t in message.button_texts if t == label or t.startswith(label))
        await self.user.press(message, text)
        self._sent()
        await self._answer(ready)

    async def book(self) -> None:
        await self.user.send_command("start")
        self._sent()
        await self._answer("Català")
        await self._press("Català", "D'acord")
        await self._press("D'acord", "Demanar cita")
        await self._press("Demanar cita", "Alta")
        await self._press("Alta", "Quin dia et va bé?")
        day = next(m for m in reversed(self.user.inbox) if m.buttons).button_texts[self.day]
        await self._press(day, "Hores lliures")
        await self._press(self.time, "Confirmar")
        await self._press("Confirmar", "Què vols fer?")  # booked, and the menu again
        done = next(m.text for m in self.user.inbox if "La teva cita és la" in (m.text or ""))
        self.reference = (done or "").split("La teva cita és la ")[1].split(".")[0]


_DAY = re.compile(r"\b(dl|dt|dc|dj|dv|ds|dg)\. \d+ de [\w.]+")
_LONG_DAY = re.compile(r"(dilluns|dimarts|dimecres|dijous|divendres|dissabte|diumenge) \d+ de \w+")
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


def _transcript(emu: TelegramEmulator, citizen: Citizen) -> list[str]:
    """The chat as the citizen sees it, their day, time and reference blanked, so every
    citizen's reads the same: the same messages, in the same order."""
    lines = []
    for message in emu.messages(citizen.user.id):
        text = " | ".join([message.text or "", *message.button_texts])
        text = re.sub(r"VT-[\w-]+", "VT-?", text)
        text = _TIME.sub("H:M", _LONG_DAY.sub("DAY", _DAY.sub("DAY", text)))
        lines.append(text)
    return lines


def _said(line: str) -> str:
    """A transcript line without its buttons or the choice shown in their place."""
    return line.split(" | ")[0].split("\n\n→ ")[0]


def _notices(emu: TelegramEmulator) -> dict[str, int]:
    """How many times each reference was announced to a clerk."""
    counts: dict[str, int] = {}
    for clerk in (ANNA_TG, MARC_TG):
        for message in emu.messages(clerk):
            for reference in re.findall(r"Nova cita (VT-[\w-]+):", message.text or ""):
                counts[reference] = counts.get(reference, 0) + 1
    return counts


def _leader_lock() -> tuple[int, int]:
    """pg_locks' (classid, objid) of the leader's bigint advisory key."""
    key = LEADER_KEY & 0xFFFF_FFFF_FFFF_FFFF
    return key >> 32, key & 0xFFFF_FFFF


async def _leader_backend(database_url: str) -> int | None:
    """The server process (pid) of the session holding the leadership, if any."""
    name = database_url.rsplit("/", 1)[1]
    classid, objid = _leader_lock()
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        pid: int | None = await connection.fetchval(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1"
            " AND l.classid = $2 AND l.objid = $3 AND l.objsubid = 1",
            name,
            classid,
            objid,
        )
        return pid
    finally:
        await connection.close()


async def _appointments(database_url: str) -> int:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM appointments")
        return count
    finally:
        await connection.close()


async def _until(check: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


def _citizens(emu: TelegramEmulator, first: int, times: list[str], count: int) -> list[Citizen]:
    """``count`` citizens, each with a (day, time) no other citizen of the batch picks, so
    none of them meets a slot just taken."""
    return [
        Citizen(emu, emu.user(first + n, f"Veí {n}"), n % DAYS, times[n // DAYS])
        for n in range(count)
    ]


async def _move_to_now(database_url: str, staff_id: str) -> str:
    """One of the clerk's appointments moved to start now (it was booked days ahead, as the
    booking rules want), so that she can open its session; its reference."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        reference: str = await connection.fetchval(
            "UPDATE appointments SET start = now(), \"end\" = now() + interval '30 minutes'"
            " WHERE id = (SELECT min(id) FROM appointments WHERE staff_id = $1)"
            " RETURNING reference",
            staff_id,
        )
        return reference
    finally:
        await connection.close()


async def _greeted(citizen: Citizen) -> None:
    """Two turns: /start, then the language."""
    await citizen.user.send_command("start")
    citizen._sent()
    await citizen._answer("Català")
    await citizen._press("Català", "D'acord")


async def _recorder_never_answers(
    emu: TelegramEmulator, jibri: FakeJibriApi, database_url: str, clerk: VirtualUser
) -> set[str]:
    """Anna opens a session, which asks Jibri to record; Jibri takes the call and never
    answers. Meanwhile citizens talk to the bot: all of them are answered before Jibri is
    let go. Returns the webhooks that served those citizens."""
    reference = await _move_to_now(database_url, "anna")
    jibri.slow_seconds = 3600  # every answer held until released
    anna = Citizen(emu, clerk, 0, "")
    await clerk.send_command("today")
    anna._sent()
    await anna._answer(reference)
    agenda = next(m for m in reversed(clerk.inbox) if m.buttons)
    await anna._press(next(t for t in agenda.button_texts if t.endswith(reference)), "Obrir")
    await anna._press("Obrir la sessió", STARTING)

    def asked() -> bool:
        return any(r.path.endswith("/startService") for r in jibri.requests)

    await emu.wait_for(asked, STEP_TIMEOUT, "the recording asked of Jibri")
    citizens = _citizens(emu, FIRST_CITIZEN + 200, TIMES, 10)
    await asyncio.gather(*(_greeted(citizen) for citizen in citizens))
    # Every citizen has both replies while Jibri still holds the one call it was made
    # (never answered, not timed out, not made again)...
    assert [r.path for r in jibri.requests].count("/jibri/api/v1.0/startService") == 1
    panel = clerk.last
    assert panel is not None and STARTING in (panel.text or "")
    jibri.release_slow()
    # ...and once Jibri answers, the clerk's panel says so.
    await anna._answer("Gravació: en curs")
    jibri.slow_seconds = 0
    await emu.drain(STEP_TIMEOUT)
    return {emu.acknowledged_by[u] for c in citizens for u in c.updates}


# Two services started, three phases, and a hold of the killed process's replies to wait out.
@pytest.mark.timeout(300)
async def test_two_processes_behind_a_round_robin_webhook(
    tmp_path: Path, postgres_url: str
) -> None:
    # Telegram waits long for a webhook's answer; 10 s (the emulator's default) is less than
    # a turn may take on a busy 2-core machine, and a delivery timed out is made again.
    async with (
        TelegramEmulator(
            limits=RateLimits.off(), webhook_retry_delay=0.05, webhook_timeout=60.0
        ) as emu,
        FakeJibriApi() as jibri,
    ):
        clerks = [emu.user(ANNA_TG, "Anna"), emu.user(MARC_TG, "Marc")]
        async with instances(emu, jibri, tmp_path, postgres_url) as (first, second):
            for clerk in clerks:  # a clerk is told of bookings once they talked to the bot
                await clerk.send_command("start")
                await clerk.wait_for_messages(1, STEP_TIMEOUT)
            # Both alive: 50 citizens at once.
            batch = _citizens(emu, FIRST_CITIZEN, TIMES, 50)
            await asyncio.gather(*(citizen.book() for citizen in batch))
            await emu.drain(STEP_TIMEOUT)  # the replies come before the 200
            served = {emu.acknowledged_by[u] for c in batch for u in c.updates}
            assert served == {first.webhook, second.webhook}
            assert emu.webhook_errors == [] and emu.stats.webhook_refused == 0
            expected = _transcript(emu, batch[0])
            assert len(expected) == 12
            for citizen in batch:
                assert _transcript(emu, citizen) == expected, citizen.user.id
            references = [citizen.reference for citizen in batch]
            assert len(set(references)) == 50
            await emu.wait_for(lambda: len(_notices(emu)) == 50, STEP_TIMEOUT, "50 notices")
            assert _notices(emu) == dict.fromkeys(references, 1)

            # A Jibri that never answers delays no citizen, on either process.
            served = await _recorder_never_answers(emu, jibri, postgres_url, clerks[0])
            assert served == {first.webhook, second.webhook}

            # The first process leads the scheduled work; it is killed while 20 more
            # citizens book (the clerks' other place at the times both work).
            # (A leader whose check timed out on the busy machine lets go and takes the lock
            # again at its next check: wait for it to hold it.)
            async def led() -> bool:
                return await _leader_backend(postgres_url) is not None

            await _until(led, time.monotonic() + TAKEOVER_DEADLINE, "a leader")
            leader = await _leader_backend(postgres_url)
            assert leader is not None
            late = _citizens(emu, FIRST_CITIZEN + 100, SHARED_TIMES, 20)
            for citizen in late:  # replies the killed process held come when the hold ends
                citizen.patience = STEP_TIMEOUT + REPLY_HOLD.total_seconds()
            booking = [asyncio.create_task(citizen.book()) for citizen in late]
            await emu.wait_for(
                # past everyone's /start (a /start handled twice would greet twice)
                lambda: sum(1 for c in late for u in c.updates if u in emu.acknowledged_by) >= 60,
                STEP_TIMEOUT,
                "the late citizens under way",
            )
            killed_at = asyncio.get_running_loop().time()
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
            outcomes = await asyncio.gather(*booking, return_exceptions=True)
            await emu.drain(STEP_TIMEOUT)

            # The updates the killed process was handling when it died were not acknowledged
            # (the webhook is answered after the replies), so the balancer delivered them to
            # the survivor, which takes a turn the killed process had committed only once
            # (its update id is recorded with it) and sends the replies that process held
            # and never sent when their hold runs out. Every late citizen booked.
            dying = {uid for uid, target, _ in emu.webhook_errors if target == first.webhook}
            # Also the updates it answered just before it died: their replies went out, but
            # the marks that they had (made together every 100 ms) may not have been made.
            dying |= {
                uid
                for uid, target in emu.acknowledged_by.items()
                if target == first.webhook and emu.acknowledged_at[uid] >= killed_at - LAST_MOMENT
            }
            failed = [(c.user.id, o) for c, o in zip(late, outcomes, strict=True) if o is not None]
            assert failed == [], failed
            exact = [c for c in late if _transcript(emu, c) == expected]
            # A reply cut in the middle of its send by the kill may be read twice: only by a
            # citizen with an update on the dying process, and only lines it reads anyway.
            twice = [c for c in late if c not in exact]
            for citizen in twice:
                read = _transcript(emu, citizen)
                assert set(citizen.updates) & dying, (citizen.user.id, read)
                # By what each message says: the copy read again still shows its buttons,
                # the first shows the choice made ("→ …") in their place.
                assert {_said(line) for line in read} <= {_said(line) for line in expected}, read
            assert emu.stats.webhook_dropped == 0
            done = references + [c.reference for c in late]
            await emu.wait_for(
                lambda: all(r in _notices(emu) for r in done), STEP_TIMEOUT, "late notices"
            )
            assert await _appointments(postgres_url) == len(done)  # none booked twice
            counts = _notices(emu)
            assert all(counts[r] == 1 for r in done) and max(counts.values()) == 1

            # The survivor takes the scheduled work over.
            async def taken_over() -> bool:
                holder = await _leader_backend(postgres_url)
                return holder is not None and holder != leader

            await _until(taken_over, time.monotonic() + TAKEOVER_DEADLINE, "a new leader")
            assert second.process.returncode is None
            extra = [line for c in twice for line in _transcript(emu, c) if line not in expected]
            # No stale-button answer, nothing new: at most a message read again (still with
            # its buttons, where the first one shows what was pressed).
            said = [line.split(" | ")[0] for line in expected]
            assert all(any(s.startswith(line.split(" | ")[0]) for s in said) for line in extra), (
                extra
            )
            print(
                f"\nlate citizens: {len(late)} booked, {len(exact)} read exactly as expected,"
                f" {len(twice)} read a line twice; updates failed on the dying process:"
                f" {len(dying)}; deliveries refused and rerouted: {emu.stats.webhook_refused}"
            )
