"""Another citizen's reply while a scan bomb is being decoded, vs an idle server (issue 10).

    python -m benchmarks.bench_hostile

An app on a SQLite file in a temporary folder (the test office). One citizen, Maria, goes
through /start → language → privacy, then answers are timed: ``TURNS`` turns of /my and
/menu, one at a time, first with the server idle, then while another citizen's scan bomb
(a progressive JPEG whose refinement scan is repeated 9,000 times) is decoded in the
intake sandbox. The structural bound on scans is lifted for the run so the bomb really
reaches the decoder and burns a worker's CPU until its budget ends it: the second line of
defence, the worst case. Rounds alternate; medians are compared.

Prints ``BENCH reply_during_scan_bomb <ms> ms ratio=<busy/idle>`` (target: ratio <= 1.2).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.app import App
from tests.support import office_settings, person, ready_app
from tests.unit.documents.bad_files import scan_bomb

TURNS = 40
ROUNDS = 3


async def _replies(app: App, name: str) -> list[float]:
    maria = person(app, name, name="Maria Soler", language="en")
    timings = []
    for index in range(TURNS):
        start = time.perf_counter()
        await (maria.command("my") if index % 2 else maria.command("menu"))
        timings.append((time.perf_counter() - start) * 1000)
    return timings


async def _run(folder: Path) -> tuple[list[float], list[float], int]:
    settings = office_settings(
        f"sqlite+aiosqlite:///{folder / 'vt.db'}",
        folder,
        intake={"max_scans": 10_000, "cpu_seconds": 30, "wall_seconds": 120},
        fair_use={"turns_burst": 10_000, "uploads_burst": 10_000},
    )
    app, _ = await ready_app(settings)
    try:
        assert app.sandbox is not None
        await app.sandbox.start()
        maria = person(app, "maria", name="Maria Soler", language="en")
        for step in ("/start", "[English]", "[I understand]"):
            if step.startswith("/"):
                await maria.command(step[1:])
            else:
                await maria.press(step[1:-1])
        bomb = scan_bomb(repeats=9_000)  # under the lifted bound: decoded, ~8 s of CPU
        joan = person(app, "joan", name="Joan Pujol", language="en")
        idle: list[float] = []
        busy: list[float] = []
        bombs = 0
        await _replies(app, "maria")  # warm-up
        for _ in range(ROUNDS):
            idle += await _replies(app, "maria")
            sending = asyncio.create_task(joan.send_file("photo.jpg", bomb))
            await asyncio.sleep(0.2)  # the worker is decoding
            busy += await _replies(app, "maria")
            bombs += not sending.done()
            sending.cancel()  # the worker keeps decoding until its budget; a fresh one...
            await app.sandbox.close()  # ...replaces it for the next round
            await app.sandbox.start()
        return idle, busy, bombs
    finally:
        await app.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        idle, busy, bombs = asyncio.run(_run(Path(folder)))
    quiet, loaded = statistics.median(idle), statistics.median(busy)
    print(
        f"# {TURNS * ROUNDS} replies each; idle median {quiet:.2f} ms, during the bomb"
        f" {loaded:.2f} ms; the bomb was still being decoded after the replies in"
        f" {bombs}/{ROUNDS} rounds",
        file=sys.stderr,
    )
    print(f"BENCH reply_during_scan_bomb {loaded:.2f} ms ratio={loaded / quiet:.2f}")


if __name__ == "__main__":
    main()
