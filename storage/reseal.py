"""The database's sealed values under the master keys: which key seals how many, and
sealing again under the current key those an older one sealed (key rotation, the
database's half of what ``EncryptedFileBlobStore.rewrap`` does for the files).

A value is read as its stored text (``vt1:<key id>:…``), opened with the keyring's key
of that id and sealed anew under the current one. Each row is written back only if its
text is still the one read: a row the service rewrote meanwhile was sealed under the
current key already."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Column, ColumnElement, Table, Text, and_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Base
from storage.sealed import PREFIX, SealedJSON, Sealer, sealing_key

BATCH = 500
PLAINTEXT = "(not sealed)"  # rows written before sealing (migration 0005h) or by a tool


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    column: Column[object]

    @property
    def where(self) -> str:
        assert isinstance(self.column.type, SealedJSON)
        return self.column.type.where

    @property
    def key(self) -> Column[object]:
        """The row's primary key (one column: the look-ups and the batches go by it)."""
        keys = list(self.table.primary_key.columns)
        if len(keys) != 1:
            raise ValueError(f"{self.table.name}: resealing needs a one-column primary key")
        return keys[0]

    def raw(self) -> ColumnElement[str]:
        """The stored text, not the opened value."""
        return type_coerce(self.column, Text)


def sealed_columns() -> list[SealedColumn]:
    return [
        SealedColumn(table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedJSON)
    ]


async def sealed_key_usage(engine: AsyncEngine) -> Counter[str]:
    """How many stored values each master key id seals, over every sealed column."""
    usage: Counter[str] = Counter()
    async with engine.connect() as connection:
        for sealed in sealed_columns():
            raw = sealed.raw()
            query = select(raw).where(sealed.column.is_not(None))
            for (text,) in await connection.execute(query):
                usage[sealing_key(str(text)) or PLAINTEXT] += 1
    return usage


async def newest_sealing_keys(engine: AsyncEngine) -> set[str]:
    """The key ids sealing the newest value of each sealed column: what the keyring must
    hold for the service to read what it wrote last (a cheap look at start)."""
    found: set[str] = set()
    async with engine.connect() as connection:
        for sealed in sealed_columns():
            query = (
                select(sealed.raw())
                .where(sealed.column.is_not(None))
                .order_by(sealed.key.desc())
                .limit(1)
            )
            text = (await connection.execute(query)).scalar_one_or_none()
            key_id = None if text is None else sealing_key(text)
            if key_id is not None:
                found.add(key_id)
    return found


async def reseal(engine: AsyncEngine, sealer: Sealer, current_key: str) -> int:
    """Seal under ``current_key`` every value an older key sealed; returns how many."""
    done = 0
    for sealed in sealed_columns():
        done += await _reseal_column(engine, sealer, sealed, current_key)
    return done


async def _reseal_column(
    engine: AsyncEngine, sealer: Sealer, sealed: SealedColumn, current_key: str
) -> int:
    key, raw = sealed.key, sealed.raw()
    older = and_(raw.like(f"{PREFIX}%"), ~raw.like(f"{PREFIX}{current_key}:%"))
    done, after = 0, None
    while True:
        query = select(key, raw).where(older).order_by(key).limit(BATCH)
        if after is not None:
            query = query.where(key > after)
        async with engine.begin() as connection:
            rows = (await connection.execute(query)).all()
            for row_id, text in rows:
                fresh = sealer.seal(sealer.open(text, sealed.where), sealed.where)
                result = await connection.execute(
                    update(sealed.table)
                    .where(key == row_id, raw == text)
                    .values({sealed.column.name: type_coerce(fresh, Text)})
                )
                done += int(result.rowcount or 0)
        if len(rows) < BATCH:
            return done
        after = rows[-1][0]
