"""Engine creation and migrations. SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import IO, Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


# How long one SQLite call waits inline for another process's lock, and how long in all
# (retried from a worker thread) before "database is locked" is raised.
BUSY_TIMEOUT_MS = 20
BUSY_WAIT_SECONDS = 10.0


class DatabaseError(Exception):
    """The database cannot be used (missing folder, read-only file, unreachable server)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions by itself: we emit BEGIN IMMEDIATE below.
    if dbapi_connection.isolation_level is not None:
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted and overwritten content is zeroed, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    # Short: a call that finds the database locked by another process returns at once
    # and is retried off the event loop (_InlineSqlite._execute), up to BUSY_WAIT_SECONDS.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Up to 32 MiB of pages (the default is 2 MB): the statistics scan a year's period index
    # and look up every appointment's survey; with the default the scan evicts the surveys'
    # pages and each look-up reads its page again from the file.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock up front: a deferred transaction that later needs to write can
    # fail with "database is locked" instead of waiting its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite without its worker thread.

    In WAL mode with synchronous=NORMAL a SQLite call returns in microseconds, while
    handing each one to a worker thread and back costs far more than the call itself
    (about four hand-offs per statement). The engine keeps a single connection, so
    coroutines queue for it in the pool without blocking the event loop. Only another
    process holding the lock can make a call wait: it then fails fast (a 20 ms busy
    timeout) and is retried from a worker thread, so the loop never waits for it.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        # Another process holds the lock: wait for it in a worker thread, never on the
        # event loop, so everything that needs no database goes on meanwhile.
        deadline = asyncio.get_running_loop().time() + BUSY_WAIT_SECONDS
        delay = 0.005
        while True:
            await asyncio.sleep(delay)
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or asyncio.get_running_loop().time() > deadline:
                    raise
            delay = min(delay * 2, 0.2)

    async def _connect(self) -> _InlineSqlite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, _InlineSqlite]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def private_database_file(database: str) -> None:
    """Create the SQLite file (and so its -wal and -shm, which SQLite creates with the
    database file's permissions) readable by the service's user only: mode 0600."""
    path = Path(database)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    for each in (path, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if each.exists() and each.stat().st_mode & 0o077 and each.stat().st_uid == os.getuid():
            each.chmod(0o600)


def _inline_creator(database: str) -> Callable[[], Awaitable[_InlineSqlite]]:
    def connector() -> sqlite3.Connection:
        private_database_file(database)
        return sqlite3.connect(
            database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )

    async def create() -> _InlineSqlite:
        return await _InlineSqlite(connector, iter_chunk_size=64)

    return create


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"database.url: cannot create the folder {folder} ({exc.strerror})"
                ) from exc
            engine = create_async_engine(
                url,
                async_creator=_inline_creator(database),
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
                hide_parameters=True,
            )
        else:
            engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        connect_args={"timeout": 10, "command_timeout": 30},
        # Statements' parameters (identity numbers, addresses) never reach exceptions/logs.
        hide_parameters=True,
    )


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _check_writable(url: str) -> None:
    if not is_sqlite(url):
        return
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the folder {path.parent}: {exc.strerror}") from exc
    probe = path if path.exists() else path.parent
    if not os.access(probe, os.W_OK):
        raise DatabaseError(f"the database {probe} is read-only; check its permissions")


class DatabaseInUse(DatabaseError):
    """Another `videotramit run` already serves this SQLite database."""


def lock_sqlite(url: str) -> IO[str] | None:
    """Hold `<database>.lock` for as long as the returned file stays open: one service per
    SQLite file (two would queue for its single write lock and stall each other).
    None for PostgreSQL and in-memory SQLite, where several instances are fine."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(f"{database}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - kept open while running
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise DatabaseInUse(
            f"database.url: {database} is already in use by another `videotramit run`"
            f" (pid {holder}); stop it first, or give this one its own database"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


async def upgrade(engine: AsyncEngine, url: str) -> tuple[str | None, str | None]:
    """Apply every pending Alembic migration (idempotent); returns the database's
    revision before and after (None: an empty database)."""
    _check_writable(url)
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = _alembic_config(url)
    revisions: list[str | None] = []

    def run(connection: Any) -> None:
        revisions.append(MigrationContext.configure(connection).get_current_revision())
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        revisions.append(MigrationContext.configure(connection).get_current_revision())

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    except OSError as exc:
        raise DatabaseError(f"cannot reach the database: {exc}") from exc
    except Exception as exc:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            raise DatabaseError(
                f"the database cannot be written: {exc.__class__.__name__}"
            ) from exc
        raise
    return revisions[0], revisions[-1]


async def wait_for(engine: AsyncEngine, attempts: int = 1) -> None:
    """Fail fast when the database is unreachable (used at start)."""
    from sqlalchemy import text

    for attempt in range(attempts):
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if attempt + 1 == attempts:
                raise DatabaseError(f"cannot reach the database: {exc.__class__.__name__}") from exc
            await asyncio.sleep(min(2**attempt, 10))
