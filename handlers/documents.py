"""Citizens send the document the clerk asked for, photographed there and then."""

from __future__ import annotations

from domain.model import Appointment
from handlers.casework import document_name, owned_appointment
from handlers.context import Audience, Ctx, Step, Takes
from handlers.document_intake import receive

FLOW = "upload"
AUDIENCE = Audience.CITIZEN


async def _requested_for(ctx: Ctx) -> Appointment | None:
    """The citizen's appointment the awaited document is for, if it is still theirs."""
    return await owned_appointment(ctx, ctx.data.get("id"))


async def ask_upload(ctx: Ctx) -> None:
    appointment = await _requested_for(ctx)
    if appointment is None:
        ctx.say(ctx.t("my.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    code = str(ctx.data.get("requirement", ""))
    name = document_name(ctx.office, appointment, code, ctx.lang, str(ctx.data.get("label", "")))
    ctx.ask(ctx.t("doc.please_send", document=name), [], flow=FLOW, step="file", back=False)


async def on_upload(ctx: Ctx) -> None:
    appointment = await _requested_for(ctx)
    if appointment is None:
        await ask_upload(ctx)
        return
    if ctx.turn.file is None:
        ctx.say(ctx.t("doc.send_as_photo"))
        await ask_upload(ctx)
        return
    requirement = str(ctx.data.get("requirement", ""))
    if await receive(ctx, appointment, requirement, str(ctx.data.get("label", ""))):
        ctx.end()
    else:
        await ask_upload(ctx)


STEPS = {"file": Step(enter=ask_upload, handle=on_upload, takes=Takes.FILE)}
