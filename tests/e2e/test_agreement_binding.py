"""The agreement is bound to what is issued: a change to the identity, the documents or
the data after the summary was sent withdraws it (panel, citizen, evidence), and the
receipt is only issued for the very text agreed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import App
from bot.channels.memory import MemoryPerson
from domain.evidence import EventKind
from storage.models import AppointmentRow, ConversationRow, UserRow
from tests.dialog import run_dialog
from tests.session_kit import appointment_of, pending_buttons, receipt_made, up_to_the_summary
from tests.support import Clock, delivered_texts, document_photo, office_settings, ready_app


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[App]:
    settings = office_settings(database_url, tmp_path / "data")
    built, _ = await ready_app(settings, clock)
    yield built
    await built.close()


async def citizen_flow(app: App, external_id: str) -> str:
    async with app.sessions() as session:
        query = (
            select(ConversationRow.flow)
            .join(UserRow, UserRow.id == ConversationRow.user_id)
            .where(UserRow.external_id == external_id)
        )
        return (await session.execute(query)).scalar_one()


async def messages_to(app: App, address: str) -> list[str]:
    return await delivered_texts(app, address)


async def change_identity(anna: MemoryPerson, citizen: MemoryPerson) -> None:
    await run_dialog(
        anna,
        [("[Identity]", []), ("[NIE]", []), ("X1111111G", []), ("[Yes, it matches]", [])],
    )


async def change_data(anna: MemoryPerson, citizen: MemoryPerson) -> None:
    await run_dialog(anna, [("[Data]", [])])
    for label in anna.labels():
        if label != "Back to the panel":
            await anna.press(label)  # edit the first field...
            break
    if anna.labels() and "Leave empty" not in anna.labels() and len(anna.labels()) > 2:
        await anna.press_nth(1)  # ...to another of its options
    else:
        await anna.say("Y1234567X")
    await run_dialog(anna, [("[Back to the panel]", [])])


async def document_from_the_citizen(anna: MemoryPerson, citizen: MemoryPerson) -> None:
    # At the agreement question, the citizen sends another photo of their own accord.
    await citizen.send_file("another.jpg", document_photo(seed=7))
    assert "changed" in citizen.text
    await run_dialog(anna, [("[Refresh]", [])])


async def document_asked_by_the_clerk(anna: MemoryPerson, citizen: MemoryPerson) -> None:
    await run_dialog(
        anna,
        [("[Documents]", []), ("[Ask for another document]", []), ("Rental contract", [])],
    )
    await citizen.send_file("contract.jpg", document_photo(seed=9))


CHANGES = {
    "identity": (change_identity, "identity"),
    "data": (change_data, "data"),
    "citizen's document": (document_from_the_citizen, "documents"),
    "requested document": (document_asked_by_the_clerk, "documents"),
}


@pytest.mark.parametrize("agreed_first", [False, True], ids=["pending", "agreed"])
@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_change_after_the_summary_withdraws_the_agreement(
    app: App, clock: Clock, change: str, agreed_first: bool
) -> None:
    citizen, anna = await up_to_the_summary(app, clock)
    if agreed_first:
        buttons = await pending_buttons(app, "joan")
        await citizen.press_token(buttons["I agree"])
    act, because = CHANGES[change]
    await act(anna, citizen)
    await run_dialog(anna, [("[Refresh]", [f"Agreement: not sent: the {because} changed"])])
    # The citizen's question is taken back and they are told a new summary will come.
    assert await citizen_flow(app, "joan") != "agree"
    told = [*await messages_to(app, "joan"), citizen.text]
    assert any("a new one to agree to" in text for text in told)
    await run_dialog(anna, [("[Receipt]", ["has to agree with the summary first"])])
    appointment = await appointment_of(app, "joan")
    async with app.uow() as uow:
        kinds = [r.kind for r in await uow.evidence.records(appointment.id, "x")]
    assert EventKind.AGREEMENT_WITHDRAWN.value in kinds
    assert EventKind.RECEIPT_ISSUED.value not in kinds
    # Sent again and agreed, the receipt is issued for the new text.
    await run_dialog(anna, [("[Send for agreement]", ["Summary sent"])])
    buttons = await pending_buttons(app, "joan")
    await citizen.press_token(buttons["I agree"])
    await run_dialog(anna, [("[Receipt]", ["being made"])])
    await receipt_made(app)
    assert any("issued and sent" in text for text in await messages_to(app, "staff:anna"))


async def test_the_old_buttons_no_longer_agree(app: App, clock: Clock) -> None:
    citizen, anna = await up_to_the_summary(app, clock)
    old = await pending_buttons(app, "joan")
    await change_identity(anna, citizen)
    await citizen.press_token(old["I agree"])
    await run_dialog(anna, [("[Refresh]", ["Agreement: not sent"])])


async def test_the_receipt_is_refused_when_the_data_changed_behind_the_steps(
    app: App, clock: Clock
) -> None:
    """An edit that skipped the steps (straight in the database) is caught at issuing:
    the summary rendered again no longer hashes to what was agreed."""
    citizen, anna = await up_to_the_summary(app, clock)
    buttons = await pending_buttons(app, "joan")
    await citizen.press_token(buttons["I agree"])
    appointment = await appointment_of(app, "joan")
    details = dict(appointment.details)
    form = dict(details["form"])
    passport_field = next(code for code, value in form.items() if value == "X1111111G")
    form[passport_field] = "Z9999999H"
    details["form"] = form
    async with app.sessions() as session, session.begin():
        await session.execute(
            update(AppointmentRow)
            .where(AppointmentRow.id == appointment.id)
            .values(details=details)
        )
    await run_dialog(anna, [("[Receipt]", ["no longer match the summary"])])
    await run_dialog(anna, [("[Refresh]", ["Agreement: not sent"])])
    async with app.uow() as uow:
        assert await uow.receipts.for_appointment(appointment.id) is None
