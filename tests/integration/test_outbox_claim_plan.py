"""The claim on PostgreSQL with statistics older than the backlog: a table analyzed while
nothing was pending, then a backlog queued (Telegram was down for a while; autovacuum's
next analyze is far off). Before, the planner took the pending set for one row and checked
each candidate against every pending row (300 pending: 141,215 rows visited); the claim
now reads the pending rows in the order they fall due, looks up each one's chat in its
pending index, and stops at its limit. Counted in the rows the executor visited (EXPLAIN
ANALYZE of the claim's own statement), not in time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.app import App
from tests.support import Clock, office_settings, ready_app

DELIVERED = 5000
BACKLOG = 1000
LIMIT = 60
TWICE = 50  # chats of the backlog with a second message, behind their first


@pytest.fixture
async def pg_app(postgres_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    app, _ = await ready_app(office_settings(postgres_url, tmp_path), clock)
    yield app
    await app.close()


async def _analyzed_with_nothing_pending(app: App) -> None:
    async with app.db_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO outbox (channel, address, payload, created_at, next_attempt_at,"
                " attempts, last_error, kind, delivered_at)"
                " SELECT 'telegram', n::text, '', now(), now(), 1, '', '', now()"
                " FROM generate_series(1, :n) AS n"
            ),
            {"n": DELIVERED},
        )
    async with app.db_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE outbox"))


async def _queue_backlog(app: App) -> None:
    async with app.uow() as uow:
        chats = [*range(BACKLOG - TWICE), *range(TWICE)]  # the first TWICE chats twice
        for number, chat in enumerate(chats):
            await uow.outbox.enqueue(
                channel="telegram",
                address=f"chat{chat}",
                payload={"text": f"message {number}"},
                user_id=None,
            )
        await uow.commit()


def _visited(plan: dict[str, Any]) -> int:
    """Rows produced and rows thrown away by every node, over all its loops."""
    own = plan["Actual Rows"] * plan["Actual Loops"]
    own += plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Join Filter", 0)
    return int(own) + sum(_visited(child) for child in plan.get("Plans", []))


async def test_a_backlog_the_statistics_do_not_know_is_claimed_by_look_ups(
    pg_app: App,
) -> None:
    await _analyzed_with_nothing_pending(pg_app)
    await _queue_backlog(pg_app)
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "SKIP LOCKED" in statement:
            statements.append((statement, parameters))

    sync_engine = pg_app.db_engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        claimed = await pg_app.outbox.claim(["telegram"], pg_app.clock.now(), limit=LIMIT)
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
    # The oldest first, one per chat: the second messages wait behind their first.
    assert [m.payload["text"] for m in claimed] == [f"message {n}" for n in range(LIMIT)]
    claim_statement, parameters = statements[-1]

    async with pg_app.db_engine.connect() as connection:
        result = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {claim_statement}", parameters
        )
        plan = result.scalar_one()[0]["Plan"]
        await connection.rollback()
    # Each pending row is read a few times at most; comparing each with every other
    # pending row would be BACKLOG * BACKLOG.
    # The claim reads the first due rows and stops (the 60 already claimed, in flight, are
    # passed over): however long the backlog. Checking each pending row against every
    # other would be BACKLOG * BACKLOG; reading every due row, a few times BACKLOG.
    assert _visited(plan) < 10 * LIMIT, plan
