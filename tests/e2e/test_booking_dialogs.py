"""A citizen books, looks at, moves and cancels an appointment — in ca, es and en."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from tests.dialog import Row, run_dialog
from tests.support import Clock, office_settings, person, ready_app

CATALAN: list[Row] = [
    ("/start", ["Hola!", "En quin idioma vols parlar?", "Català", "Castellano", "English"]),
    ("[Català]", ["Abans de començar", "Més informació"]),
    ("[Més informació]", ["Delegat de protecció de dades", "Els teus drets"]),
    ("[D'acord]", ["Gràcies.", "Què vols fer?", "Demanar cita", "!Agenda d'avui"]),
    ("[Demanar cita]", ["Quin tràmit vols fer?", "Alta o canvi de domicili al padró"]),
    ("[Alta]", ["Necessitaràs:", "DNI, NIE o passaport", "Quin dia et va bé?", "dl. 30 de nov."]),
    ("demà", ["Hores lliures el dt. 1 de des."]),  # a day typed in words
    ("[Enrere]", ["Quin dia et va bé?"]),
    ("m'és igual", ["No t'he entès", "Quin dia et va bé?"]),
    ("[dl. 30 de nov.]", ["Hores lliures el dl. 30 de nov.", "9:00", "!8:30"]),
    ("18h", ["les 18:00 no estan lliures", "Hores lliures"]),
    ("9:30", ["Ho confirmes?", "dilluns 30 de novembre a les 9:30", "!correu"]),
    ("sí", ["Fet! La teva cita és la VT-", "dilluns 30 de novembre a les 9:30"]),
    ("[Les meves cites]", ["Les teves cites", "dl. 30 de nov. 9:30"]),
    ("#1", ["Canviar el dia", "Anul·lar la cita"]),
    ("[Canviar el dia]", ["Quin dia et va bé?", "Enrere"]),
    ("[Enrere]", ["dilluns 30 de novembre a les 9:30", "Canviar el dia"]),  # back to the card
    ("[Canviar el dia]", ["Quin dia et va bé?"]),
    ("[dt. 1 de des.]", ["Hores lliures el dt. 1 de des."]),
    ("[11:00]", ["Vols canviar la cita", "dimarts 1 de desembre a les 11:00"]),
    ("[Confirmar]", ["ara és el dimarts 1 de desembre a les 11:00"]),
    ("[Les meves cites]", ["dt. 1 de des. 11:00", "!dl. 30 de nov."]),
    ("#1", ["Anul·lar la cita"]),
    ("[Anul·lar la cita]", ["Vols anul·lar la cita", "Sí, anul·la-la"]),
    ("d'acord", ["ha quedat anul·lada"]),  # a short yes at a yes/no question
    ("[Les meves cites]", ["No tens cap cita pendent."]),
]

SPANISH: list[Row] = [
    ("/start", ["¡Hola!", "¿En qué idioma quieres hablar?"]),
    ("[Castellano]", ["Antes de empezar", "De acuerdo"]),
    ("[De acuerdo]", ["Gracias.", "¿Qué quieres hacer?", "Pedir cita"]),
    ("[Pedir cita]", ["¿Qué trámite quieres hacer?", "Certificado de convivencia"]),
    ("[Certificado de convivencia]", ["Necesitarás:", "¿Qué día te va bien?", "lun 30 nov"]),
    ("[Atrás]", ["¿Qué trámite quieres hacer?"]),
    ("[Certificado de convivencia]", ["¿Qué día te va bien?"]),
    ("el jueves", ["Horas libres el jue 3 dic"]),  # a weekday typed in words
    ("[Atrás]", ["¿Qué día te va bien?"]),
    ("[lun 30 nov]", ["Horas libres el lun 30 nov"]),
    ("[10:00]", ["¿Lo confirmas?", "lunes 30 de noviembre a las 10:00"]),
    (
        "vale",
        ["¡Hecho! Tu cita es la VT-", "lunes 30 de noviembre a las 10:00", "!confirmación en"],
    ),
    ("ayuda", ["Siempre puedes", "cancelar"]),
    ("/my", ["Tus citas", "lun 30 nov 10:00"]),
    ("cancelar", ["De acuerdo, lo dejamos aquí", "¿Qué quieres hacer?"]),
]

ENGLISH: list[Row] = [
    ("/start", ["Hello!", "Which language would you like to use?"]),
    ("[English]", ["Before we start", "I understand"]),
    ("/book", ["read this notice first", "I understand"]),
    ("[I understand]", ["Thank you.", "Which procedure is it about?"]),
    ("[Information and advice]", ["Which day suits you?", "Mon 30 Nov"]),
    ("2", ["Free times on Tue 1 Dec"]),  # typing the number of a button works like tapping it
    ("9:00", ["Shall I book it?", "Tuesday 1 December at 9:00"]),  # and so does its label
    ("no", ["Which day suits you?"]),  # "no" at the confirmation means change it
    ("tomorrow", ["Free times on Tue 1 Dec"]),
    ("[Back]", ["Which day suits you?"]),
    ("[Mon 30 Nov]", ["Free times on Mon 30 Nov"]),
    ("[12:30]", ["Shall I book it?", "Monday 30 November at 12:30"]),
    ("[Confirm]", ["Your appointment reference is VT-", "Monday 30 November at 12:30"]),
    ("/language", ["Which language"]),
    ("[Català]", ["Fet, parlarem en català.", "Què vols fer?"]),
]


@pytest.mark.parametrize(("language", "rows"), [("ca", CATALAN), ("es", SPANISH), ("en", ENGLISH)])
async def test_citizen_books_moves_and_cancels(app: App, language: str, rows: list[Row]) -> None:
    await run_dialog(person(app, f"citizen-{language}", language=language), rows)


async def test_client_language_is_preselected(app: App) -> None:
    neighbour = person(app, "neus", language="es-ES")
    await neighbour.command("start")
    assert "¡Hola!" in neighbour.text


LONG_DAY_STAFF = [
    {"id": clerk, "name": clerk.title(), "procedures": ["*"], "hours": ["mon-fri 08:00-20:00"]}
    for clerk in ("anna", "marc")  # two, so the same time is still free for a second booking
]

PAGES_AND_REPEATS: list[Row] = [
    ("/start", []),
    ("[English]", []),
    ("[I understand]", []),
    ("[Book an appointment]", []),
    ("[Information and advice]", ["Mon 30 Nov", "More days", "!Earlier days"]),
    ("[More days]", ["Earlier days", "!Mon 30 Nov"]),
    ("[Earlier days]", ["Mon 30 Nov", "!Earlier days"]),
    ("[Mon 30 Nov]", ["9:00", "14:30", "Later times", "!15:00", "!Earlier times"]),
    ("[Later times]", ["15:00", "19:30", "Earlier times", "!14:30"]),
    ("[Earlier times]", ["9:00", "!19:30"]),
    ("18h", ["Shall I book it?", "at 18:00"]),  # a time from another page, typed
    ("[Confirm]", ["Your appointment reference is VT-"]),
    ("/book", []),
    (
        "[Information and advice]",
        ["You already have an appointment (Information and advice)", "at 18:00"],
    ),
    ("[Book another one]", ["Which day suits you?"]),
    ("[Mon 30 Nov]", []),
    ("18:00", ["Shall I book it?"]),
    ("[Confirm]", ["At that time you already have appointment VT-", "Free times on Mon 30 Nov"]),
    ("/book", []),
    ("[Information and advice]", ["You already have an appointment"]),
    ("[Change its time]", ["Which day suits you?", "Back"]),
    ("[Back]", ["Appointment VT-", "Monday 30 November at 18:00", "Change the date"]),
]


async def test_days_and_times_page_both_ways_and_a_second_booking_is_questioned(
    tmp_path: Path, clock: Clock
) -> None:
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}", tmp_path, staff=LONG_DAY_STAFF
    )
    app, _ = await ready_app(settings, clock)
    try:
        await run_dialog(person(app, "neus", language="en"), PAGES_AND_REPEATS)
    finally:
        await app.close()


async def test_the_privacy_notice_names_the_council_as_a_sentence_does(
    tmp_path: Path, clock: Clock
) -> None:
    settings = office_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'vt.db'}",
        tmp_path,
        council={
            "name": "Ajuntament de Vilademo",
            "name_in_sentence": {
                "ca": "l'Ajuntament de Vilademo",
                "es": "el Ayuntamiento de Vilademo",
            },
        },
    )
    app, _ = await ready_app(settings, clock)
    try:
        await run_dialog(
            person(app, "rosa", language="ca"),
            [
                ("/start", []),
                ("[Català]", ["l'Ajuntament de Vilademo guarda les teves dades"]),
                ("[Més informació]", ["el temps que el tràmit requereixi", "!the time"]),
            ],
        )
        await run_dialog(
            person(app, "rafa", language="es"),
            [("/start", []), ("[Castellano]", ["el Ayuntamiento de Vilademo guarda tus datos"])],
        )
    finally:
        await app.close()
