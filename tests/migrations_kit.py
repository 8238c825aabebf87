"""Moving a test database to a given migration, on whichever backend the test runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import _alembic_config, create_engine


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
