"""A citizen sends a bad file through the bot: it is refused in their language and nothing
is stored — no blob on disk, no document row, no evidence record, no notice to the clerk —
and the citizen is still asked for the same document.

The path is the real one: MemoryPerson → Engine → handlers/documents.py →
bot/services.py StoredDocuments.accept → documents/intake.py → storage/blobs.py, on SQLite
and the encrypted blob folder under data_dir. A good photo sent the same way is the control:
it changes every part of the snapshot, so the snapshot does see what a refusal must not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.memory import MemoryPerson
from handlers.i18n import translate
from storage.models import ConversationRow, DocumentRow, EvidenceRow, OutboxRow, UserRow
from tests.dialog import run_dialog
from tests.session_kit import book, open_session
from tests.support import Clock, document_photo, person
from tests.unit.documents.bad_files import BAD_FILE_IDS, BAD_FILES, BadFile

ASKED = "Please take a photo of your ID card"
_BUTTONS = frozenset({"_tokens", "_options"})


@dataclass(frozen=True)
class Snapshot:
    blob_files: frozenset[str]  # every file under data_dir/blobs, temporary ones included
    documents: int
    evidence: int
    outbox: int  # a stored document would queue a notice to the clerk
    flow: str
    step: str
    data: dict[str, Any]  # what the step remembers (which appointment, which document)


async def snapshot(app: App, citizen: MemoryPerson) -> Snapshot:
    """What is stored, read straight from the blob folder and the tables (read only)."""
    root: Path = app.settings.data_dir / "blobs"
    files = frozenset(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    async with app.sessions() as session:

        async def count(model: type[Any]) -> int:
            return int((await session.execute(select(func.count()).select_from(model))).scalar())

        documents, evidence, outbox = (
            await count(DocumentRow),
            await count(EvidenceRow),
            await count(OutboxRow),
        )
        conversation = (
            await session.execute(
                select(ConversationRow)
                .join(UserRow, UserRow.id == ConversationRow.user_id)
                .where(UserRow.channel == citizen.channel)
                .where(UserRow.external_id == citizen.external_id)
            )
        ).scalar_one()
        flow, step, stored = conversation.flow, conversation.step, dict(conversation.data)
    # The buttons of the question being answered (handlers/choices.py keeps them under
    # "_tokens" and "_options") belong to the message, not to where the citizen is: the
    # question asked again after a refusal gets fresh tokens by design (an older message's
    # buttons must stop working), and a Cancel button the clerk's request did not carry.
    data = {key: value for key, value in stored.items() if key not in _BUTTONS}
    return Snapshot(files, documents, evidence, outbox, flow, step, data)


@pytest.fixture
async def asked(app: App, clock: Clock) -> MemoryPerson:
    """A citizen in a session whose clerk has just asked for their ID card."""
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)  # 9:00 on the test Monday
    anna = await open_session(app, clock)
    await run_dialog(
        anna,
        [
            ("[Documents]", ["Ask for ID card"]),
            ("[Ask for ID card]", ["I've asked"]),
        ],
    )
    await app.dispatcher.drain()  # the request is delivered: the citizen now waits for it
    return citizen


@pytest.mark.parametrize("bad", BAD_FILES, ids=BAD_FILE_IDS)
async def test_a_bad_file_is_refused_and_nothing_is_stored(
    app: App, asked: MemoryPerson, bad: BadFile
) -> None:
    before = await snapshot(app, asked)
    assert (before.flow, before.step) == ("upload", "file")  # waiting for the ID card

    await asked.send_file(bad.name, bad.make())

    assert asked.last[0].text == translate("en", f"doc.rejected.{bad.reason}")
    assert ASKED in asked.last[-1].text  # and asked again for the same document
    assert "received" not in asked.text
    assert await snapshot(app, asked) == before


async def test_a_bad_file_sent_ahead_is_refused_and_nothing_is_stored(app: App) -> None:
    # The other way in: a file sent while no document was asked for is attached to the
    # citizen's next appointment, through the same intake and store.
    citizen = person(app, "joan", name="Joan Pujol", language="en")
    await book(app, citizen)
    before = await snapshot(app, citizen)

    await citizen.send_file("photo.jpg", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")

    assert citizen.last[0].text == translate("en", "doc.rejected.corrupt")
    assert await snapshot(app, citizen) == before


async def test_the_control_a_good_photo_changes_what_a_refusal_leaves_alone(
    app: App, asked: MemoryPerson
) -> None:
    before = await snapshot(app, asked)

    await asked.send_file("dni.jpg", document_photo())

    assert "Thank you, I've received it: ID card" in asked.text
    after = await snapshot(app, asked)
    assert len(after.blob_files - before.blob_files) == 1
    assert after.documents == before.documents + 1
    assert after.evidence == before.evidence + 1
    assert after.outbox > before.outbox  # the clerk is told
    assert (after.flow, after.step) != (before.flow, before.step)  # no longer waiting
