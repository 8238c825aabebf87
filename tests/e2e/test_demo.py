"""`videotramit demo` tells its whole story and leaves what it promises."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.clock import SystemClock
from bot.demo import run_demo
from storage.evidence_bundle import verify_bundle
from tests.support import MADRID, WallClock


@pytest.mark.any_hour
async def test_demo_runs_end_to_end(tmp_path: Path, wall_clock: WallClock | None) -> None:
    today = SystemClock().now().astimezone(MADRID).date()
    lines: list[str] = []
    app = await run_demo(tmp_path, lines.append)
    try:
        transcript = "\n".join(lines)
        # The story is told at 08:00 on the first working day from the machine's date.
        if wall_clock is not None:
            story_day = wall_clock.story_day
        else:  # the real date: whichever it is, a working day within the week
            [told] = [line for line in lines if line.startswith("It is ")]
            story_day = datetime.strptime(told, "It is %A %d %B %Y, 08:00 (Europe/Madrid).").date()
            assert today <= story_day < today + timedelta(days=7)
            assert story_day.weekday() < 5 and story_day not in app.office.holidays
        morning = datetime.combine(story_day, time(8, 0), MADRID)
        assert f"It is {morning:%A %d %B %Y, %H:%M} (Europe/Madrid)." in lines
        for expected in (
            "Fet! La teva cita és la VT-",  # Catalan booking
            "¡Hecho! Tu cita es la VT-",  # Spanish booking
            "ahora es el",  # moved
            "Appointment VT-",  # English cancellation
            "queda marcada com a no presentada",  # no-show
            "upright (red band on top), no EXIF at all",  # the phone photo was normalised
            # The ID card's zone is read and checked on the clerk's panel.
            "foto llegida: DNI · ****5678Z · vàlid fins al 05/2031 · dígits de control ✔",
            "zona del document comprovada ✔",
            "Justificant VT/",  # receipt issued
            "the page confirms entry VT/",  # the verification page knows the receipt
            "the PDF it serves is the one sent to Maria",
            "intact",  # the evidence bundle verifies
            "Estadístiques del 1 de gener",
            "Mediana de durada de la sessió: 16 min",  # the session took its time
            "• Terminal: ",  # the channel by its name, not its code
            "Hi seràs?",  # a reminder with its buttons, answered
            "T'esperem a la cita VT-",
            "Com valores el servei",  # the survey, answered
            "Gràcies per la teva opinió",
            "(chart saved as",
        ):
            assert expected in transcript, expected
        assert "Traceback" not in transcript
        assert Image.open(tmp_path / "statistics.png").format == "PNG"
        [receipt] = list(tmp_path.glob("VT-*.pdf"))
        text = "".join(page.extract_text() for page in PdfReader(receipt).pages)
        assert "Justificant de registre d'entrada" in text
        [bundle] = list(tmp_path.glob("evidence-VT-*.zip"))
        # Checked as a third party would: the zip and the council's public key, nothing else.
        council = (tmp_path / "council-public-key.pem").read_bytes()
        check = verify_bundle(bundle, public_key=council)
        assert check.ok and check.seals == 2 and check.proofs == 2, check
        forged = verify_bundle(tmp_path / "forged-copy.zip", public_key=council)
        assert not forged.ok and "signature does not verify" in (forged.first_problem or "")
        assert "DEMO ONLY" in transcript
        async with app.uow() as uow:
            staff_agenda = await uow.appointments.for_staff(
                None, app.clock.now() - timedelta(days=30), app.clock.now() + timedelta(days=1)
            )
        done = [a for a in staff_agenda if a.status.value == "completed"]
        assert len(done) == 1
        async with app.uow() as uow:
            [photo] = await uow.documents.for_appointment(done[0].id)
        stored = Image.open(io.BytesIO(await app.services.documents.read(photo.sha256)))
        # The card was photographed sideways: stored upright (landscape), without EXIF.
        assert stored.width > stored.height and not stored.getexif()
    finally:
        await app.close()


async def test_demo_can_run_twice_in_the_same_folder(tmp_path: Path) -> None:
    for _ in range(2):
        app = await run_demo(tmp_path, lambda _line: None)
        await app.close()
    assert len(list(tmp_path.glob("VT-*.pdf"))) == 1  # the first run's files were cleared
