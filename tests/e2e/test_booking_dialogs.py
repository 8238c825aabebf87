"""A citizen books, looks at, moves and cancels an appointment — in ca, es and en."""

from __future__ import annotations

import pytest

from bot.app import App
from tests.dialog import Row, run_dialog
from tests.support import person

CATALAN: list[Row] = [
    ("/start", ["Hola!", "En quin idioma vols parlar?", "Català", "Castellano", "English"]),
    ("[Català]", ["Abans de començar", "Més informació"]),
    ("[Més informació]", ["Delegat de protecció de dades", "Els teus drets"]),
    ("[D'acord]", ["Gràcies.", "Què vols fer?", "Demanar cita", "!Agenda d'avui"]),
    ("[Demanar cita]", ["Quin tràmit vols fer?", "Alta o canvi de domicili al padró"]),
    ("[Alta]", ["necessitaràs", "DNI, NIE o passaport", "Quin dia et va bé?", "dl. 30 de nov."]),
    ("demà", ["No t'he entès", "Quin dia et va bé?"]),
    ("[dl. 30 de nov.]", ["Hores lliures el dl. 30 de nov.", "9:00", "!8:30"]),
    ("[9:30]", ["confirmació per correu", "No cal"]),
    ("no és un correu", ["no sembla una adreça de correu"]),
    ("maria@example.cat", ["Ho confirmes?", "dilluns 30 de novembre a les 9:30"]),
    (
        "[Confirmar]",
        ["Fet! La teva cita és la VT-", "dilluns 30 de novembre a les 9:30", "maria@example.cat"],
    ),
    ("[Les meves cites]", ["Les teves cites", "dl. 30 de nov. 9:30"]),
    ("#1", ["Canviar el dia", "Anul·lar la cita"]),
    ("[Canviar el dia]", ["Quin dia et va bé?"]),
    ("[dt. 1 de des.]", ["Hores lliures el dt. 1 de des."]),
    ("[11:00]", ["Vols canviar la cita", "dimarts 1 de desembre a les 11:00"]),
    ("[Confirmar]", ["ara és el dimarts 1 de desembre a les 11:00"]),
    ("[Les meves cites]", ["dt. 1 de des. 11:00", "!dl. 30 de nov."]),
    ("#1", ["Anul·lar la cita"]),
    ("[Anul·lar la cita]", ["Vols anul·lar la cita", "Sí, anul·la-la"]),
    ("[Sí, anul·la-la]", ["ha quedat anul·lada"]),
    ("[Les meves cites]", ["No tens cap cita pendent."]),
]

SPANISH: list[Row] = [
    ("/start", ["¡Hola!", "¿En qué idioma quieres hablar?"]),
    ("[Castellano]", ["Antes de empezar", "De acuerdo"]),
    ("[De acuerdo]", ["Gracias.", "¿Qué quieres hacer?", "Pedir cita"]),
    ("[Pedir cita]", ["¿Qué trámite quieres hacer?", "Certificado de convivencia"]),
    ("[Certificado de convivencia]", ["necesitarás", "¿Qué día te va bien?", "lun 30 nov"]),
    ("[Atrás]", ["¿Qué trámite quieres hacer?"]),
    ("[Certificado de convivencia]", ["¿Qué día te va bien?"]),
    ("[lun 30 nov]", ["Horas libres el lun 30 nov"]),
    ("[10:00]", ["confirmación por correo"]),
    ("[No hace falta]", ["¿Lo confirmas?", "lunes 30 de noviembre a las 10:00"]),
    (
        "[Confirmar]",
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
    ("9:00", ["confirmation by email"]),  # and so does typing its label
    ("[No need]", ["Shall I book it?", "Tuesday 1 December at 9:00"]),
    ("[Change]", ["Which day suits you?"]),
    ("[Mon 30 Nov]", ["Free times on Mon 30 Nov"]),
    ("[12:30]", ["confirmation by email"]),
    ("neighbour@example.org", ["Shall I book it?", "Monday 30 November at 12:30"]),
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
