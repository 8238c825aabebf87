"""Proactive messages: queued in the outbox inside the turn's transaction, sent later.

Each text is written in the recipient's own language, which is why the texts are built
by a function of the language."""

from __future__ import annotations

from collections.abc import Callable

from domain.model import Appointment, StoredDocument, User
from domain.procedures import Procedure
from handlers.casework import document_name, runner
from handlers.context import Ctx
from handlers.i18n import format_when, translate
from handlers.ports import UnitOfWork

Text = Callable[[str], str]  # language -> text


async def to_user(uow: UnitOfWork, user: User, text: str, *, dedupe_key: str | None = None) -> None:
    await uow.outbox.enqueue(
        channel=user.channel,
        address=user.address,
        payload={"text": text},
        user_id=user.id,
        dedupe_key=dedupe_key,
    )


async def to_clerk(ctx: Ctx, staff_id: str, text: Text, dedupe_key: str | None = None) -> None:
    """Tell a clerk, if they have ever talked to the bot (otherwise it cannot reach them)."""
    clerk = await ctx.uow.users.find_staff_user(staff_id)
    if clerk is not None:
        await to_user(ctx.uow, clerk, text(clerk.language), dedupe_key=dedupe_key)


def _when(ctx: Ctx, appointment: Appointment, language: str) -> str:
    return format_when(appointment.start, language, ctx.office.tz)


async def staff_of_booking(ctx: Ctx, appointment: Appointment, procedure: Procedure) -> None:
    await to_clerk(
        ctx,
        appointment.staff_id,
        lambda lang: translate(
            lang,
            "notify.staff_booked",
            reference=appointment.reference,
            procedure=procedure.name.get(lang),
            when=_when(ctx, appointment, lang),
        ),
        dedupe_key=f"booked:{appointment.reference}",
    )


async def staff_of_move(ctx: Ctx, before: Appointment, after: Appointment) -> None:
    for staff_id in {before.staff_id, after.staff_id}:
        await to_clerk(
            ctx,
            staff_id,
            lambda lang: translate(
                lang,
                "notify.staff_moved",
                reference=after.reference,
                before=_when(ctx, before, lang),
                after=_when(ctx, after, lang),
            ),
        )


async def staff_of_cancel(ctx: Ctx, appointment: Appointment) -> None:
    await to_clerk(
        ctx,
        appointment.staff_id,
        lambda lang: translate(
            lang,
            "notify.staff_cancelled",
            reference=appointment.reference,
            when=_when(ctx, appointment, lang),
        ),
        dedupe_key=f"cancelled:{appointment.reference}",
    )


async def citizen_of_no_show(ctx: Ctx, appointment: Appointment) -> None:
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    text = translate(
        citizen.language,
        "notify.citizen_no_show",
        reference=appointment.reference,
        when=_when(ctx, appointment, citizen.language),
    )
    await to_user(ctx.uow, citizen, text, dedupe_key=f"noshow:{appointment.reference}")


async def staff_of_document(
    ctx: Ctx, appointment: Appointment, document: StoredDocument, requirement: str, label: str = ""
) -> None:
    def text(lang: str) -> str:
        warnings = ", ".join(translate(lang, f"doc.quality_short.{w}") for w in document.warnings)
        return translate(
            lang,
            "notify.staff_document",
            reference=appointment.reference,
            document=document_name(ctx.office, appointment, requirement, lang, label),
            filename=document.filename,
            warnings=f" ({warnings})" if warnings else "",
        )

    await to_clerk(ctx, runner(appointment), text, dedupe_key=f"doc:{document.id}")
