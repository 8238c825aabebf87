"""Logs never carry a personal number: a database failure in the middle of the clerk's
turn that types the citizen's NIE is logged with its traceback, and the log has neither
the NIE nor the statement's parameters (issue 10, part 4)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.app import App
from bot.logs import configure_logging, mask_ids
from handlers.i18n import translate
from tests.dialog import run_dialog
from tests.session_kit import book
from tests.support import Clock, person

NIE = "X1111111G"


FAILING_WRITES = {
    "sqlite": [
        "CREATE TRIGGER fail_writes BEFORE UPDATE ON appointments "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_writes() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk I/O error (injected)'; END $$",
        "CREATE TRIGGER fail_writes BEFORE UPDATE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION fail_writes()",
    ],
}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_a_database_failure_while_an_id_number_is_typed_logs_no_id_number(
    app: App, clock: Clock, log_lines: io.StringIO
) -> None:
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    clock.advance(minutes=50)
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(
        anna,
        [
            ("/today", []),
            ("[9:00]", []),
            ("[Open the session]", ["Session VT-"]),
            ("[Data]", ["passport number"]),
        ],
    )
    # The next write to the appointment fails inside the database, as a full disk would.
    async with app.db_engine.begin() as connection:
        for statement in FAILING_WRITES[app.db_engine.dialect.name]:
            await connection.execute(text(statement))

    await anna.say(NIE)

    assert anna.last[0].text == translate("en", "error.internal")
    logged = log_lines.getvalue()
    assert "turn failed" in logged and "Traceback" in logged  # the failure is there...
    assert "injected" in logged
    assert NIE not in logged and NIE.lower() not in logged.lower()  # ...the NIE is not
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("dni 12345678Z", "12345678"),
        ("nie Y1234567X here", "Y1234567"),
        ("passport PAA123456.", "PAA123"),
        ("iban ES91 2100 0418 4502 0005 1332", "2100 0418 4502"),
        ("iban ES9121000418450200051332", "21000418450200"),
        ("call 612 345 678", "612 345"),
        ("call +34612345678", "612345"),
        ("call +44 7911 123456", "7911 123"),
    ],
)
def test_masking_covers_id_numbers_passports_ibans_and_phones(line: str, secret: str) -> None:
    assert secret not in mask_ids(line)


def test_masking_leaves_times_and_references_alone() -> None:
    line = '{"timestamp": "2026-11-30T08:50:00.123456Z", "reference": "VT-2026-000042"}'
    assert mask_ids(line) == line
