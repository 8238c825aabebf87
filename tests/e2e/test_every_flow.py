"""Default tests for every step the registry knows (in the spirit of zulip_bots'
DefaultTests): the universal words, a stale button, a file nobody asked for, an empty and
a 5,000-character message, an unknown command. Each gets a clear answer in the person's
language and leaves the state as it was, or cleanly stopped.

The steps are read from the registry, so a new flow is covered the day it is added; it
only needs the sample data below to hold whatever its steps keep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import App
from bot.channels.memory import MemoryPerson
from domain.appointments import Status
from domain.model import ConversationState
from handlers.context import Audience, Step
from handlers.i18n import LANGUAGES, translate
from handlers.registry import build_registry
from tests.support import MADRID, Clock, add_document, book_directly, document_photo, person

REGISTRY = build_registry()
STEPS = [
    (flow, name, step)
    for flow, steps in sorted(REGISTRY.flows.items())
    for name, step in sorted(steps.items())
]
# A Monday 9:00 appointment in session, seen at 9:05; a free Tuesday 10:00 for booking.
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=MADRID).astimezone(UTC)
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=MADRID).astimezone(UTC)
AGREED_TEXT_SHA = "ab" * 32


@dataclass
class World:
    app: App
    citizen: MemoryPerson
    clerk: MemoryPerson
    sample: dict[str, Any]


async def _world(app: App, clock: Clock, language: str) -> World:
    """A citizen whose appointment is in session with Anna, with a summary waiting for
    their agreement and a document requested: every step has something to work on."""
    citizen = person(app, "pau", "Pau Vidal", language)
    clerk = person(app, "staff:anna", "Anna Puig", language)
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            "memory", "pau", address="pau", display_name="Pau Vidal", language=language
        )
        await uow.users.accept_privacy(user.id, clock.now())
        await uow.users.get_or_create(
            "memory", "staff:anna", address="staff:anna", display_name="Anna", language=language
        )
        booked = await book_directly(
            uow, citizen_id=user.id, start=MONDAY_9, reference="VT-FLOW", procedure="padro_alta"
        )
        await uow.appointments.set_status(booked.id, Status.IN_SESSION, clock.now())
        details = {
            "identity": {"status": "verified", "kind": "dni", "masked": "****678Z"},
            "agreement": {"status": "pending", "sha256": AGREED_TEXT_SHA, "language": language},
            "requested": ["dni"],
        }
        await uow.appointments.update(booked.id, details=details, room="vt-flow-room")
        # On a waiting list too, so that its question (which one to leave) can be asked.
        await uow.waitlist.join(user.id, "padro_alta", "", "", clock.now())
        # A file sent unasked, not yet said what it is; one the clerk may say what it is.
        unsorted = await add_document(uow, user_id=user.id, appointment_id=None, at=clock.now())
        received = await add_document(
            uow, user_id=user.id, appointment_id=booked.id, at=clock.now(), filename="c.jpg"
        )
        await uow.commit()
    clock.set(MONDAY_9 + timedelta(minutes=5))
    procedure = app.office.catalog.get("padro_alta")
    sample = {
        "id": booked.id,
        "procedure": procedure.code,
        "day": TUESDAY_10.astimezone(MADRID).date().isoformat(),
        "start": TUESDAY_10.isoformat(),
        "id_kind": "dni",
        "id_masked": "****678Z",
        "field": procedure.fields[0].code,
        "requirement": procedure.documents[0].code,
        "sha256": AGREED_TEXT_SHA,
        "same": booked.id,
        "doc": unsorted.id,
        "sort": str(received.id),
    }
    return World(app, citizen, clerk, sample)


def _who(world: World, flow: str) -> list[MemoryPerson]:
    audience = REGISTRY.audience(flow)
    if audience is Audience.STAFF:
        return [world.clerk]
    if audience is Audience.CITIZEN:
        return [world.citizen]
    return [world.citizen, world.clerk]


async def _state(app: App, who: MemoryPerson) -> ConversationState:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            who.channel, who.external_id, address=who.external_id, display_name="", language="ca"
        )
        return await uow.conversations.load(user.id)


async def _put(app: App, who: MemoryPerson, flow: str, step: str, data: dict[str, Any]) -> None:
    async with app.uow() as uow:
        user = await uow.users.get_or_create(
            who.channel, who.external_id, address=who.external_id, display_name="", language="ca"
        )
        await uow.conversations.save(user.id, ConversationState(flow=flow, step=step, data=data))
        await uow.commit()


def _visible(data: dict[str, Any]) -> dict[str, Any]:
    """The step's own data, without the buttons' tokens (those are fresh every turn)."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _fixed_part(language: str, key: str) -> str:
    """The message up to its first placeholder: what must show whatever fills it."""
    return translate(language, key).split("{")[0].strip()


Send = Callable[[MemoryPerson], Any]
INPUTS: list[tuple[str, Send]] = [
    ("typed help", lambda who: who.say("help")),
    ("typed ajuda", lambda who: who.say("ajuda")),
    ("typed ayuda", lambda who: who.say("Ayuda")),
    ("/help", lambda who: who.command("help")),
    ("stale button", lambda who: who.press_token("stale-token-0")),
    ("empty message", lambda who: who.say("")),
    ("5,000 characters", lambda who: who.say("x" * 5000)),
    ("unknown command", lambda who: who.command("xyzzy")),
    ("unasked file", lambda who: who.send_file("foto.jpg", document_photo(800, 600))),
    ("typed cancel", lambda who: who.say("cancel·la")),
    ("/cancel", lambda who: who.command("cancel")),
    ("typed menu", lambda who: who.say("menu")),
]


def _expected(label: str, step: Step, flow: str, language: str, staff: bool) -> str:
    """What the answer must contain."""
    simple = {
        "stale button": translate(language, "error.stale"),
        "empty message": translate(language, "error.empty"),
        "5,000 characters": translate(language, "error.too_long", limit=2000),
        "unknown command": _fixed_part(language, "error.unknown_command"),
    }
    if label in simple:
        return simple[label]
    if "help" in label or "ajuda" in label or "ayuda" in label:
        return translate(language, f"help.where.{flow}")
    if label == "unasked file":  # the citizen's goes with their appointment; staff have none
        key = "error.file_not_expected" if staff else "doc.received"
        return _fixed_part(language, key)
    return translate(language, "nav.answer_first" if step.hold else "menu.question")


LEAVES = ("typed cancel", "/cancel", "typed menu")
# A document sent while the summary waits changes what would be agreed: the agreement is
# withdrawn and the citizen leaves the question (issue 9); a new summary will come.
WITHDRAWS = {("agree", "decide", "unasked file")}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("flow", "name", "step"), STEPS, ids=[f"{f}.{n}" for f, n, _ in STEPS])
async def test_every_step_answers_the_universal_inputs(
    app: App, clock: Clock, flow: str, name: str, step: Step, language: str
) -> None:
    world = await _world(app, clock, language)
    internal = translate(language, "error.internal")
    for who in _who(world, flow):
        for label, send in INPUTS:
            if label == "unasked file" and step.files:
                continue  # there the file is the answer, not an unasked one
            await _put(app, who, flow, name, dict(world.sample))
            await who.say("help")  # arms the step's buttons, as if it had just been asked
            before = await _state(app, who)
            assert (before.flow, before.step) == (flow, name), f"{flow}.{name} cannot be re-asked"
            await send(who)
            answer = who.text
            where = f"{flow}.{name} ({who.external_id}, {language}), {label}"
            assert answer.strip(), f"{where}: no answer"
            assert internal not in answer, f"{where}: {answer}"
            expected = _expected(label, step, flow, language, who is world.clerk)
            assert expected in answer, f"{where}: expected {expected!r} in:\n{answer}"
            after = await _state(app, who)
            if (flow, name, label) in WITHDRAWS:
                withdrawn = _fixed_part(language, "agreement.withdrawn")
                assert withdrawn in answer, f"{where}: expected {withdrawn!r} in:\n{answer}"
                assert after.flow == "menu", f"{where}: {after}"
            elif label in LEAVES and not step.hold:
                assert after.flow == "menu" and _visible(after.data) == {}, f"{where}: {after}"
            else:
                assert (after.flow, after.step) == (flow, name), f"{where}: moved to {after}"
                assert _visible(after.data) == _visible(before.data), f"{where}: data changed"


def test_every_flow_says_where_one_is_in_every_language() -> None:
    for flow in [*REGISTRY.flows, "menu"]:
        for language in LANGUAGES:
            assert translate(language, f"help.where.{flow}")
