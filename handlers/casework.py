"""The appointment a clerk works on in a session: who may act on it, its details, its
evidence, and how its parts are named in each language.

Shared by the session's conversations (session, session_steps, agreement, receipting)
and by notifications; it is not a conversation and imports none.
"""

from __future__ import annotations

from typing import Any

from domain.model import Appointment
from domain.procedures import FormField
from handlers.context import Ctx
from handlers.i18n import translate
from handlers.ports import Office


async def assigned(ctx: Ctx, appointment_id: object = None) -> Appointment | None:
    """The session's appointment, only for its clerk or an administrator."""
    raw = ctx.data.get("id") if appointment_id is None else appointment_id
    if not isinstance(raw, int | str) or not str(raw).isdigit():
        return None
    appointment = await ctx.uow.appointments.get(int(raw))
    if appointment is None or not ctx.user.is_staff:
        return None
    if not ctx.user.is_admin and appointment.staff_id != ctx.user.staff_id:
        return None
    return appointment


def actor(ctx: Ctx) -> str:
    return f"staff:{ctx.user.staff_id}" if ctx.user.staff_id else "staff"


async def record(ctx: Ctx, appointment: Appointment, kind: str, data: dict[str, Any]) -> None:
    await ctx.uow.evidence.append(
        appointment_id=appointment.id,
        reference=appointment.reference,
        kind=kind,
        actor=actor(ctx),
        data=data,
        at=ctx.now,
    )


async def save_details(ctx: Ctx, appointment: Appointment, **changes: Any) -> Appointment:
    details = dict(appointment.details)
    details.update(changes)
    return await ctx.uow.appointments.update(appointment.id, details=details)


def document_name(office: Office, appointment: Appointment, code: str, language: str) -> str:
    """A required document's name, or "another document" for one sent outside the list."""
    name = office.catalog.requirement_name(appointment.procedure, code, language)
    return name if name is not None else translate(language, "doc.other")


def shown_value(field: FormField, value: str, language: str) -> str:
    """A form value as the citizen reads it: a choice's label, yes/no in words."""
    picked = field.choice(value)
    if picked is not None:
        return picked.label.get(language)
    if value in ("yes", "no"):
        return translate(language, f"field.{value}")
    return value
