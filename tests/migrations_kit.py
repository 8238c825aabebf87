"""Moving a test database to a given migration, on whichever backend the test runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import _alembic_config, create_engine
from storage.models import StaffRow, UserRow


async def migrate(engine: AsyncEngine, url: str, direction: str, revision: str) -> None:
    config = _alembic_config(url)

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


@pytest.fixture
async def engine(backend: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(backend)
    yield made
    await made.dispose()


async def add_clerk_and_citizen(connection: AsyncConnection, at: datetime) -> None:
    """Clerk "anna" and citizen 1, as every schema since the first has them."""
    await connection.execute(
        insert(StaffRow.__table__), [{"id": "anna", "name": "Anna", "active": True}]
    )
    await connection.execute(
        insert(UserRow.__table__),
        [{"id": 1, "channel": "memory", "external_id": "u1", "address": "u1",
          "display_name": "", "language": "ca", "email": "", "unreachable": False,
          "created_at": at}],
    )  # fmt: skip


async def appointments_columns_and_indexes(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    def read(connection: Any) -> tuple[set[str], set[str]]:
        found = inspect(connection)
        columns = {column["name"] for column in found.get_columns("appointments")}
        indexes = {str(index["name"]) for index in found.get_indexes("appointments")}
        return columns, indexes

    async with engine.connect() as connection:
        return await connection.run_sync(read)
