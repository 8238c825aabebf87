"""Proactive messages: queued in the outbox inside the turn's transaction, sent later."""

from __future__ import annotations

from domain.model import Appointment, StoredDocument, User
from domain.procedures import Procedure
from handlers.context import Ctx
from handlers.i18n import format_when, translate
from handlers.messages import Reply
from handlers.ports import UnitOfWork


def payload(reply: Reply) -> dict[str, object]:
    """An outbox payload (plain JSON); proactive messages carry no live buttons."""
    return {"text": reply.text}


async def to_user(uow: UnitOfWork, user: User, text: str, *, dedupe_key: str | None = None) -> None:
    await uow.outbox.enqueue(
        channel=user.channel,
        address=user.address,
        payload=payload(Reply(text=text)),
        user_id=user.id,
        dedupe_key=dedupe_key,
    )


async def staff_of_booking(ctx: Ctx, appointment: Appointment, procedure: Procedure) -> None:
    clerk = await ctx.uow.users.find_staff_user(appointment.staff_id)
    if clerk is None:
        return
    text = translate(
        clerk.language,
        "notify.staff_booked",
        reference=appointment.reference,
        procedure=procedure.name.get(clerk.language),
        when=format_when(appointment.start, clerk.language, ctx.office.tz),
    )
    await to_user(ctx.uow, clerk, text, dedupe_key=f"booked:{appointment.reference}")


async def staff_of_move(ctx: Ctx, before: Appointment, after: Appointment) -> None:
    for staff_id in {before.staff_id, after.staff_id}:
        clerk = await ctx.uow.users.find_staff_user(staff_id)
        if clerk is None:
            continue
        text = translate(
            clerk.language,
            "notify.staff_moved",
            reference=after.reference,
            before=format_when(before.start, clerk.language, ctx.office.tz),
            after=format_when(after.start, clerk.language, ctx.office.tz),
        )
        await to_user(ctx.uow, clerk, text)


async def staff_of_cancel(ctx: Ctx, appointment: Appointment) -> None:
    clerk = await ctx.uow.users.find_staff_user(appointment.staff_id)
    if clerk is None:
        return
    text = translate(
        clerk.language,
        "notify.staff_cancelled",
        reference=appointment.reference,
        when=format_when(appointment.start, clerk.language, ctx.office.tz),
    )
    await to_user(ctx.uow, clerk, text, dedupe_key=f"cancelled:{appointment.reference}")


async def citizen_of_no_show(ctx: Ctx, appointment: Appointment) -> None:
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    text = translate(
        citizen.language,
        "notify.citizen_no_show",
        reference=appointment.reference,
        when=format_when(appointment.start, citizen.language, ctx.office.tz),
    )
    await to_user(ctx.uow, citizen, text, dedupe_key=f"noshow:{appointment.reference}")


async def staff_of_document(
    ctx: Ctx, appointment: Appointment, document: StoredDocument, requirement: str
) -> None:
    from handlers.documents import requirement_name

    clerk = await ctx.uow.users.find_staff_user(appointment.staff_id)
    if clerk is None:
        return
    warnings = ", ".join(
        translate(clerk.language, f"doc.quality_short.{w}") for w in document.warnings
    )
    text = translate(
        clerk.language,
        "notify.staff_document",
        reference=appointment.reference,
        document=requirement_name(ctx, appointment, requirement, clerk.language),
        filename=document.filename,
        warnings=f" ({warnings})" if warnings else "",
    )
    await to_user(ctx.uow, clerk, text, dedupe_key=f"doc:{document.id}")
