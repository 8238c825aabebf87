"""The daily root over 10,000 chains closed in one day, from the database.

10,000 seals of one day are stored in SQLite on disk; ``journal_closed_days`` (what
``videotramit evidence journal`` and the service's worker run the next morning) reads
them, builds the RFC 6962 tree, signs the root and appends it to the journal. Best of 3
fresh databases. Target: <= 1 s. The pure tree over the same hashes is printed beside it.

Prints ``BENCH merkle_daily_root <s> s`` and ``BENCH merkle_tree_only <s> s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.evidence_anchor import journal_closed_days
from domain.seals import merkle_root
from storage.models import EvidenceSealRow
from tests.support import Clock, book_directly, office_settings, ready_app

SEALS = 10_000
ROUNDS = 3


async def _one(folder: Path) -> float:
    settings = office_settings(f"sqlite+aiosqlite:///{folder / 'vt.db'}", folder / "data")
    clock = Clock()
    app, _ = await ready_app(settings, clock)
    try:
        async with app.uow() as uow:
            user = await uow.users.get_or_create(
                "memory", "b", address="b", display_name="", language="ca"
            )
            appointment = await book_directly(
                uow,
                citizen_id=user.id,
                start=clock.now() + timedelta(hours=2),
                reference="VT-MERKLE1",
            )
            await uow.commit()
        day = clock.now().astimezone(settings.tz).date().isoformat()
        rows = [
            {
                "appointment_id": appointment.id,
                "seq": n + 1,
                "record_hash": hashlib.sha256(str(n).encode()).hexdigest(),
                "day": day,
                "sealed_at": clock.now(),
                "timestamp_attempts": 0,
                "timestamp_error": "",
            }
            for n in range(SEALS)
        ]
        async with app.sessions() as session, session.begin():
            await session.execute(insert(EvidenceSealRow), rows)
        clock.advance(hours=24)
        began = time.perf_counter()
        [entry] = await journal_closed_days(app)
        took = time.perf_counter() - began
        assert entry.size == SEALS
        return took
    finally:
        await app.close()


def main() -> None:
    times = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory(prefix="vt-bench-") as folder:
            times.append(asyncio.run(_one(Path(folder))))
    hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(SEALS)]
    began = time.perf_counter()
    merkle_root(hashes)
    tree = time.perf_counter() - began
    print(f"BENCH merkle_daily_root {min(times):.3f} s", flush=True)
    print(f"BENCH merkle_tree_only {tree:.3f} s", flush=True)


if __name__ == "__main__":
    main()
