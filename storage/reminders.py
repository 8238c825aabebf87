"""The scheduler's reminder planning as INSERT ... SELECT: the database makes the rows.

After a restart every booked appointment ahead needs its reminders (a hundred thousand
of them in the issue's figure); made in Python, each row was built, bound, sealed and sent
to the database one by one. Here one statement per offset (and one for the first
reminder's email) reads the appointments and their citizens and writes the outbox rows,
and rows whose dedupe key is queued already are skipped before they are inserted, so a
pass that adds nothing takes no id from PostgreSQL's sequence either.

The rows are exactly those handlers.notify.plan_reminders queues at booking (the same
dedupe keys, due times and payloads; tests/integration/test_reminder_planning.py compares
them), so whichever path comes first, the other adds nothing.

Their payload is written by the database, so it is not sealed: it holds the kind, the
appointment's id and start and whether it is the full reminder, nothing about the person
(whom it goes to is in the row's own columns, as for every message). Every other payload
is sealed as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import AppointmentRow, OutboxRow, UserRow, UTCDateTime

_A: Any = AppointmentRow.__table__
_U: Any = UserRow.__table__
_O: Any = OutboxRow.__table__
_COLUMNS = (
    "channel",
    "address",
    "user_id",
    "payload",
    "dedupe_key",
    "kind",
    "appointment_id",
    "next_attempt_at",
    "created_at",
    "attempts",
    "last_error",
)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _concat(*parts: ColumnElement[Any]) -> ColumnElement[str]:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    return joined


class _Times:
    """A start instant as Python's isoformat() writes it (``2026-12-01T09:00:00+00:00``,
    with ``.ffffff`` only when there are microseconds: the dedupe key must be the one the
    booking wrote) and the instant a whole number of seconds before it, in what the
    backend stores."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def iso(self, start: ColumnElement[Any]) -> ColumnElement[str]:
        if self.dialect == "sqlite":
            # SQLAlchemy keeps SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC here).
            text: Any = start
            fraction = case(
                (func.substr(text, 21, 6) == "000000", _text("")),
                else_=func.substr(text, 20, 7),
            )
            return _concat(
                func.substr(text, 1, 10),
                _text("T"),
                func.substr(text, 12, 8),
                fraction,
                _text("+00:00"),
            )
        utc = func.timezone("UTC", start)
        micro = func.to_char(utc, "US")
        fraction = case((micro == "000000", _text("")), else_=_concat(_text("."), micro))
        return _concat(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS'), fraction, _text("+00:00"))

    def before(self, start: ColumnElement[Any], seconds: int) -> ColumnElement[Any]:
        if self.dialect == "sqlite":
            text: Any = start
            whole = func.strftime("%Y-%m-%d %H:%M:%S", text, f"-{seconds} seconds")
            return _concat(whole, func.substr(text, 20))  # the same fraction of a second
        return start - literal_column(f"INTERVAL '{seconds} seconds'")


def _json_flag(condition: ColumnElement[bool] | None) -> ColumnElement[str]:
    if condition is None:
        return _text("true")
    return case((condition, _text("true")), else_=_text("false"))


def reminder_inserts(
    dialect: str,
    now: datetime,
    until: datetime,
    offsets: Sequence[timedelta],
    *,
    email: bool,
) -> list[Insert]:
    """The statements that queue every missing reminder of the booked appointments
    starting in (now, until]: for each offset whose moment is still ahead, one on the
    citizen's chat; for the first such (the full one), one by email too when `email`
    (the office sends email) and the appointment has an address."""
    times = _Times(dialect)
    start = _A.c.start
    iso = times.iso(start)
    ident = cast(_A.c.id, String())
    statements = []
    for position, offset in enumerate(offsets):
        seconds = int(offset.total_seconds())
        # Planned as at booking: not for a moment already past; the first one still ahead
        # is the full one (a booking made the day before gets a full 1 h reminder).
        ahead = start > literal(now + offset, UTCDateTime())
        earlier = offsets[:position]
        full = start <= literal(now + min(earlier), UTCDateTime()) if earlier else None
        key = _concat(_text("rem:"), ident, _text(":"), iso, _text(f":{seconds // 60}"))
        due = times.before(start, seconds)
        chat_payload = _concat(
            _text('{"kind":"reminder","params":{"start":"'),
            iso,
            _text('","full":'),
            _json_flag(full),
            _text('},"appointment_id":'),
            ident,
            _text("}"),
        )
        chat = (_U.c.channel, _U.c.address, chat_payload, key, "reminder")
        statements.append(_insert(dialect, now, until, ahead, chat, due))
        if email:
            mail_key = _concat(key, _text(":email"))
            mail_payload = _concat(
                _text('{"kind":"reminder_email","params":{"start":"'),
                iso,
                _text('"},"appointment_id":'),
                ident,
                _text("}"),
            )
            wanted = and_(ahead, full if full is not None else true(), _A.c.email != "")
            mail = (_text("email"), _A.c.email, mail_payload, mail_key, "reminder_email")
            statements.append(_insert(dialect, now, until, wanted, mail, due))
    return statements


def _insert(
    dialect: str,
    now: datetime,
    until: datetime,
    wanted: ColumnElement[bool],
    row: tuple[Any, Any, ColumnElement[str], ColumnElement[str], str],
    due: ColumnElement[Any],
) -> Insert:
    channel, address, payload, key, kind = row
    queued = exists().where(_O.c.dedupe_key == key)
    source = (
        select(
            channel,
            address,
            _U.c.id,
            payload,
            key,
            _text(kind),
            _A.c.id,
            due,
            literal(now, UTCDateTime()),
            literal(0),
            _text(""),
        )
        .select_from(_A.join(_U, _U.c.id == _A.c.citizen_id))
        .where(
            _A.c.status == "booked",
            _A.c.start > literal(now, UTCDateTime()),
            _A.c.start <= literal(until, UTCDateTime()),
            wanted,
            ~queued,
        )
    )
    module: Any = sqlite if dialect == "sqlite" else postgresql
    # The dedupe key stays the guard against a booking committed meanwhile.
    return (
        module.insert(_O)
        .from_select(list(_COLUMNS), source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
