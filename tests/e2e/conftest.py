"""The bot on its chat channels (Telegram, Matrix) runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _fresh_postgres

# What builds a channel test's app: a test naming one of these runs once per backend.
BOT_BUILDERS = frozenset({"running_bot", "matrix_settings"})

_BOT_DATABASE: dict[str, str] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that runs the bot on a channel runs it on SQLite and on PostgreSQL. The
    `any_hour` runs, which move the machine's clock and not the storage, stay on SQLite."""
    if not BOT_BUILDERS & set(metafunc.function.__code__.co_names):
        return
    backends = ["sqlite"]
    if metafunc.definition.get_closest_marker("any_hour") is None:
        backends.append("postgresql")
    metafunc.fixturenames.append("bot_database")
    metafunc.parametrize("bot_database", backends, indirect=True)


@pytest.fixture
def bot_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database the channel test's app is built on (`bot_database_url`)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}"
        _BOT_DATABASE["url"] = url
        yield url
    else:
        template: str = request.getfixturevalue("postgres_template")
        for url in _fresh_postgres(template):
            _BOT_DATABASE["url"] = url
            yield url
    _BOT_DATABASE.clear()


def bot_database_url(folder: Path) -> str:
    """This test's database (SQLite or PostgreSQL), or a SQLite file in `folder` for a
    test run outside the parametrisation (a benchmark)."""
    return _BOT_DATABASE.get("url", f"sqlite+aiosqlite:///{folder / 'vt.db'}")
