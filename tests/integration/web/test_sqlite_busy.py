"""SQLite done right (issue 10, part 5): another process holding the database's write lock
delays only the turns that need the database, never the event loop: `/verify/junk` and
`/healthz` answer at once meanwhile, and the waiting turn completes when the lock goes.
A second `videotramit run` on the same SQLite file refuses to start.

Order, not timing: the holder keeps the lock until the test tells it to let go, after the
web answers were received.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.app import App
from handlers.i18n import translate
from tests.integration.test_cli import VIDEOTRAMIT, _config, _free_port
from tests.integration.web.conftest import Browser
from tests.support import SQLITE_ONLY, person

HOLD = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


@SQLITE_ONLY
async def test_a_lock_held_by_another_process_never_stalls_the_web(
    app: App, base_url: str, browser: Browser
) -> None:
    database = str(app.db_engine.url.database)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD,
        database,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    assert (await holder.stdout.readline()).strip() == b"locked"
    try:
        citizen = person(app, "joan", name="Joan Pujol", language="en")
        turn = asyncio.create_task(citizen.say("hello"))
        await asyncio.sleep(0.05)  # let the turn reach the database and find it locked
        web = browser()
        async with web.get(base_url + "/verify/junk") as response:
            verify = response.status
        async with web.get(base_url + "/healthz") as response:
            health = response.status
        waiting = not turn.done()
    finally:
        holder.stdin.write(b"go\n")
        await holder.stdin.drain()
        await holder.wait()
    replies = await turn

    assert (verify, health) == (400, 200)
    assert waiting  # the turn was still waiting for the lock when the web had answered
    assert replies and translate("en", "error.internal") not in citizen.text


def test_a_second_run_on_the_same_sqlite_database_refuses_to_start(tmp_path: Path) -> None:
    port = _free_port()
    config = _config(tmp_path, f'[web]\nlisten = "127.0.0.1:{port}"\n')
    first = subprocess.Popen(
        VIDEOTRAMIT + ["run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        other = tmp_path / "second.toml"  # the same database, another port
        other.write_text(config.read_text().replace(f":{port}", f":{_free_port()}"))
        second = subprocess.run(
            VIDEOTRAMIT + ["run", "--config", str(other)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert "already in use by another `videotramit run`" in second.stderr
        assert "database.url" in second.stderr and "Traceback" not in second.stderr
        assert first.poll() is None  # the first one goes on
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
