"""A citizen's own appointments: list, look at one, move it or cancel it."""

from __future__ import annotations

from domain.appointments import Status, can_cancel, can_reschedule
from domain.evidence import EventKind
from handlers import notify
from handlers.casework import appointment_label, owned_appointment
from handlers.context import Audience, Ctx, Step
from handlers.gates import refuse_office_account
from handlers.i18n import format_when

FLOW = "my"
AUDIENCE = Audience.CITIZEN


async def begin(ctx: Ctx) -> None:
    ctx.end()
    if await refuse_office_account(ctx):
        return
    await ask_which(ctx)


async def ask_which(ctx: Ctx) -> None:
    mine = await ctx.uow.appointments.for_citizen(ctx.user.id, active_only=True)
    if not mine:
        ctx.say(ctx.t("my.none"))
        ctx.end()
        await ctx.go("menu")
        return
    options = [(str(a.id), appointment_label(ctx, a)) for a in mine]
    ctx.ask(ctx.t("my.which"), options, flow=FLOW, step="which", back=False)


async def on_which(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.choice)
    if appointment is None:
        ctx.say(ctx.t("my.not_found"))
        await ask_which(ctx)
        return
    ctx.data["id"] = appointment.id
    await ask_action(ctx)


async def ask_action(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_which(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    text = ctx.t(
        "my.detail",
        reference=appointment.reference,
        procedure=procedure.name.get(ctx.lang),
        when=format_when(appointment.start, ctx.lang, ctx.office.tz),
    )
    options = []
    if can_reschedule(appointment.status):
        options.append(("move", ctx.t("my.move")))
    if can_cancel(appointment.status):
        options.append(("cancel", ctx.t("my.cancel")))
    ctx.ask(text, options, flow=FLOW, step="action")


async def on_action(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_which(ctx)
        return
    if ctx.choice == "move" and can_reschedule(appointment.status):
        await ctx.go("book.move", appointment_id=appointment.id, procedure=appointment.procedure)
    elif ctx.choice == "cancel" and can_cancel(appointment.status):
        await ask_cancel(ctx)
    else:  # the appointment changed since the options were shown
        ctx.say(ctx.t("error.stale"))
        await ask_action(ctx)


async def ask_cancel(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_which(ctx)
        return
    ctx.ask(
        ctx.t(
            "my.cancel_confirm",
            reference=appointment.reference,
            when=format_when(appointment.start, ctx.lang, ctx.office.tz),
        ),
        [("yes", ctx.t("my.cancel_yes")), ("no", ctx.t("my.cancel_no"))],
        flow=FLOW,
        step="cancel",
        back=False,
        cancel=False,
    )


async def on_cancel(ctx: Ctx) -> None:
    appointment = await owned_appointment(ctx, ctx.data.get("id"))
    if appointment is None:
        await ask_which(ctx)
        return
    if ctx.choice == "no":
        await ask_action(ctx)
        return
    if not can_cancel(appointment.status):
        ctx.say(ctx.t("my.cannot_cancel"))
    else:
        cancelled = await ctx.uow.appointments.set_status(appointment.id, Status.CANCELLED, ctx.now)
        await ctx.uow.evidence.append(
            appointment_id=cancelled.id,
            reference=cancelled.reference,
            kind=EventKind.CANCELLED,
            actor="citizen",
            data={"start": cancelled.start.isoformat()},
            at=ctx.now,
        )
        await notify.staff_of_cancel(ctx, cancelled)
        await notify.after_cancel(ctx, cancelled)
        ctx.say(ctx.t("my.cancelled", reference=cancelled.reference))
    ctx.end()
    await ctx.go("menu")


STEPS = {
    "which": Step(enter=ask_which, handle=on_which),
    "action": Step(enter=ask_action, handle=on_action, back="which"),
    "cancel": Step(enter=ask_cancel, handle=on_cancel, back="action"),
}


async def show_appointment(ctx: Ctx, *, appointment_id: int) -> None:
    """One appointment's card, e.g. when the citizen goes back from moving it."""
    ctx.end()
    ctx.data["id"] = appointment_id
    await ask_action(ctx)


async def cancel_appointment(ctx: Ctx, *, appointment_id: int) -> None:
    """Straight to "do you want to cancel it?" (e.g. from a reminder's button)."""
    ctx.end()
    ctx.data["id"] = appointment_id
    await ask_cancel(ctx)


ENTRIES = {"my": begin, "my.appointment": show_appointment, "my.cancel": cancel_appointment}
