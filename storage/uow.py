"""Unit of work: one transaction per conversation turn or job, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.schedule import StaffMember
from handlers.ports import Clock
from storage.effects import SqlEffects
from storage.locks import advisory_key
from storage.models import ConversationRow
from storage.repositories import (
    SqlAppointments,
    SqlConversations,
    SqlDocuments,
    SqlEvidence,
    SqlOutbox,
    SqlReceipts,
    SqlUsers,
)
from storage.repositories.notices import SqlNotices
from storage.repositories.stats import SqlStats
from storage.repositories.turns import SqlHandledUpdates
from storage.repositories.waitlist import SqlWaitlist


class SqlUnitOfWork:
    session: AsyncSession

    def __init__(
        self,
        factory: async_sessionmaker[Any],
        staff_by_account: dict[tuple[str, str], StaffMember],
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._factory = factory
        self._staff = staff_by_account
        self._clock = clock
        self._on_commit = on_commit

    async def __aenter__(self) -> Self:
        self.session = self._factory()
        conversations: dict[int, ConversationRow | None] = {}
        self.users = SqlUsers(self.session, self._staff, conversations, self._clock)
        self.conversations = SqlConversations(self.session, conversations, self._clock)
        self.appointments = SqlAppointments(self.session)
        self.outbox = SqlOutbox(self.session, self._clock)
        self.evidence = SqlEvidence(self.session)
        self.documents = SqlDocuments(self.session)
        self.receipts = SqlReceipts(self.session)
        self.notices = SqlNotices(self.session)
        self.stats = SqlStats(self.session)
        self.waitlist = SqlWaitlist(self.session)
        self.effects = SqlEffects(self.session, self._clock)
        self.handled = SqlHandledUpdates(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def hold_turn(self, channel: str, external_id: str) -> None:
        """PostgreSQL: a transaction-scoped advisory lock keyed on the person, released at
        commit or rollback, so two instances never run two turns of one person at once.
        SQLite: every unit of work already holds the single write lock (BEGIN IMMEDIATE)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": advisory_key("turn", channel, external_id)},
        )

    async def commit(self) -> None:
        await self.session.commit()
        if self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        await self.session.rollback()


def uow_factory(
    factory: async_sessionmaker[Any],
    staff_by_account: dict[tuple[str, str], StaffMember],
    clock: Clock,
    on_commit: Callable[[], None] | None = None,
) -> Callable[[], SqlUnitOfWork]:
    """Units of work that stamp rows (created, updated, due) with ``clock``, the app's one
    clock, so a row is due exactly when the dispatcher's clock says so."""
    return lambda: SqlUnitOfWork(factory, staff_by_account, clock, on_commit)
