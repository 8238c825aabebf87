"""Booking confirmation by email through a real SMTP server (aiosmtpd), with the .ics."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from bot.app import App
from storage.models import OutboxRow
from tests.dialog import run_dialog
from tests.support import MADRID, Clock, office_settings, person, ready_app


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def _app(tmp_path: Path, port: int, clock: Clock) -> App:
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        email={"enabled": True, "host": "127.0.0.1", "port": port, "sender": "oac@vila.test"},
    )
    app, _ = await ready_app(settings, clock)
    return app


async def _book_with_email(app: App, address: str) -> None:
    citizen = person(app, "neus", name="Neus", language="ca")
    await run_dialog(
        citizen,
        [
            ("/start", []),
            ("[Català]", []),
            ("[D'acord]", []),
            ("[Demanar cita]", []),
            ("[Certificat de convivència]", []),
            ("[dl. 30 de nov.]", []),
            ("[10:00]", []),
            (address, ["Ho confirmes?"]),
            ("[Confirmar]", [f"També rebràs la confirmació a {address}"]),
        ],
    )


@pytest.mark.any_hour
async def test_confirmation_email_with_calendar_file(
    tmp_path: Path, clock: Clock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    app = await _app(tmp_path, port, clock)
    try:
        await _book_with_email(app, "neus@example.cat")
        await app.dispatcher.drain()
    finally:
        await app.close()
    [message] = inbox.messages
    assert message["To"] == "neus@example.cat"
    assert str(message["Subject"]).strip().startswith("La teva cita per videotrucada VT-")
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "dilluns 30 de novembre a les 10:00" in text and "Certificat de convivència" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    [event] = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == clock.now() + timedelta(hours=2)  # 10:00 Madrid = 9:00 UTC


@pytest.mark.any_hour
async def test_a_refused_address_is_not_retried_forever(
    tmp_path: Path, clock: Clock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    inbox.refuse.add("nobody@example.cat")
    app = await _app(tmp_path, port, clock)
    try:
        await _book_with_email(app, "nobody@example.cat")
        await app.dispatcher.drain()
        async with app.sessions() as session:
            query = select(OutboxRow).where(OutboxRow.kind == "confirmation_email")
            [row] = (await session.execute(query)).scalars().all()
        assert row.failed_at is not None and row.delivered_at is None  # given up at once
    finally:
        await app.close()
    assert inbox.messages == []


async def test_without_email_configured_the_bot_does_not_ask_for_it(app: App) -> None:
    citizen = person(app, "pau", language="ca")
    await run_dialog(
        citizen,
        [
            ("/start", []),
            ("[Català]", []),
            ("[D'acord]", []),
            ("[Demanar cita]", []),
            ("[Volant]", []),
            ("[dl. 30 de nov.]", []),
            ("[10:00]", ["Ho confirmes?", "!correu"]),
            ("[Confirmar]", ["Fet!", "!correu"]),
        ],
    )


async def test_the_email_question_when_email_is_on(
    tmp_path: Path, clock: Clock, smtp: tuple[Inbox, int]
) -> None:
    _, port = smtp
    app = await _app(tmp_path, port, clock)
    try:
        await run_dialog(
            person(app, "rita", language="ca"),
            [
                ("/start", []),
                ("[Català]", []),
                ("[D'acord]", []),
                ("[Demanar cita]", []),
                ("[Volant]", []),
                ("[dl. 30 de nov.]", []),
                ("[10:00]", ["confirmació per correu", "No cal"]),
                ("no és un correu", ["no sembla una adreça de correu"]),
                ("a" * 300 + "@example.org", ["no sembla una adreça de correu"]),
                ("no", ["Ho confirmes?"]),  # a plain "no" means "no need"
                ("[Confirmar]", ["Fet!", "!També rebràs"]),
            ],
        )
    finally:
        await app.close()


def _calendar(message: EmailMessage) -> tuple[Calendar, Any]:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_content())
    [event] = calendar.walk("VEVENT")
    return calendar, event


async def test_reminder_move_and_cancel_by_email_keep_one_calendar_event(
    tmp_path: Path, clock: Clock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    app = await _app(tmp_path, port, clock)
    neus = person(app, "neus", name="Neus", language="ca")
    try:
        await run_dialog(
            neus,
            [
                ("/start", []),
                ("[Català]", []),
                ("[D'acord]", []),
                ("[Demanar cita]", []),
                ("[Certificat de convivència]", []),
                ("[dt. 1 de des.]", []),
                ("[10:00]", []),
                ("neus@example.cat", ["Ho confirmes?"]),
                ("[Confirmar]", ["També rebràs la confirmació"]),
            ],
        )
        await app.dispatcher.drain()
        clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=MADRID))  # 24 h before
        await app.dispatcher.drain()
        await run_dialog(
            neus,
            [
                ("/my", []),
                ("#1", []),
                ("[Canviar el dia]", []),
                ("[dc. 2 de des.]", []),
                ("[11:00]", []),
                ("[Confirmar]", ["dimecres 2 de desembre a les 11:00"]),
            ],
        )
        await app.dispatcher.drain()
        await run_dialog(
            neus,
            [
                ("/my", []),
                ("#1", []),
                ("[Anul·lar la cita]", []),
                ("[Sí, anul·la-la]", ["anul·lada"]),
            ],
        )
        await app.dispatcher.drain()
    finally:
        await app.close()
    confirmation, reminder, moved, cancelled = inbox.messages
    assert str(reminder["Subject"]).startswith("Recordatori de la cita VT-")
    text = reminder.get_body(("plain",))
    html = reminder.get_body(("html",))
    assert text is not None and html is not None
    assert "dimarts 1 de desembre a les 10:00" in text.get_content()
    assert 'lang="ca"' in html.get_content() and "dimarts 1 de desembre" in html.get_content()
    events = [_calendar(m) for m in (confirmation, reminder, moved, cancelled)]
    uids = {str(event["uid"]) for _, event in events}
    assert len(uids) == 1  # one event, updated in place
    assert [int(event["sequence"]) for _, event in events] == [0, 0, 1, 2]
    assert [str(calendar["method"]) for calendar, _ in events] == [
        "PUBLISH", "PUBLISH", "PUBLISH", "CANCEL"
    ]  # fmt: skip
    assert events[1][1].decoded("dtstart") == datetime(2026, 12, 1, 10, 0, tzinfo=MADRID)
    assert events[2][1].decoded("dtstart") == datetime(2026, 12, 2, 11, 0, tzinfo=MADRID)
    assert str(events[3][1]["status"]) == "CANCELLED"
    assert "anul·lada" in str(cancelled["Subject"])
