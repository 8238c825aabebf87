"""A citizen's costly file never delays another citizen (issue 10, part 1).

Files are checked in the sandbox's worker processes before the sender's turn opens its unit
of work. To show that nothing else waits for them, the workers are paused (SIGSTOP) while
one citizen's scan bomb and huge PNG are in flight: another citizen still gets her answer,
before either refusal. Order, not timing: the refusals cannot arrive while the workers are
stopped, and her reply must.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from handlers.i18n import translate
from storage.models import DocumentRow
from tests.session_kit import book
from tests.support import Clock, document_photo, office_settings, person, ready_app
from tests.unit.documents.bad_files import huge_rgba_png, scan_bomb


async def test_another_citizens_reply_arrives_while_a_bomb_is_being_checked(app: App) -> None:
    joan = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, joan)
    joan_again = person(app, "joan", name="Joan Pujol", language="en")  # a second chat window
    bomb, canvas = scan_bomb(repeats=20_000), huge_rgba_png()
    assert app.sandbox is not None
    await app.sandbox.start()
    paused = app.sandbox.pids()
    assert paused
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        sending_bomb = asyncio.create_task(joan.send_file("photo.jpg", bomb))
        sending_png = asyncio.create_task(joan_again.send_file("scan.png", canvas))
        await asyncio.sleep(0)  # both turns start and wait for the sandbox
        maria = person(app, "maria", name="Maria Soler", language="en")
        answered = await maria.say("hello")
        order = ["maria"] + [
            name for name, task in (("bomb", sending_bomb), ("png", sending_png)) if task.done()
        ]
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    await asyncio.gather(sending_bomb, sending_png)

    assert order == ["maria"]
    assert answered and translate("en", "error.internal") not in maria.text
    assert joan.last[0].text == translate("en", "doc.rejected.too_complex")
    assert joan_again.last[0].text == translate("en", "doc.rejected.too_many_pixels")


@pytest.mark.parametrize(
    ("quota", "refusal"),
    [
        ({"files_per_appointment": 2}, "doc.rejected.quota_appointment"),
        ({"files_per_day": 2}, "doc.rejected.quota_day"),
    ],
)
async def test_the_upload_quota_refuses_the_file_over_it_politely(
    tmp_path: Path, clock: Clock, quota: dict[str, int], refusal: str
) -> None:
    settings = office_settings(f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path, intake=quota)
    app, _ = await ready_app(settings, clock)
    try:
        joan = person(app, "joan", name="Joan Pujol", language="en")
        await book(app, joan)
        for seed in (1, 2):
            await joan.send_file(f"page{seed}.jpg", document_photo(seed=seed))
            await joan.press("Another document")
            assert "Thank you, I've received it" in joan.text
        await joan.send_file("page3.jpg", document_photo(seed=3))
        assert joan.last[0].text == translate("en", refusal)
        async with app.sessions() as session:
            stored = (await session.execute(select(func.count(DocumentRow.id)))).scalar()
        assert stored == 2
    finally:
        await app.close()
