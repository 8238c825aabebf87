"""Staff see today's agenda and mark no-shows; administrators see statistics."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.channels.memory import MemoryChannel
from tests.dialog import run_dialog
from tests.support import Clock, add_document, person


async def _book(app: App, name: str, procedure: str, time: str) -> None:
    citizen = person(app, name, name=name.title(), language="ca")
    await citizen.command("start")
    await citizen.press("Català")
    await citizen.press("D'acord")
    await citizen.press("Demanar cita")
    await citizen.press(procedure)
    await citizen.press_nth(0)
    await citizen.press(time)
    await citizen.press("Confirmar")
    assert "Fet!" in citizen.text


@pytest.mark.any_hour
async def test_agenda_and_no_show(app: App, clock: Clock, channel: MemoryChannel) -> None:
    anna = person(app, "staff:anna", "Anna", "ca")
    await run_dialog(anna, [("/today", ["No tens cap cita"])])
    await _book(app, "pere", "Volant", "9:00")
    await _book(app, "rosa", "Volant", "10:00")
    await run_dialog(
        anna,
        [
            (
                "/today",
                [
                    "Agenda del dilluns 30 de novembre (2)",
                    "9:00",
                    "Pere",
                    "10:00",
                    "Rosa",
                    "documents per rebre: 1",
                ],
            ),
            ("[9:00]", ["Persona: Pere", "DNI, NIE o passaport", "!Marcar que no"]),  # too early
        ],
    )
    clock.advance(hours=1, minutes=20)  # 9:20
    await run_dialog(
        anna,
        [
            ("/today", ["Pere"]),
            ("[9:00]", ["Marcar que no s'ha presentat"]),
            ("[Marcar]", ["queda marcada com a no presentada", "no presentada"]),
        ],
    )
    await app.dispatcher.drain()
    assert any("No et vam poder atendre" in r.text for r in channel.inbox["pere"])


async def test_staff_only_see_their_own_and_admins_see_all(app: App) -> None:
    await _book(app, "pere", "Volant", "9:00")  # only Anna serves it
    marc = person(app, "staff:marc", "Marc", "en")
    await run_dialog(marc, [("/today", ["no appointments", "!Pere"])])
    laia = person(app, "staff:laia", "Laia", "en")
    await run_dialog(laia, [("/today", ["Pere", "Anna Puig"])])


async def test_citizens_cannot_use_staff_commands(app: App) -> None:
    citizen = person(app, "nosy", language="en")
    await citizen.command("start")
    await citizen.press("English")
    await citizen.press("I understand")
    await run_dialog(
        citizen,
        [
            ("/today", ["only for the office staff", "!Agenda"]),
            ("/stats", ["only for administrators"]),
        ],
    )
    clerk = person(app, "staff:anna", "Anna", "en")
    await run_dialog(clerk, [("/stats", ["only for administrators"])])


async def test_stats_counts_by_status_and_procedure(app: App) -> None:
    await _book(app, "pere", "Volant", "9:00")
    await _book(app, "rosa", "Certificat", "10:00")
    laia = person(app, "staff:laia", "Laia", "en")
    await run_dialog(
        laia,
        [
            (
                "/stats",
                [
                    "Appointments: 2 (completed 0, cancelled 0, no-show 0, still to come 2)",
                    "Proof of census registration (volant): 1",
                    "Certificate of cohabitation: 1",
                ],
            ),
        ],
    )


@pytest.mark.any_hour
async def test_staff_are_told_of_new_bookings(app: App, channel: MemoryChannel) -> None:
    anna = person(app, "staff:anna", "Anna", "ca")
    await anna.command("today")  # Anna has talked to the bot, so it knows where to reach her
    await _book(app, "pere", "Volant", "9:00")
    await app.dispatcher.drain()
    assert any("Nova cita VT-" in r.text for r in channel.inbox["staff:anna"])


async def test_the_agenda_counts_only_documents_still_missing(app: App, clock: Clock) -> None:
    from tests.support import document_photo

    citizen = person(app, "rosa", name="Rosa", language="ca")
    await _book(app, "rosa", "Alta", "10:00")  # three documents required
    anna = person(app, "staff:anna", "Anna", "ca")
    await run_dialog(anna, [("/today", ["documents per rebre: 3"])])
    await citizen.send_file("contracte.jpg", document_photo())  # sent ahead, not a requirement
    await run_dialog(citizen, [("[Un altre document]", ["l'he rebut"])])
    await run_dialog(anna, [("/today", ["documents per rebre: 3"])])
    async with app.uow() as uow:
        [appointment] = await uow.appointments.for_citizen(
            (
                await uow.users.get_or_create(
                    "memory", "rosa", address="rosa", display_name="", language="ca"
                )
            ).id,
            active_only=True,
        )
        await add_document(
            uow,
            user_id=appointment.citizen_id,
            appointment_id=appointment.id,
            requirement="identitat",
            at=clock.now(),
        )
        await uow.commit()
    await run_dialog(anna, [("/today", ["documents per rebre: 2"])])


async def test_the_agenda_of_any_day_and_when_a_session_can_be_opened(app: App) -> None:
    citizen = person(app, "joana", name="Joana", language="ca")
    await run_dialog(
        citizen,
        [
            ("/start", []),
            ("[Català]", []),
            ("[D'acord]", []),
            ("[Demanar cita]", []),
            ("[Volant]", []),
            ("dijous", ["Hores lliures el dj. 3 de des."]),
            ("[10:00]", []),
            ("[Confirmar]", ["Fet!"]),
        ],
    )
    anna = person(app, "staff:anna", "Anna", "ca")
    await run_dialog(
        anna,
        [
            ("/today", ["No tens cap cita el dilluns 30 de novembre", "Dia següent ›"]),
            ("[Dia següent ›]", ["dimarts 1 de desembre", "Avui"]),
            ("dijous", ["Agenda del dijous 3 de desembre (1)", "10:00", "Joana"]),
            ("[10:00]", ["Volant", "La sessió es pot obrir a partir de les 9:45", "!Obrir"]),
            ("[Enrere]", ["Agenda del dijous 3 de desembre"]),
            ("[Avui]", ["dilluns 30 de novembre"]),
            ("3/12", ["Agenda del dijous 3 de desembre"]),
            ("[‹ Dia anterior]", ["dimecres 2 de desembre"]),
        ],
    )
