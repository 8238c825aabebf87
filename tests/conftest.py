from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.clock import SystemClock
from tests.support import WALL_CLOCKS, Clock, WallClock, office_settings, ready_app

POSTGRES_ADMIN = os.environ.get(
    "VIDEOTRAMIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `any_hour` runs once at the machine's real time and once with the
    machine's clock moved to each of WALL_CLOCKS: it must pass at every one."""
    if metafunc.definition.get_closest_marker("any_hour") is None:
        return
    moments: list[WallClock | None] = [None, *WALL_CLOCKS]
    ids = ["wall=real", *(moment.id for moment in WALL_CLOCKS)]
    metafunc.parametrize("wall_clock", moments, ids=ids, indirect=True)


@pytest.fixture(autouse=True)
def wall_clock(request: pytest.FixtureRequest) -> Iterator[WallClock | None]:
    """The machine's clock for this test: moved (and ticking) for an `any_hour` run, else
    untouched. Autouse fixtures are set up before the other function-scoped ones, so the
    travel starts before the app (and its SystemClock, if any) is built."""
    moment: WallClock | None = getattr(request, "param", None)
    if moment is None:
        yield None
        return
    with time_machine.travel(moment.instant, tick=True):
        # Guard against a travel that did not take: the run would prove nothing.
        seen = SystemClock().now()
        assert moment.instant <= seen < moment.instant + timedelta(minutes=1), seen
        yield moment


@pytest.fixture
def clock(wall_clock: WallClock | None) -> Clock:
    # After wall_clock (explicitly, not only as autouse), so an app built on this clock is
    # built with the machine's clock already moved.
    return Clock()


@pytest.fixture
async def app(tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    application, _ = await ready_app(settings, clock)
    yield application
    await application.close()


@pytest.fixture
def channel(app: App) -> MemoryChannel:
    found = app.channels["memory"]
    assert isinstance(found, MemoryChannel)
    return found


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped at the end (tests on PostgreSQL
    book the same test Monday as the SQLite ones, so they must not share a database)."""
    yield from _fresh_postgres()


def _fresh_postgres() -> Iterator[str]:
    import asyncpg

    name = f"vt_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The repository contract suite's database: a fresh SQLite file, then a fresh
    PostgreSQL database (created and dropped around the test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}"
        return
    yield from _fresh_postgres()
