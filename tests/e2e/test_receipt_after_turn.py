"""The receipt is made after the clerk's turn: its number in a short transaction of its
own, its PDF (rendered and sealed) outside any, so a slow PDF holds nobody up, and a
failed one keeps its number (the registry has no gaps)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.effects import EffectsWorker
from storage.effects import EffectsStore
from storage.models import ReceiptRow, RegistryCounterRow
from tests.dialog import run_dialog
from tests.session_kit import appointment_of, pending_buttons, up_to_the_summary
from tests.support import Clock, person


class Renderer:
    """The real renderer behind a gate: it can fail, or wait until let through."""

    def __init__(self, real: Any, *, fail: int = 0, hold: bool = False) -> None:
        self.real, self.fail = real, fail
        self.entered, self.gate = asyncio.Event(), asyncio.Event()
        if not hold:
            self.gate.set()

    @property
    def logo(self) -> bytes | None:
        return self.real.logo

    def verify_url(self, csv_code: str) -> str:
        return self.real.verify_url(csv_code)

    async def render(self, receipt: Any, labels: dict[str, str]) -> bytes:
        self.entered.set()
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise OSError("the disk is full")
        return await self.real.render(receipt, labels)


def worker(app: App, renderer: Renderer) -> EffectsWorker:
    return EffectsWorker(
        EffectsStore(app.sessions),
        uow=app.uow,
        engine=app.engine,
        office=app.office,
        services=replace(app.services, receipts=renderer),
        clock=app.clock,
    )


async def _ask_for_the_receipt(app: App, clock: Clock) -> None:
    citizen, anna = await up_to_the_summary(app, clock)
    buttons = await pending_buttons(app, "joan")
    await citizen.press_token(buttons["I agree"])
    await run_dialog(anna, [("[Receipt]", ["being made"])])


async def _rows(app: App) -> list[tuple[str, str]]:
    async with app.sessions() as session:
        rows = (await session.execute(select(ReceiptRow))).scalars().all()
        return [(row.entry_number, row.sha256) for row in rows]


async def test_a_failed_pdf_keeps_its_number(app: App, clock: Clock) -> None:
    await _ask_for_the_receipt(app, clock)
    renderer = Renderer(app.services.receipts, fail=1)
    effects = worker(app, renderer)
    assert await effects.run_once() == 0  # the PDF failed: to be tried again
    # The number was taken (and committed) before the PDF: it stays reserved, unseen.
    assert await _rows(app) == [("VT/2026/000001", "")]
    appointment = await appointment_of(app, "joan")
    async with app.uow() as uow:
        reserved = await uow.receipts.for_appointment(appointment.id)
        assert reserved is not None and reserved.sha256 == ""
        assert await uow.receipts.by_code(reserved.csv_code) is None  # /verify: not yet
    clock.advance(seconds=10)  # past the retry's wait
    assert await effects.run_once() == 1
    [(entry, sha256)] = await _rows(app)
    assert entry == "VT/2026/000001" and len(sha256) == 64
    async with app.sessions() as session:
        counter = (await session.execute(select(RegistryCounterRow))).scalar_one()
    assert counter.last == 1  # one number taken, one used: no gap
    appointment = await appointment_of(app, "joan")
    assert appointment.details["receipt"] == "VT/2026/000001"


async def test_a_slow_pdf_delays_nobody(app: App, clock: Clock) -> None:
    await _ask_for_the_receipt(app, clock)
    renderer = Renderer(app.services.receipts, hold=True)
    effects = worker(app, renderer)
    making = asyncio.create_task(effects.run_once())
    await renderer.entered.wait()  # the number is taken; the PDF is being made
    assert await _rows(app) == [("VT/2026/000001", "")]
    # Meanwhile a citizen is answered, and the clerk too (on SQLite: the one writer).
    await run_dialog(person(app, "pere", language="en"), [("hi", ["Which language"])])
    anna = person(app, "staff:anna", "Anna Puig", "en")
    await run_dialog(anna, [("/today", ["9:00"])])
    assert not making.done()
    renderer.gate.set()
    assert await making == 1
    [(_, sha256)] = await _rows(app)
    assert len(sha256) == 64
