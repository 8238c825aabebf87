"""The satisfaction survey: sent some minutes after a completed session, answered with
buttons or typed words, once per appointment, answerable later from the same message,
stored apart from the evidence chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel, MemoryPerson
from handlers.survey import read_score
from storage.models import EvidenceRow, SurveyRow
from tests.dialog import run_dialog
from tests.session_kit import full_session
from tests.support import Clock, person


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("9", 9),
        ("0", 0),
        (" 10/10 ", 10),
        ("8 / 10", 8),
        ("deu", 10),
        ("Nueve", 9),
        ("seven", 7),
        ("9,5", "survey.whole_number"),
        ("7.5", "survey.whole_number"),
        ("👍", "survey.score_help"),
        ("11", "survey.score_help"),
        ("-1", "survey.score_help"),
        ("molt bé", "survey.score_help"),
    ],
)
def test_typed_scores(typed: str, read: int | str) -> None:
    assert read_score(typed) == read


async def _survey_rows(app: App) -> list[SurveyRow]:
    async with app.sessions() as session:
        return list((await session.execute(select(SurveyRow))).scalars())


async def test_asked_after_the_delay_answered_by_typing_never_asked_again(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    appointment = await full_session(app, clock)
    channel.inbox["joan"].clear()
    clock.advance(minutes=9)
    await app.dispatcher.drain()
    assert not any("How would you rate" in r.text for r in channel.inbox["joan"])
    clock.advance(minutes=1)
    await app.dispatcher.drain()
    [survey] = [r for r in channel.inbox["joan"] if "How would you rate" in r.text]
    assert [c.label for c in survey.choices] == [str(n) for n in range(11)]
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(
        joan,
        [
            ("9,5", ["whole number from 0 to 10", "!use the video call service again"]),
            ("👍", ["I need a number from 0 to 10"]),
            ("10/10", ["Would you use the video call service again?"]),
            ("[Yes]", ["add a comment"]),
            ("Very kind <b>clerk</b>", ["Thank you for your opinion"]),
        ],
    )
    [row] = await _survey_rows(app)
    assert (row.appointment_id, row.score, row.again) == (appointment.id, 10, True)
    assert row.comment == "Very kind <b>clerk</b>" and row.channel == "memory"
    async with app.sessions() as session:
        kinds = {r.kind for r in (await session.execute(select(EvidenceRow))).scalars()}
    assert not any("survey" in kind for kind in kinds)  # opinions are not evidence
    # The same message's buttons later: already answered, nothing changes.
    await joan.press_token(survey.choices[3].token)
    assert "already answered" in joan.text
    [row] = await _survey_rows(app)
    assert row.score == 10
    clock.advance(days=3)
    channel.inbox["joan"].clear()
    await app.dispatcher.drain()
    assert channel.inbox["joan"] == []


async def test_answered_later_with_its_buttons_after_doing_something_else(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    await full_session(app, clock)
    clock.advance(minutes=10)
    await app.dispatcher.drain()
    [survey] = [r for r in channel.inbox["joan"] if "How would you rate" in r.text]
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, [("/book", ["Which procedure"]), ("/menu", ["What would you like"])])
    clock.advance(days=2)
    await joan.press_token(survey.choices[8].token)
    await run_dialog(
        joan,
        [
            ("[No]", ["add a comment"]),
            ("[No comment]", ["Thank you for your opinion"]),
        ],
    )
    [row] = await _survey_rows(app)
    assert (row.score, row.again, row.comment) == (8, False, "")


async def test_answered_on_two_channels_and_counted_together(tmp_path: Path, clock: Clock) -> None:
    """One citizen on the memory channel, one on a second chat channel: each answers
    their own survey with its buttons; the statistics count both answers."""
    from datetime import date, timedelta

    from bot.app import build_app
    from domain.appointments import Status
    from handlers import notify
    from handlers.admin import report_for
    from tests.support import MONDAY_8AM, book_directly, office_settings

    first, second = MemoryChannel(), MemoryChannel()
    second.name = "matrix"  # a second chat channel, by name (the code is the memory one)
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    app = build_app(settings, clock=clock, channels={"memory": first, "matrix": second})
    await app.prepare_database()
    try:
        people = []
        for number, (channel_name, name) in enumerate([("memory", "rosa"), ("matrix", "pau")]):
            async with app.uow() as uow:
                user = await uow.users.get_or_create(
                    channel_name, name, address=name, display_name=name, language="en"
                )
                start = MONDAY_8AM + timedelta(hours=2 + number)
                booked = await book_directly(
                    uow, citizen_id=user.id, start=start, reference=f"VT-TWO{number}"
                )
                await uow.appointments.set_status(booked.id, Status.IN_SESSION, clock.now())
                await uow.appointments.set_status(booked.id, Status.COMPLETED, clock.now())
                assert await uow.notices.survey_asked(booked.id, clock.now())
                await notify.queue(uow, user, "survey", appointment_id=booked.id)
                await uow.commit()
            people.append(MemoryPerson(app.engine, name, name, "en", channel=channel_name))
        await app.dispatcher.drain()
        for person, inbox, score in ((people[0], first, "9"), (people[1], second, "7")):
            [survey] = inbox.inbox[person.external_id]
            await person.press_token(next(c.token for c in survey.choices if c.label == score))
            await run_dialog(person, [("[Yes]", []), ("[No comment]", ["Thank you"])])
        rows = await _survey_rows(app)
        assert sorted((r.channel, r.score) for r in rows) == [("matrix", 7), ("memory", 9)]
        async with app.uow() as uow:
            report = await report_for(uow, app.office, date(2026, 1, 1), date(2026, 12, 31))
        assert report.satisfaction.as_dict() == {
            "answers": 2, "average": 8.0, "would_use_again": 1.0,
        }  # fmt: skip
    finally:
        await app.close()


async def test_administrators_read_the_comments_without_who_wrote_them(
    app: App, channel: MemoryChannel, clock: Clock
) -> None:
    await full_session(app, clock)
    clock.advance(minutes=10)
    await app.dispatcher.drain()
    joan = person(app, "joan", "Joan Pujol", "en")
    await run_dialog(joan, [("8", []), ("[No]", []), ("Anna was <i>patient</i>", ["Thank you"])])
    laia = person(app, "staff:laia", "Laia", "en")
    await run_dialog(
        laia,
        [
            ("/stats", ["Satisfaction: 8.0/10 from 1 answers"]),
            (
                "[Comments]",
                [
                    "Survey comments about appointments from 1 January 2026",
                    "Mon 30 Nov · Proof of census registration (volant) · 8/10: "
                    "Anna was <i>patient</i>",
                    "!Joan",
                    "!Pujol",
                ],
            ),
        ],
    )
    await run_dialog(laia, [("/stats 2025-01-01 2025-12-31", []), ("[Comments]", ["No comments"])])
