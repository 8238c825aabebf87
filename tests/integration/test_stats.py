"""The administrators' statistics against a fixture computed by hand (see the comments),
through the report, the bot command and `videotramit stats`."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app import App
from bot.cli import main
from handlers.admin import report_for
from storage.models import AppointmentRow, AttendanceRow, EvidenceRow, SurveyRow, UserRow
from tests.dialog import run_dialog
from tests.support import MADRID, Clock, office_settings, person, ready_app


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID).astimezone(UTC)


# (ref, procedure, clerk, citizen, status, start (Madrid), days booked ahead, confirmed,
#  session minutes, survey (score, again))
APPOINTMENTS: list[tuple[Any, ...]] = [
    ("A1", "informacio", "anna", 1, "completed", "2026-03-10 10:00", 4, True, 20, (9, True)),
    ("A2", "informacio", "marc", 2, "no_show", "2026-03-20 09:00", 1, False, None, None),
    ("A3", "volant_empadronament", "anna", 1, "cancelled", "2026-04-02 11:00", 3, False, None,
     None),
    ("A4", "volant_empadronament", "anna", 2, "completed", "2026-04-15 12:00", 10, True, 30,
     (10, True)),
    ("A5", "informacio", "anna", 1, "booked", "2026-12-03 10:00", 3, False, None, None),
    # 00:30 on 1 May in Madrid is still 30 April in UTC: it counts in May.
    ("A7", "informacio", "anna", 1, "completed", "2026-05-01 00:30", 3, False, None, (6, False)),
    # Outside the year: counted nowhere.
    ("A6", "informacio", "anna", 1, "completed", "2025-12-31 10:00", 2, True, 15, (0, False)),
]  # fmt: skip


async def _citizens(app: App) -> None:
    async with app.sessions() as session, session.begin():
        session.add_all(
            [
                UserRow(id=1, channel="memory", external_id="u1", address="u1", language="ca",
                        created_at=_local("2025-01-01 09:00")),
                UserRow(id=2, channel="telegram", external_id="u2", address="u2",
                        language="es", created_at=_local("2025-01-01 09:00")),
            ]
        )  # fmt: skip


async def _fixture(app: App) -> None:
    await _citizens(app)
    async with app.sessions() as session, session.begin():
        for number, row in enumerate(APPOINTMENTS, start=1):
            ref, procedure, clerk, citizen, status, start, ahead, confirmed, minutes, said = row
            begins = _local(start)
            session.add(
                AppointmentRow(
                    id=number, reference=f"VT-{ref}", citizen_id=citizen, procedure=procedure,
                    staff_id=clerk, start=begins, end=begins + timedelta(minutes=30),
                    status=status, language="ca", details={},
                    created_at=begins - timedelta(days=ahead), updated_at=begins,
                    session_seconds=None if minutes is None else minutes * 60,
                    lead_hours=ahead * 24,
                )
            )  # fmt: skip
            await session.flush()
            if confirmed:
                session.add(AttendanceRow(appointment_id=number, answer="confirmed", at=begins))
            if minutes is not None:
                ended = begins + timedelta(minutes=minutes)
                events = [("session_started", begins), ("session_ended", ended)]
                for seq, (kind, at) in enumerate(events):
                    session.add(
                        EvidenceRow(appointment_id=number, seq=seq, kind=kind,
                                    at=at.isoformat(), actor="staff", data={},
                                    prev_hash="0" * 64, hash=f"{number}{seq}".ljust(64, "0"))
                    )  # fmt: skip
            if said is not None:
                session.add(
                    SurveyRow(appointment_id=number, asked_at=begins, score=said[0],
                              again=said[1], comment="", channel="memory", answered_at=begins)
                )  # fmt: skip
        # A survey asked but never answered is not an answer.
        session.add(SurveyRow(appointment_id=2, asked_at=_local("2026-03-20 10:00"), comment=""))


@pytest.fixture
async def stats_app(tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path)
    app, _ = await ready_app(settings, clock)
    await _fixture(app)
    yield app
    await app.close()


@pytest.fixture
async def stats_on(tmp_path: Path, clock: Clock, backend: str) -> AsyncIterator[App]:
    """The fixture on SQLite, then on PostgreSQL."""
    settings = office_settings(backend, tmp_path)
    app, _ = await ready_app(settings, clock)
    await _fixture(app)
    yield app
    await app.close()


EXPECTED_TOTAL = {  # A1..A5, A7: 3 completed, 1 cancelled, 1 no-show, 1 to come
    "booked": 6, "completed": 3, "cancelled": 1, "no_show": 1, "upcoming": 1,
    "no_show_rate": 0.25,  # 1 / (3 + 1)
}  # fmt: skip


async def test_the_report_matches_the_hand_computed_figures(stats_on: App) -> None:
    await _check_report(stats_on)


async def _check_report(stats_app: App) -> None:
    async with stats_app.uow() as uow:
        report = await report_for(
            uow, stats_app.office, datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date()
        )
    data = report.as_dict()
    assert data["total"] == EXPECTED_TOTAL
    informacio = data["by_procedure"]["informacio"]  # A1 A2 A5 A7
    assert (informacio["booked"], informacio["completed"], informacio["no_show"]) == (4, 2, 1)
    assert informacio["no_show_rate"] == 0.333
    assert data["by_procedure"]["volant_empadronament"]["cancelled"] == 1  # A3
    assert data["by_channel"]["telegram"]["no_show_rate"] == 0.5  # A2 no-show, A4 done
    assert data["by_channel"]["memory"]["booked"] == 4
    assert data["by_clerk"]["marc"] == {
        "booked": 1, "completed": 0, "cancelled": 0, "no_show": 1, "upcoming": 0,
        "no_show_rate": 1.0,
    }  # fmt: skip
    months = {m: c["booked"] for m, c in data["by_month"].items() if c["booked"]}
    assert months == {"2026-03": 2, "2026-04": 2, "2026-05": 1, "2026-12": 1}
    assert len(data["by_month"]) == 12
    # (9 + 10 + 6) / 3; 2 of 3 would use it again; A2's unanswered survey is not counted.
    assert data["satisfaction"] == {"answers": 3, "average": 8.33, "would_use_again": 0.667}
    assert data["satisfaction_by_month"]["2026-05"]["average"] == 6.0
    # Days ahead of the appointments not cancelled: 1, 3, 3, 4, 10.
    assert data["median_days_booking_to_appointment"] == 3.0
    assert data["median_session_minutes"] == 25.0  # 20 and 30
    effect = data["reminder_effect"]
    assert effect["confirmed"]["no_show_rate"] == 0.0  # A1, A4 both came
    assert effect["not_confirmed"]["no_show_rate"] == 0.5  # A7 came, A2 did not


@pytest.fixture
async def citizens_on(tmp_path: Path, clock: Clock, backend: str) -> AsyncIterator[App]:
    """Two citizens and no appointment yet, on SQLite, then on PostgreSQL."""
    app, _ = await ready_app(office_settings(backend, tmp_path), clock)
    await _citizens(app)
    yield app
    await app.close()


async def test_a_moved_appointment_counts_from_its_booking_to_its_new_time(
    citizens_on: App,
) -> None:
    """The lead is kept on the appointment as it is booked and moved (the report reads it
    off an index): booked on 1 June for 3 June (2 days), then moved to 15 June (14 days)."""
    booked_at = _local("2026-06-01 09:00")
    first, moved = _local("2026-06-03 10:00"), _local("2026-06-15 10:00")
    async with citizens_on.uow() as uow:
        appointment = await uow.appointments.book(
            reference="VT-L1", citizen_id=1, procedure="informacio", staff_id="anna",
            start=first, end=first + timedelta(minutes=30), language="ca", email="",
            citizen_name="", cells=[first], now=booked_at,
        )  # fmt: skip
        await uow.commit()
    assert await _median_days_of_june(citizens_on) == 2.0
    async with citizens_on.uow() as uow:
        await uow.appointments.reschedule(
            appointment.id, staff_id="anna", start=moved, end=moved + timedelta(minutes=30),
            cells=[moved], now=_local("2026-06-02 12:00"),
        )  # fmt: skip
        await uow.commit()
    assert await _median_days_of_june(citizens_on) == 14.0


async def _median_days_of_june(app: App) -> float | None:
    async with app.uow() as uow:
        report = await report_for(
            uow, app.office, datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date()
        )
    return report.as_dict()["median_days_booking_to_appointment"]


async def test_the_bot_command_and_its_chart(stats_app: App) -> None:
    laia = person(stats_app, "staff:laia", "Laia", "en")
    await run_dialog(
        laia,
        [
            (
                "/stats",
                [
                    "Statistics from 1 January 2026 to 31 December 2026",
                    "Appointments: 6 (completed 3, cancelled 1, no-show 1, still to come 1)",
                    "No-show rate: 25%",
                    "Satisfaction: 8.3/10 from 3 answers · would use it again: 67%",
                    "Median days from booking to appointment: 3.0",
                    "Median session length: 25 min",
                    "with a confirmed reminder: 0% · without: 50%",
                    "Information and advice: 4 (completed 2, cancelled 0, no-show 1, rate 33%)",
                    "• Telegram: 2",
                    "• Terminal: 4",
                    "Marc Soler: 1",
                    "Chart",
                ],
            ),
            ("/stats 2026-13-01", ["I didn't understand the dates"]),
            ("/stats 2026-04-01 2026-04-30", ["Appointments: 2 (completed 1, cancelled 1"]),
            ("[Chart]", ["Appointments per month"]),
        ],
    )
    [chart] = [reply.file for reply in laia.last if reply.file is not None]
    assert chart.content_type == "image/png"
    image = Image.open(io.BytesIO(chart.data))
    assert image.format == "PNG" and image.width > 400


def _cli(tmp_path: Path, *args: str) -> list[str]:
    config = tmp_path / "council.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "vt.db"}"\n'
        '[[staff]]\nid = "anna"\nname = "Anna Puig"\nprocedures = ["*"]\n'
        'hours = ["mon-fri 09:00-14:00"]\n'
        '[[staff]]\nid = "marc"\nname = "Marc Soler"\nprocedures = ["*"]\n'
        'hours = ["mon-fri 09:00-13:00"]\n'
    )
    return [*args, "--config", str(config)]


def test_cli_formats_chart_and_bad_dates(
    stats_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "out.png"
    period = ["--from", "2026-01-01", "--to", "2026-12-31"]
    assert main(_cli(tmp_path, "stats", *period, "--format", "json", "--chart", str(chart))) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == EXPECTED_TOTAL
    assert Image.open(chart).format == "PNG"
    assert main(_cli(tmp_path, "stats", *period, "--format", "csv")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "section,key,booked,completed,cancelled,no_show,upcoming,no_show_rate"
    assert "total,,6,3,1,1,1,0.25" in lines
    assert "figure,satisfaction_average,8.33" in lines
    assert main(_cli(tmp_path, "stats", *period)) == 0
    assert "median_session_minutes: 25.0" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        main(_cli(tmp_path, "stats", "--from", "2026-13-01"))
    assert bad.value.code == 2
    assert "'2026-13-01' is not a day like 2026-03-31" in capsys.readouterr().err
    assert main(_cli(tmp_path, "stats", "--from", "2026-05-01", "--to", "2026-04-01")) == 2
    assert "--from 2026-05-01 is after --to 2026-04-01" in capsys.readouterr().err
