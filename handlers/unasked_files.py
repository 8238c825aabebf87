"""A file the citizen sends unasked: kept, then the citizen says which appointment (when
they have several) and which document it is; afterwards they are back at the question
they were at. During a call it goes straight to that appointment: the clerk sees it and
can say what it is.
"""

from __future__ import annotations

from typing import Any

from domain.appointments import Status
from domain.model import StoredDocument
from handlers.casework import appointment_label, owned_appointment
from handlers.context import Audience, Ctx, Step
from handlers.document_intake import appointment_full, check_and_keep, file_received, receive
from handlers.identity_check import identity_requirement

FLOW = "sort"
AUDIENCE = Audience.CITIZEN


async def receive_ahead(ctx: Ctx, paused: dict[str, Any] | None = None) -> None:
    """A file sent outside a request. During a call it goes to that appointment (the
    clerk sees it and can say what it is); otherwise it is checked and kept, and the
    citizen says which appointment and which document it is."""
    mine = await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
    if not mine:
        ctx.say(ctx.t("error.file_not_expected"))
        return
    current = [a for a in mine if a.status is Status.IN_SESSION]
    if current:
        await receive(ctx, current[0], "")
        return
    if all([await appointment_full(ctx, a.id) for a in mine]):
        ctx.say(ctx.t("doc.rejected.quota_appointment"))
        return
    kept = await check_and_keep(ctx, appointment_id=None, requirement="")
    if kept is None:
        return
    ctx.say(ctx.t("doc.kept"))
    ctx.end()
    ctx.data["doc"] = kept.document.id
    if paused:
        ctx.data["paused"] = paused
    if len(mine) == 1:
        ctx.data["id"] = mine[0].id
        await ask_which_document(ctx)
    else:
        await ask_which_appointment(ctx)


async def _unsorted(ctx: Ctx) -> StoredDocument | None:
    """The kept file the citizen is saying something about, if it is still theirs and
    still waiting to be sorted."""
    raw = ctx.data.get("doc")
    document = await ctx.uow.documents.get(raw) if isinstance(raw, int) else None
    if document is None or document.user_id != ctx.user.id or document.appointment_id:
        return None
    return document


async def ask_which_appointment(ctx: Ctx) -> None:
    mine = await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
    if not mine or await _unsorted(ctx) is None:
        ctx.say(ctx.t("my.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    options = [(str(a.id), appointment_label(ctx, a)) for a in mine]
    ctx.ask(ctx.t("doc.which_appointment"), options, flow=FLOW, step="appointment", back=False)


async def on_which_appointment(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.choice)
    if appointment is None:
        ctx.say(ctx.t("my.not_found"))
        await ask_which_appointment(ctx)
        return
    ctx.data["id"] = appointment.id
    await ask_which_document(ctx)


async def ask_which_document(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    if appointment is None or await _unsorted(ctx) is None:
        ctx.say(ctx.t("my.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    options = [(r.code, r.name.get(ctx.lang)) for r in procedure.documents]
    options.append(("-", ctx.t("doc.other_kind")))
    ctx.ask(
        ctx.t("doc.which_document", appointment=appointment_label(ctx, appointment)),
        options,
        flow=FLOW,
        step="document",
        back=False,
    )


async def on_which_document(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    document = await _unsorted(ctx)
    if appointment is None or document is None:
        await ask_which_document(ctx)
        return
    if await appointment_full(ctx, appointment.id):
        ctx.say(ctx.t("doc.rejected.quota_appointment"))
        ctx.end()
        return
    requirement = "" if ctx.choice == "-" else (ctx.choice or "")
    await ctx.uow.documents.classify(document.id, appointment.id, requirement)
    paused = ctx.data.get("paused")
    ctx.end()
    identity = None
    is_identity = bool(requirement) and requirement == identity_requirement(ctx, appointment)
    if is_identity and document.content_type.startswith("image/"):
        # Read between units of work, in the sandbox (see Ctx.identity_of).
        identity = ctx.identity_of(document.sha256)
    await file_received(ctx, appointment, document, requirement, "", identity)
    if isinstance(paused, dict):
        await ctx.resume(paused)


STEPS = {
    "appointment": Step(enter=ask_which_appointment, handle=on_which_appointment),
    "document": Step(enter=ask_which_document, handle=on_which_document),
}
ENTRIES = {"sort.file": receive_ahead}
