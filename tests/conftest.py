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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database of a test's app: a fresh SQLite file, then a fresh PostgreSQL database
    cloned from the run's migrated template, so every test written against `app` runs on
    both backends."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}"
        return
    template: str = request.getfixturevalue("postgres_template")
    yield from _fresh_postgres(template)


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    settings = office_settings(database_url, tmp_path)
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


def _admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


def _database_url(name: str) -> str:
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def _fresh_postgres(template: str | None = None) -> Iterator[str]:
    name = f"vt_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    yield _database_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """An empty database migrated to head once per run: each test's PostgreSQL database is
    a copy of it, which costs a file copy instead of every migration."""
    from storage import db

    name = f"vt_template_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = _database_url(name)

    async def migrate() -> None:
        engine = db.create_engine(url)
        try:
            await db.upgrade(engine, url)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The repository contract suite's database: a fresh SQLite file, then a fresh
    PostgreSQL database (created and dropped around the test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}"
        return
    yield from _fresh_postgres()
