"""A `videotramit run` killed with SIGKILL mid-dispatch and restarted delivers the rest
without duplicates (issue 11).

A real `videotramit run` subprocess on a SQLite file sends 20 notifications to 5 chats
through the Bot API emulator over HTTP. The emulator accepts the 7th send (the chat shows
it) and never answers; the process is killed while that call hangs, then started again on
the same database. What the killed process left in the database is read between the two
runs: a message it had marked as being sent may have reached Telegram, so it is reported
(failed, INTERRUPTED, on /metrics) and never sent again; every other message is delivered
exactly once, each chat's in the order queued.

The service's clock is the machine's (`run` has no office time) and the rows are stamped
with that same clock, so they are due at once; nothing waits for a lease to run out, since
the restarted instance, the only one the lock file allows, releases the dead one's leases.
Waits poll with a deadline; none is an assertion.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.clock import SystemClock
from config.settings import load_settings
from storage.models import OutboxRow
from storage.outbox import INTERRUPTED
from tests.fakes.telegram import RateLimits, TelegramEmulator
from tests.integration.test_cli import VIDEOTRAMIT, _config, _free_port

CHATS = [8101, 8102, 8103, 8104, 8105]
NOTIFICATIONS = 20
CUT_AT = 7  # the send the emulator accepts and never answers
DEADLINE = 120.0  # seconds for a process to start, or to deliver everything


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(limits=RateLimits()) as emulator:  # Telegram's flood limits
        yield emulator


async def _app(config: Path) -> App:
    app = build_app(load_settings(config), clock=SystemClock())
    await app.prepare_database()
    return app


async def _queue(config: Path) -> dict[int, str]:
    """Notifications due now, one chat after the other; their texts by outbox id."""
    app = await _app(config)
    try:
        async with app.uow() as uow:
            for n in range(NOTIFICATIONS):
                await uow.outbox.enqueue(
                    channel="telegram",
                    address=str(CHATS[n % len(CHATS)]),
                    payload={"text": f"notice {n + 1}"},
                    user_id=None,
                )
            await uow.commit()
        return await _texts(app)
    finally:
        await app.close()


async def _texts(app: App) -> dict[int, str]:
    async with app.sessions() as session:
        rows = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars()
        return {row.id: str(row.payload["text"]) for row in rows}


async def _states(config: Path) -> dict[int, tuple[bool, bool, str]]:
    """(being sent, delivered, reason if failed) of each row."""
    app = await _app(config)
    try:
        async with app.sessions() as session:
            rows = (await session.execute(select(OutboxRow))).scalars()
            return {
                r.id: (
                    r.sending_at is not None and r.delivered_at is None and r.failed_at is None,
                    r.delivered_at is not None,
                    r.last_error if r.failed_at is not None else "",
                )
                for r in rows
            }
    finally:
        await app.close()


def _log(path: Path) -> IO[bytes]:
    return path.open("wb")


async def _start(config: Path, log: IO[bytes]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *VIDEOTRAMIT, "run", "--config", str(config), stdout=log, stderr=log
    )


async def _metrics(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        body = await response.text()
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in body.splitlines())
        if name.startswith("videotramit_outbox")
    }


async def _until_settled(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        try:
            seen = await _metrics(http, port)
            if seen.get("videotramit_outbox_pending") == 0:
                return seen
        except aiohttp.ClientError:
            pass  # not listening yet
        if loop.time() > deadline:
            raise TimeoutError("the restarted service did not settle every notification")
        await asyncio.sleep(0.2)


async def test_killed_mid_send_and_restarted_delivers_the_rest_once(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    port = _free_port()
    token = tmp_path / "telegram.token"
    token.write_text(emu.token)
    config = _config(
        tmp_path,
        f'[web]\nlisten = "127.0.0.1:{port}"\n'
        f'[telegram]\nenabled = true\ntoken_file = "{token}"\nbase_url = "{emu.base_url}"\n'
        'mode = "polling"\n',
    )
    users = [emu.user(id=chat, language_code="ca") for chat in CHATS]
    texts = await _queue(config)
    emu.stall_after(CUT_AT)

    with _log(tmp_path / "first.log") as log:
        first = await _start(config, log)
        try:
            await emu.wait_for(lambda: emu.stalled, DEADLINE, "the 7th send to hang")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
    assert first.returncode == -signal.SIGKILL
    [cut_call] = emu.stalled
    cut_text = cut_call.params["text"]
    emu.release_stall()  # its client is gone: the answer goes nowhere

    left = await _states(config)
    being_sent = {i for i, (sending, _, _) in left.items() if sending}
    delivered_before = {i for i, (_, delivered, _) in left.items() if delivered}
    untouched = set(texts) - being_sent - delivered_before
    cut_id = next(i for i, text in texts.items() if text == cut_text)
    assert cut_id in being_sent
    assert len(delivered_before) >= CUT_AT - 1 - len(being_sent)

    with _log(tmp_path / "second.log") as log:
        second = await _start(config, log)
        try:
            async with aiohttp.ClientSession() as http:
                seen = await _until_settled(http, port)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()
    assert second.returncode == 0, (tmp_path / "second.log").read_text()

    shown = {user.id: [m.text for m in emu.messages(user.id)] for user in users}
    times = {text: sum(t == text for ts in shown.values() for t in ts) for text in texts.values()}
    assert all(count <= 1 for count in times.values()), times  # nothing twice
    assert all(times[texts[i]] == 1 for i in untouched | delivered_before)
    assert times[cut_text] == 1  # Telegram had it; it was not sent again
    final = await _states(config)
    assert {i for i, (_, _, reason) in final.items() if reason == INTERRUPTED} == being_sent
    assert all(final[i][1] for i in untouched | delivered_before)
    assert seen["videotramit_outbox_interrupted"] == len(being_sent)
    for user in users:  # each chat's messages in the order they were queued
        queued = [t for i, t in sorted(texts.items()) if CHATS[(i - min(texts)) % 5] == user.id]
        assert shown[user.id] == [t for t in queued if t in shown[user.id]]
    second_log = (tmp_path / "second.log").read_text()
    assert '"level": "warning"' in second_log and INTERRUPTED in second_log
