"""Retention: what `videotramit purge` removes.

Conversation state idle for 30 days, delivered or failed outbox messages older than
7 days (GOV.UK Notify keeps message content 7 days), files a citizen sent unasked but
never said which appointment they were for after 7 days, the record of which platform
updates were handled after 2 days, and encrypted files nothing
refers to any more (a turn that failed after its file was stored) once they are a day
old. Appointments and evidence are part of the administrative file and follow archival
rules: they are never purged here, nor any file a document, a receipt, an evidence record
or a message names.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage.blobs import EncryptedFileBlobStore
from storage.models import (
    ConversationRow,
    DocumentRow,
    EvidenceRow,
    HandledUpdateRow,
    OutboxRow,
    ReceiptRow,
)

CONVERSATION_IDLE = timedelta(days=30)
OUTBOX_KEEP = timedelta(days=7)
UNSORTED_KEEP = timedelta(days=7)
# Platforms deliver an update again within a day (Telegram keeps them 24 hours).
HANDLED_KEEP = timedelta(days=2)
# A file younger than this may belong to a turn still running (stored, row not yet
# committed): never collected.
UNREFERENCED_GRACE = timedelta(days=1)
_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


async def _referenced(session: Any) -> set[str]:
    """Every file address a row names (documents, receipts; and, conservatively, any
    SHA-256 in evidence data or a queued message)."""
    found: set[str] = set()
    for column in (DocumentRow.sha256, ReceiptRow.sha256):
        found |= set((await session.execute(select(column))).scalars())
    for data in (EvidenceRow.data, OutboxRow.payload):
        for value in (await session.execute(select(data))).scalars():
            found |= set(_SHA256.findall(json.dumps(value)))
    return found


def _unreferenced(blobs: EncryptedFileBlobStore, keep: set[str], before: datetime) -> list[str]:
    old = []
    for address in blobs.addresses():
        if address in keep:
            continue
        changed = datetime.fromtimestamp(blobs.path_for(address).stat().st_mtime, UTC)
        if changed < before:
            old.append(address)
    return old


async def purge(
    sessions: async_sessionmaker[Any],
    now: datetime,
    *,
    dry_run: bool,
    blobs: EncryptedFileBlobStore | None = None,
) -> dict[str, int]:
    idle = ConversationRow.updated_at < now - CONVERSATION_IDLE
    old_messages = (OutboxRow.created_at < now - OUTBOX_KEEP) & or_(
        OutboxRow.delivered_at.is_not(None), OutboxRow.failed_at.is_not(None)
    )
    unsorted = DocumentRow.appointment_id.is_(None) & (DocumentRow.created_at < now - UNSORTED_KEEP)
    handled = HandledUpdateRow.handled_at < now - HANDLED_KEEP
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
            "handled updates": (
                await session.execute(select(func.count()).where(handled))
            ).scalar_one(),
        }
        if not dry_run:
            await session.execute(delete(ConversationRow).where(idle))
            await session.execute(delete(OutboxRow).where(old_messages))
            await session.execute(delete(DocumentRow).where(unsorted))
            await session.execute(delete(HandledUpdateRow).where(handled))
    if blobs is not None:
        async with sessions() as session:
            keep = await _referenced(session)
        orphans = await asyncio.to_thread(_unreferenced, blobs, keep, now - UNREFERENCED_GRACE)
        report["unreferenced files"] = len(orphans)
        if not dry_run:
            for address in orphans:
                await blobs.delete(address)
    return report
