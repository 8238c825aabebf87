"""`videotramit evidence verify REF` on the live store vs `sha256sum` over the same bytes.

An appointment with 1,000 evidence events and a 100 MB recording stored encrypted
(AES-256-GCM) is verified from the database: the chain, then every referenced file
decrypted and hashed. Baseline: the `sha256sum` binary over the plaintext recording, in
the same run, best of 3 each. Target: ratio <= 1.5.

Prints ``BENCH evidence_verify_db <s> s ratio=<verify/sha256sum>``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.app import App
from bot.evidence_ops import verify_reference
from domain.evidence import EventKind
from tests.support import Clock, book_directly, office_settings, ready_app

EVENTS = 1000
VIDEO_BYTES = 100 * 1000 * 1000
ROUNDS = 3


def _video(path: Path) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as handle:
        written = 0
        while written < VIDEO_BYTES:
            chunk = block[: VIDEO_BYTES - written]
            handle.write(chunk)
            written += len(chunk)


async def _prepare(app: App, video: Path) -> str:
    now = app.clock.now()
    start = now + timedelta(hours=2)
    sha = await app.storage.blobs.put_file(video)
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "b", address="b", display_name="", language="ca"
        )
        appointment = await book_directly(
            uow, citizen_id=user.id, start=start, reference="VT-BENCH23"
        )
        for n in range(EVENTS - 1):
            await uow.evidence.append(
                appointment_id=appointment.id,
                reference=appointment.reference,
                kind=EventKind.DATA_FILLED,
                actor="staff:anna",
                data={"field": f"f{n}", "sha256": f"{n:064x}"},
                at=now,
            )
        await uow.evidence.append(
            appointment_id=appointment.id,
            reference=appointment.reference,
            kind=EventKind.RECORDING_INGESTED,
            actor="jibri",
            data={"sha256": sha, "size": VIDEO_BYTES},
            at=now,
        )
        await uow.commit()
    return appointment.reference


def _best(run: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


async def _main(folder: Path) -> None:
    video = folder / "recording.mp4"
    _video(video)
    settings = office_settings(f"sqlite+aiosqlite:///{folder / 'vt.db'}", folder)
    app, _ = await ready_app(settings, Clock())
    try:
        reference = await _prepare(app, video)
        check = await verify_reference(app, reference)
        assert check.ok and check.records == EVENTS, check
        times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            await verify_reference(app, reference)
            times.append(time.perf_counter() - began)
        ours = min(times)
    finally:
        await app.close()
    baseline = _best(
        lambda: subprocess.run(["sha256sum", str(video)], check=True, capture_output=True)
    )
    print(f"BENCH evidence_verify_db {ours:.3f} s ratio={ours / baseline:.2f}", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as folder:
        asyncio.run(_main(Path(folder)))


if __name__ == "__main__":
    main()
