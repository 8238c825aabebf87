"""The citizen's one-tap answer to a reminder.

Reminders are planned by handlers/notify.py (plan_reminders) when an appointment is
booked or moved, and again by the scheduler after a restart (nothing planned twice):
one per `[schedule] reminders` offset, never for a moment already past, on the chat the
citizen booked from and, for the first one, by email when they gave one. The first one
that goes out lists the documents still missing and offers "I'll be there", "Change the
time" and "Cancel"; a confirmation shows on the clerk's agenda.
"""

from __future__ import annotations

from domain.appointments import Status
from domain.evidence import EventKind
from handlers.context import Ctx

CONFIRMED = "confirmed"


async def on_answer(ctx: Ctx, *, id: int, start: str, answer: str) -> None:  # noqa: A002
    """A reminder's button, pressed now or later from the same message."""
    appointment = await ctx.uow.appointments.get(int(id))
    if appointment is None or appointment.citizen_id != ctx.user.id:
        ctx.say(ctx.t("my.not_found"))
        await ctx.go("menu")
        return
    if appointment.status is not Status.BOOKED or appointment.start.isoformat() != start:
        # Moved or cancelled since this reminder: say how things are now.
        ctx.say(ctx.t("reminder.stale"))
        if appointment.status is Status.BOOKED:
            await ctx.go("my.appointment", appointment_id=appointment.id)
        else:
            await ctx.go("menu")
        return
    if answer == "move":
        await ctx.go("book.move", appointment_id=appointment.id, procedure=appointment.procedure)
        return
    if answer == "cancel":
        await ctx.go("my.cancel", appointment_id=appointment.id)
        return
    await ctx.uow.notices.set_attendance(appointment.id, CONFIRMED, ctx.now)
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=EventKind.REMINDED,
        actor="citizen",
        data={"answer": CONFIRMED, "channel": ctx.user.channel},
        at=ctx.now,
    )
    ctx.say(ctx.t("reminder.thanks", reference=appointment.reference))
    ctx.end()
    await ctx.go("menu")


ENTRIES = {"reminder.answer": on_answer}
