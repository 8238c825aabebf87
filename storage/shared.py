"""State every instance must see alike, kept in tables rather than in one process's memory.

* ``LinkBindingStore``: which browser (cookie) each opened ``/files`` link belongs to.
* ``ChannelState``: for one chat channel, which message shows each chat's panel (to redraw
  it in place) and when a notice was last given in a chat (the group-notice throttle).
  Channels reach it only through the ``SharedMemory`` port of bot/channels/kit.py.
* ``JibriStatusStore``: the latest ``/v1/status`` of each Jibri, for ``/metrics``.
* ``InstanceRegistry``: a heartbeat row per running instance; how many are alive.

Each call is one short transaction of its own, never inside a conversation's turn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import (
    ChannelNoticeRow,
    ChannelPanelRow,
    InstanceRow,
    JibriStatusRow,
    LinkBindingRow,
)

MAX_JIBRIS = 256  # distinct Jibri ids kept for /metrics


def dialect_insert(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT (both have ON CONFLICT)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


class LinkBindingStore:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def bind(self, slot: str, cookie: str, expires: datetime, now: datetime) -> str:
        """Bind the link to ``cookie`` unless it is bound already; returns the cookie it
        is bound to. Two first opens at once, on any instances: one of them wins."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(LinkBindingRow).where(LinkBindingRow.expires_at <= now))
            insert = dialect_insert(session)
            await session.execute(
                insert(LinkBindingRow)
                .values(slot=slot, cookie=cookie, expires_at=expires)
                .on_conflict_do_nothing(index_elements=[LinkBindingRow.slot])
            )
            query = select(LinkBindingRow.cookie).where(LinkBindingRow.slot == slot)
            return str((await session.execute(query)).scalar_one())

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(
                (await session.execute(select(func.count(LinkBindingRow.slot)))).scalar_one()
            )


class ChannelState:
    """One channel's panels and notices (implements bot.channels.kit.SharedMemory)."""

    def __init__(
        self, sessions: async_sessionmaker[Any], channel: str, now: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._channel = channel
        self._now = now

    async def panel(self, chat: str, panel: str) -> str | None:
        async with self._sessions() as session:
            query = select(ChannelPanelRow.message).where(
                ChannelPanelRow.channel == self._channel,
                ChannelPanelRow.chat == chat,
                ChannelPanelRow.panel == panel,
            )
            return (await session.execute(query)).scalar_one_or_none()

    async def holds_panel(self, chat: str, message: str) -> bool:
        async with self._sessions() as session:
            query = select(ChannelPanelRow.panel).where(
                ChannelPanelRow.channel == self._channel,
                ChannelPanelRow.chat == chat,
                ChannelPanelRow.message == message,
            )
            return (await session.execute(query.limit(1))).first() is not None

    async def remember_panel(self, chat: str, panel: str, message: str) -> None:
        async with self._sessions() as session, session.begin():
            insert = dialect_insert(session)
            statement = insert(ChannelPanelRow).values(
                channel=self._channel, chat=chat, panel=panel, message=message, at=self._now()
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        ChannelPanelRow.channel,
                        ChannelPanelRow.chat,
                        ChannelPanelRow.panel,
                    ],
                    set_={"message": statement.excluded.message, "at": statement.excluded.at},
                )
            )

    async def forget_panel(self, chat: str, panel: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ChannelPanelRow).where(
                    ChannelPanelRow.channel == self._channel,
                    ChannelPanelRow.chat == chat,
                    ChannelPanelRow.panel == panel,
                )
            )

    async def notice_due(self, key: str, every: float) -> bool:
        """True at most once every ``every`` seconds per key, on all instances together:
        the row is written only when it is new or older than that, in one statement."""
        now = self._now()
        async with self._sessions() as session, session.begin():
            insert = dialect_insert(session)
            statement = insert(ChannelNoticeRow).values(channel=self._channel, key=key, told_at=now)
            result = await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ChannelNoticeRow.channel, ChannelNoticeRow.key],
                    set_={"told_at": statement.excluded.told_at},
                    where=ChannelNoticeRow.told_at <= now - timedelta(seconds=every),
                )
            )
            return bool(getattr(result, "rowcount", 0))


class JibriStatusStore:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def update(self, jibri_id: str, busy: str, health: str, at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            insert = dialect_insert(session)
            statement = insert(JibriStatusRow).values(
                jibri_id=jibri_id, busy_status=busy, health_status=health, at=at
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[JibriStatusRow.jibri_id],
                    set_={
                        "busy_status": statement.excluded.busy_status,
                        "health_status": statement.excluded.health_status,
                        "at": statement.excluded.at,
                    },
                )
            )
            # Bounded: the Jibris heard from longest ago go first.
            stale = (
                select(JibriStatusRow.jibri_id)
                .order_by(JibriStatusRow.at.desc())
                .offset(MAX_JIBRIS)
            )
            await session.execute(delete(JibriStatusRow).where(JibriStatusRow.jibri_id.in_(stale)))

    async def latest(self) -> list[tuple[str, str, str, datetime]]:
        async with self._sessions() as session:
            rows = await session.execute(select(JibriStatusRow).order_by(JibriStatusRow.jibri_id))
            return [(r.jibri_id, r.busy_status, r.health_status, r.at) for r in rows.scalars()]


class InstanceRegistry:
    """Running instances beat every few seconds; one unheard of for ``alive`` is gone."""

    def __init__(self, sessions: async_sessionmaker[Any], alive: timedelta) -> None:
        self._sessions = sessions
        self.alive = alive

    async def beat(self, instance: str, now: datetime) -> int:
        """Record that ``instance`` runs; returns how many instances are alive (>= 1)."""
        async with self._sessions() as session, session.begin():
            insert = dialect_insert(session)
            statement = insert(InstanceRow).values(id=instance, started_at=now, seen_at=now)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[InstanceRow.id], set_={"seen_at": statement.excluded.seen_at}
                )
            )
            cutoff = now - self.alive
            # Long gone instances are forgotten; the recently gone just are not counted.
            await session.execute(
                delete(InstanceRow).where(InstanceRow.seen_at <= now - 10 * self.alive)
            )
            query = select(func.count(InstanceRow.id)).where(InstanceRow.seen_at > cutoff)
            return max(1, int((await session.execute(query)).scalar_one()))

    async def leave(self, instance: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(InstanceRow).where(InstanceRow.id == instance))
