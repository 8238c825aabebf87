"""`videotramit demo` tells its whole story and leaves what it promises."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

from bot.demo import run_demo
from storage.evidence_bundle import verify_bundle


async def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    app = await run_demo(tmp_path, lines.append)
    try:
        transcript = "\n".join(lines)
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
            "Estadístiques (4 cites)",
        ):
            assert expected in transcript, expected
        assert "Traceback" not in transcript
        [receipt] = list(tmp_path.glob("VT-*.pdf"))
        text = "".join(page.extract_text() for page in PdfReader(receipt).pages)
        assert "Justificant de registre d'entrada" in text
        [bundle] = list(tmp_path.glob("evidence-VT-*.zip"))
        assert verify_bundle(bundle).ok
        async with app.uow() as uow:
            staff_agenda = await uow.appointments.for_staff(
                None, app.clock.now().replace(hour=0), app.clock.now().replace(hour=23)
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
