"""Which instance leads the scheduled work (retention purge; reminders when they exist).

* PostgreSQL: a **session-level advisory lock** (``pg_try_advisory_lock``) held on a
  dedicated connection, outside the pool. Whoever holds it leads; ``held()`` checks that
  connection (a round trip: the heartbeat) and, when it is not leading, tries to take the
  lock. A leader that dies loses its connection and with it the lock: at once when the
  process dies (its socket closes), within about 25 s when its host is cut off (TCP
  keepalives set on the connection), so another instance takes over at its next check.
* SQLite: one instance, always the leader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from storage.db import is_sqlite
from storage.locks import advisory_key

log = logging.getLogger("videotramit.leader")

LEADER_KEY = advisory_key("videotramit", "leader")
# Server-side keepalives: a silent peer is dropped after idle + interval * count seconds.
_KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


class Leader(Protocol):
    async def held(self) -> bool:
        """Whether this instance leads now (trying to become the leader if nobody is)."""
        ...

    async def close(self) -> None: ...


class AlwaysLeader:
    """SQLite: the one instance leads."""

    async def held(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class PostgresLeader:
    """The dedicated connection stays open whether leading or not, so asking often (every
    scheduler tick) costs one round trip, never a new connection."""

    def __init__(self, database_url: str, *, key: int = LEADER_KEY, timeout: float = 10) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._key = key
        self._timeout = timeout
        self._connection: Any = None  # asyncpg.Connection
        self._leading = False
        # The scheduler and the evidence round both ask: one question at a time on the one
        # connection (asyncpg refuses a second operation in progress, which read as lost).
        self._asking = asyncio.Lock()

    async def held(self) -> bool:
        async with self._asking:
            return await self._ask()

    async def _ask(self) -> bool:
        import asyncpg

        failures = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
        try:
            if self._connection is None:
                self._connection = await asyncpg.connect(
                    self._dsn, timeout=self._timeout, server_settings=_KEEPALIVES
                )
            if self._leading:
                await self._connection.fetchval("SELECT 1", timeout=self._timeout)
                return True
            won = await self._connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._key, timeout=self._timeout
            )
        except failures as exc:
            if self._leading:
                log.warning("lost the leadership: its database connection is gone")
            else:
                log.warning("cannot reach the database to lead", extra={"error": repr(exc)})
            self._drop()
            return False
        if won:
            self._leading = True
            log.info("this instance now leads the scheduled work")
        return bool(won)

    def _drop(self) -> None:
        connection, self._connection, self._leading = self._connection, None, False
        if connection is not None:
            connection.terminate()

    async def close(self) -> None:
        """Give the leadership up (closing the connection releases the lock)."""
        connection, self._connection, self._leading = self._connection, None, False
        if connection is not None:
            try:
                await connection.close(timeout=self._timeout)
            except Exception:
                connection.terminate()


def build_leader(database_url: str) -> Leader:
    return AlwaysLeader() if is_sqlite(database_url) else PostgresLeader(database_url)
