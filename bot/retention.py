"""Retention: what `videotramit purge` removes.

Conversation state idle for 30 days, delivered or failed outbox messages older than
7 days (GOV.UK Notify keeps message content 7 days), and files a citizen sent unasked
but never said which appointment they were for, after 7 days. Appointments and evidence are part
of the administrative file and follow archival rules: they are never purged here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage.models import ConversationRow, DocumentRow, OutboxRow

CONVERSATION_IDLE = timedelta(days=30)
OUTBOX_KEEP = timedelta(days=7)
UNSORTED_KEEP = timedelta(days=7)


async def purge(
    sessions: async_sessionmaker[Any], now: datetime, *, dry_run: bool
) -> dict[str, int]:
    idle = ConversationRow.updated_at < now - CONVERSATION_IDLE
    old_messages = (OutboxRow.created_at < now - OUTBOX_KEEP) & or_(
        OutboxRow.delivered_at.is_not(None), OutboxRow.failed_at.is_not(None)
    )
    unsorted = DocumentRow.appointment_id.is_(None) & (
        DocumentRow.created_at < now - UNSORTED_KEEP
    )
    async with sessions() as session, session.begin():
        report = {
            "idle conversations": (
                await session.execute(select(func.count()).where(idle))
            ).scalar_one(),
            "old outbox messages": (
                await session.execute(select(func.count()).where(old_messages))
            ).scalar_one(),
            "unsorted documents": (
                await session.execute(select(func.count()).where(unsorted))
            ).scalar_one(),
        }
        if not dry_run:
            await session.execute(delete(ConversationRow).where(idle))
            await session.execute(delete(OutboxRow).where(old_messages))
            await session.execute(delete(DocumentRow).where(unsorted))
    return report
